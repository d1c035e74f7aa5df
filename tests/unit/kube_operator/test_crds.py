"""The operator's CRDs pass `kubernetes-validate --strict` (1.30 and newest), the shipped YAML is
what `crds.py` builds, and recorded GatiApp/GatiVersion bodies satisfy the CRDs' own schemas."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest

from gati_compiler.deploy.yamlio import dump_yaml, load_documents
from gati_operator.crds import all_crds
from tests.unit.kube_operator.replay import fixture

CRDS = Path(__file__).resolve().parents[3] / "gati_operator" / "crds"


def _openapi_to_jsonschema(node: Any) -> Any:
    """OpenAPI v3 `nullable: true` is JSON Schema's `type: [T, "null"]`."""
    if isinstance(node, dict):
        out = {k: _openapi_to_jsonschema(v) for k, v in node.items() if k != "nullable"}
        if node.get("nullable") and "type" in node:
            out["type"] = [node["type"], "null"]
            out.pop("format", None)
        return out
    if isinstance(node, list):
        return [_openapi_to_jsonschema(v) for v in node]
    return node


@pytest.mark.parametrize("version", ["1.30.0", kubernetes_validate.latest_version()])
def test_crds_pass_kubernetes_validate_strict(version: str) -> None:
    for crd in all_crds().values():
        kubernetes_validate.validate(crd, version, strict=True)


def test_shipped_crd_files_are_what_the_code_builds() -> None:
    for name, crd in all_crds().items():
        assert (CRDS / name).read_text(encoding="utf-8") == dump_yaml(crd), f"regenerate {name}"
        assert load_documents((CRDS / name).read_text(encoding="utf-8")) == [crd]


@pytest.mark.parametrize(
    ("crd", "body"),
    [
        ("gatiapps.yaml", "gatiapp.json"),
        ("gativersions.yaml", "gativersion-new.json"),
        ("gativersions.yaml", "gativersion-current.json"),
        ("gativersions.yaml", "gativersion-older.json"),
    ],
)
def test_recorded_resources_satisfy_their_crd_schema(crd: str, body: str) -> None:
    schema = all_crds()[crd]["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    jsonschema.Draft202012Validator(_openapi_to_jsonschema(schema)).validate(fixture(body))


def test_crd_schema_rejects_a_version_without_a_timestamp_tsv() -> None:
    schema = _openapi_to_jsonschema(all_crds()["gativersions.yaml"]["spec"]["versions"][0]["schema"]["openAPIV3Schema"])
    body = fixture("gativersion-new.json")
    body["spec"]["tsv"] = "v1.2.0"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft202012Validator(schema).validate(body)


def test_kubectl_get_shows_phase_weight_and_readiness() -> None:
    version = all_crds()["gativersions.yaml"]["spec"]["versions"][0]
    columns = {c["name"]: c["jsonPath"] for c in version["additionalPrinterColumns"]}
    assert columns["Phase"] == ".status.phase" and columns["Weight"] == ".status.weight"
    assert columns["Ready"] == '.status.conditions[?(@.type=="Ready")].status'
    assert version["subresources"] == {"status": {}}
