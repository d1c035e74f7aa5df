"""Every object of every example's bundle (base and each environment, current build and two live
versions with Redis) passes `kubernetes-validate --strict` for Kubernetes 1.30 and the newest
version it bundles, HTTPRoute passes the Gateway API schema we ship, and our own checks pass."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest

from gati_compiler.deploy.checks import check_objects
from gati_compiler.deploy.overlay import bundle_objects
from tests.unit.deploy.bundles import EXAMPLES, built, bundle_files, redis_variant, versioned_bundle

KUBERNETES_VERSIONS = ("1.30.0", kubernetes_validate.latest_version())
SCHEMAS = Path(__file__).resolve().parents[3] / "gati_compiler" / "deploy" / "schemas"
# kinds kubernetes-validate has no schema for, and the schema we check them against instead
OWN_SCHEMAS = {"HTTPRoute": SCHEMAS / "httproute-gateway.networking.k8s.io-v1.json"}


def _environments(files: dict[str, bytes]) -> list[str | None]:
    return [None, *sorted({k.split("/")[1] for k in files if k.startswith("overlays/")})]


def _validate(obj: dict[str, Any]) -> list[str]:
    """Problems of one object against the Kubernetes schemas (or ours for Gateway API kinds)."""
    errors: list[str] = []
    own = OWN_SCHEMAS.get(obj["kind"])
    if own is not None:
        validator = jsonschema.Draft202012Validator(json.loads(own.read_text(encoding="utf-8")))
        return [f"{obj['kind']}: {e.message}" for e in validator.iter_errors(obj)]
    for version in KUBERNETES_VERSIONS:
        try:
            kubernetes_validate.validate(obj, version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            errors.append(f"{obj['kind']}/{obj['metadata']['name']} @ {version}: {exc.message}")
    return errors


def _bundles(tmp_path: Path) -> dict[str, dict[str, bytes]]:
    out = {p.name: bundle_files(built(p)[2]) for p in EXAMPLES}
    out["bookstore+redis+two-versions"] = versioned_bundle(redis_variant(tmp_path))
    return out


def test_every_bundle_object_passes_kubernetes_validate_strict_and_our_checks(tmp_path: Path) -> None:
    problems: list[str] = []
    checked = 0
    for label, files in _bundles(tmp_path).items():
        for env in _environments(files):
            objs = bundle_objects(files, env)
            for obj in objs.values():
                problems += [f"{label} [{env or 'base'}] {p}" for p in _validate(obj)]
                checked += 1
            problems += [f"{label} [{env or 'base'}] {p}" for p in check_objects(objs.values())]
    assert not problems, "\n".join(problems)
    assert checked >= 30  # every kind, in the base and every overlay


def test_kubernetes_validate_rejects_an_unknown_field_so_the_strict_check_is_real(tmp_path: Path) -> None:
    files = bundle_files(built(EXAMPLES[0])[2])
    deployment = next(o for o in bundle_objects(files).values() if o["kind"] == "Deployment")
    deployment["spec"]["template"]["spec"]["containers"][0]["livenessprobe"] = {}
    assert _validate(deployment)


def test_gateway_schema_rejects_an_unknown_match_type(tmp_path: Path) -> None:
    objs = bundle_objects(versioned_bundle(redis_variant(tmp_path)))
    route = next(o for o in objs.values() if o["kind"] == "HTTPRoute")
    assert _validate(route) == []
    route["spec"]["rules"][0]["matches"][0]["headers"][0]["type"] = "Prefix"
    assert _validate(route)


@pytest.mark.parametrize("example", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_bundle_is_byte_identical_on_rebuild(example: Path) -> None:
    first = built(example)[2]
    second = built(example)[2]
    assert {k: v for k, v in first.items() if k.startswith("bundle/")} == {
        k: v for k, v in second.items() if k.startswith("bundle/")
    }
    assert any(k.startswith("bundle/") for k in first)


def test_declared_secrets_reach_the_pod_as_env_and_a_mounted_volume(tmp_path: Path) -> None:
    from tests.unit.deploy.bundles import unversioned

    project = unversioned(tmp_path)
    authors = project / "bookstore" / "handlers" / "authors.py"
    text = authors.read_text(encoding="utf-8")
    authors.write_text(text.replace('@post("/authors", ', '@post("/authors", secrets=["search-api.key"], '), "utf-8")
    config = project / "pyproject.toml"
    text = config.read_text(encoding="utf-8")
    start = text.index("[tool.gati.secrets]")  # the example's own table, replaced by this test's
    end = text.index("\n[", start + 1)
    table = (
        '[tool.gati.secrets]\nproviders = ["file", "env"]\ndirectory = "/var/run/secrets/shop"\nenv_prefix = "SHOP_"\n'
    )
    config.write_text(text[:start] + table + text[end:], encoding="utf-8")
    objs = bundle_objects(bundle_files(built(project)[2]))
    (deployment,) = [o for o in objs.values() if o["kind"] == "Deployment"]
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    ref = {"secretKeyRef": {"name": "bookstore-secrets", "key": "search-api.key", "optional": True}}
    assert {"name": "SHOP_SEARCH_API_KEY", "valueFrom": ref} in container["env"]
    assert {"name": "secrets", "mountPath": "/var/run/secrets/shop", "readOnly": True} in container["volumeMounts"]
    # every secret a handler declares: the example's own `receipt_key` and this test's
    items = [{"key": "receipt_key", "path": "receipt_key"}, {"key": "search-api.key", "path": "search-api.key"}]
    source = {"secretName": "bookstore-secrets", "optional": True, "items": items}
    assert {"name": "secrets", "secret": source} in pod["volumes"]
    assert not _validate(deployment) and not check_objects(objs.values())
