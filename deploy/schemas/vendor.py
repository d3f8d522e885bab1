"""Vendor the OpenAPI schemas of the custom resources deploy/k8s uses, from their operators' CRD files.

    python deploy/schemas/vendor.py --source "cloudnative-pg/cloudnative-pg releases/cnpg-1.27.1.yaml" \\
        --kinds Cluster,ScheduledBackup cnpg-1.27.1.yaml

No package on PyPI ships these CRDs' schemas (cloudcoil covers only the prometheus-operator), so deploy/validate.py
validates against copies kept here: one JSON file per kind, ``<group>/<version>/<Kind>.json``, holding the served
version's ``openAPIV3Schema`` with its descriptions removed (they are documentation; the structure is kept as is),
and ``SOURCES.yaml`` saying where each came from. Re-run this after moving to a newer operator release.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
SOURCES = HERE / "SOURCES.yaml"


def _without_descriptions(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _without_descriptions(v) for k, v in node.items() if k != "description"}
    if isinstance(node, list):
        return [_without_descriptions(v) for v in node]
    return node


def crds(paths: list[Path]) -> list[dict[str, Any]]:
    found = []
    for path in paths:
        for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if doc and doc.get("kind") == "CustomResourceDefinition":
                found.append(doc)
    return found


def vendor(paths: list[Path], source: str, kinds: set[str] | None) -> list[str]:
    written = []
    sources = yaml.safe_load(SOURCES.read_text(encoding="utf-8")) if SOURCES.exists() else {}
    for crd in crds(paths):
        kind, group = crd["spec"]["names"]["kind"], crd["spec"]["group"]
        if kinds is not None and kind not in kinds:
            continue
        for version in crd["spec"]["versions"]:
            if not version.get("served", True):
                continue
            target = HERE / group / version["name"] / f"{kind}.json"
            target.parent.mkdir(parents=True, exist_ok=True)
            schema = _without_descriptions(version["schema"]["openAPIV3Schema"])
            target.write_text(json.dumps(schema, indent=1, sort_keys=True) + "\n", encoding="utf-8")
            sources[f"{group}/{version['name']}/{kind}"] = source
            written.append(str(target.relative_to(HERE)))
    SOURCES.write_text("# Where each vendored schema comes from (deploy/schemas/vendor.py writes this).\n"
                       + yaml.safe_dump(dict(sorted(sources.items())), sort_keys=False, width=200), encoding="utf-8")
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", required=True, help="repository, ref and path the CRD files came from")
    parser.add_argument("--kinds", help="comma-separated kinds to keep (default: every CRD in the files)")
    parser.add_argument("crd", nargs="+", type=Path, help="CRD YAML files (multi-document files are fine)")
    args = parser.parse_args(argv)
    kinds = set(args.kinds.split(",")) if args.kinds else None
    written = vendor(args.crd, args.source, kinds)
    if not written:
        print("no matching CustomResourceDefinition", file=sys.stderr)
        return 1
    print("\n".join(written))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
