#!/usr/bin/env bash
# Offline validation of everything under deploy/ and the Dockerfile (no cluster needed): generated files fresh,
# yamllint, hadolint, promtool check/test rules, and every kustomize overlay built and strictly validated
# against Kubernetes 1.33+ schemas (deploy/validate.py). Needs the dev tools in .venv and Debian's prometheus
# package (promtool). Exit status non-zero on the first failing step.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${VENV:-.venv}"
PY="$VENV/bin/python"

step() { printf '\n== %s\n' "$*"; }

step "generated files are fresh (deploy/render.py --check)"
"$PY" deploy/render.py --check

step "yamllint"
"$VENV/bin/yamllint" --strict -c deploy/.yamllint.yaml deploy/

step "hadolint Dockerfile"
"$VENV/bin/hadolint" Dockerfile

step "promtool check rules / test rules"
command -v promtool >/dev/null || { echo "promtool missing: apt-get install prometheus" >&2; exit 1; }
(cd deploy/prometheus && promtool check rules cchc-alerts.rules.yml && promtool test rules cchc-alerts.test.yml)

step "kustomize build + strict schema validation of every overlay"
"$PY" deploy/validate.py --kubectl "$VENV/bin/kubectl"

printf '\ndeploy/ is valid\n'
