"""What the bundle holds: version groups, state from a Secret, routing, egress, grace period,
Dockerfile, overlays and the index."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pytest

from gati_compiler.canonical import sha256_digest
from gati_compiler.deploy import LiveVersion, emit_bundle, version_groups
from gati_compiler.deploy.objects import parse_egress
from gati_compiler.deploy.overlay import bundle_objects
from gati_compiler.deploy.yamlio import dump_yaml, load_documents
from tests.unit.deploy.bundles import (
    BOOKSTORE,
    built,
    bundle_files,
    by_kind,
    redis_variant,
    unversioned,
    versioned_bundle,
)


def test_current_build_is_one_group_and_every_file_is_in_the_index_with_its_digest(tmp_path: Path) -> None:
    _, _, artifacts = built(unversioned(tmp_path))
    files = bundle_files(artifacts)
    objs = bundle_objects(files)
    assert [d["metadata"]["name"] for d in by_kind(objs, "Deployment")] == ["bookstore-current"]
    index = json.loads(files["index.json"])
    assert index["files"] == {k: sha256_digest(v) for k, v in files.items() if k != "index.json"}
    manifest = json.loads(artifacts["manifest.json"])
    assert all(manifest["artifacts"][f"bundle/{k}"] == sha256_digest(v) for k, v in files.items())


def test_two_live_versions_run_as_two_labelled_deployments_and_retired_ones_nowhere(tmp_path: Path) -> None:
    objs = bundle_objects(versioned_bundle(redis_variant(tmp_path)))
    deployments = {d["metadata"]["name"]: d for d in by_kind(objs, "Deployment")}
    assert sorted(deployments) == ["bookstore-20261121t103000z", "bookstore-20261201t090000z"]
    new = deployments["bookstore-20261201t090000z"]
    labels = new["spec"]["template"]["metadata"]["labels"]
    assert labels["gati.dev/version"] == "20261201t090000z"
    assert labels["app.kubernetes.io/name"] == "bookstore"
    assert re.fullmatch(r"[0-9a-f]{16}", labels["gati.dev/handler-set"])
    old_labels = deployments["bookstore-20261121t103000z"]["metadata"]["labels"]
    assert old_labels["gati.dev/handler-set"] != labels["gati.dev/handler-set"]
    assert new["metadata"]["annotations"]["gati.dev/versions"] == "2026-12-01T09:00:00Z"
    assert {h["spec"]["scaleTargetRef"]["name"] for h in by_kind(objs, "HorizontalPodAutoscaler")} == set(deployments)
    assert {p["metadata"]["name"] for p in by_kind(objs, "PodDisruptionBudget")} == set(deployments)


def test_state_url_comes_from_a_secret_when_replicas_exceed_one(tmp_path: Path) -> None:
    objs = bundle_objects(versioned_bundle(redis_variant(tmp_path)))
    for d in by_kind(objs, "Deployment"):
        env = {e["name"]: e for e in d["spec"]["template"]["spec"]["containers"][0]["env"]}
        assert env["GATI_STATE_URL"]["valueFrom"] == {"secretKeyRef": {"name": "bookstore-state", "key": "url"}}
        assert "value" not in env["GATI_STATE_URL"]
        assert env["BOOKSTORE_API_KEYS"]["valueFrom"]["secretKeyRef"]["name"] == "bookstore-secrets"
    policy = by_kind(objs, "NetworkPolicy")[0]
    assert {"ports": [{"protocol": "TCP", "port": 6379}]} in policy["spec"]["egress"]


def test_memory_backend_keeps_the_autoscaler_at_the_configured_replicas() -> None:
    objs = bundle_objects(bundle_files(built(BOOKSTORE)[2]))
    hpa = by_kind(objs, "HorizontalPodAutoscaler")[0]
    assert hpa["spec"]["minReplicas"] == hpa["spec"]["maxReplicas"] == 1


def test_routing_sends_older_versions_by_header_and_query_and_the_rest_to_the_newest(tmp_path: Path) -> None:
    objs = bundle_objects(versioned_bundle(redis_variant(tmp_path)))
    route = by_kind(objs, "HTTPRoute")[0]
    first, default = route["spec"]["rules"]
    assert {"headers": [{"type": "Exact", "name": "X-Gati-Version", "value": "v1.0.0"}]} in first["matches"]
    assert {"queryParams": [{"type": "Exact", "name": "version", "value": "2026-11-21T10:30:00Z"}]} in first["matches"]
    assert first["backendRefs"][0]["name"] == "bookstore-20261121t103000z"
    assert default["backendRefs"][0]["name"] == "bookstore-20261201t090000z"
    canary = next(i for i in by_kind(objs, "Ingress") if "canary" in str(i["metadata"].get("annotations")))
    annotations = canary["metadata"]["annotations"]
    assert annotations["nginx.ingress.kubernetes.io/canary-by-header"] == "X-Gati-Version"
    pattern = re.compile(annotations["nginx.ingress.kubernetes.io/canary-by-header-pattern"])
    assert pattern.match("2026-11-21T10:30:00Z") and pattern.match("v1.0.0") and not pattern.match("v1.1.0")


def test_grace_period_outlasts_the_longest_handler_timeout() -> None:
    program, cfg, artifacts = built(BOOKSTORE)
    longest = max((h.policies.timeout or cfg.server.request_timeout) for h in program.handlers)
    deployment = by_kind(bundle_objects(bundle_files(artifacts)), "Deployment")[0]
    assert deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] > math.ceil(longest)


def test_service_account_mounts_no_token_and_pods_run_as_non_root() -> None:
    objs = bundle_objects(bundle_files(built(BOOKSTORE)[2]))
    assert by_kind(objs, "ServiceAccount")[0]["automountServiceAccountToken"] is False
    pod = by_kind(objs, "Deployment")[0]["spec"]["template"]["spec"]
    assert pod["automountServiceAccountToken"] is False
    assert pod["containers"][0]["securityContext"]["runAsNonRoot"] is True


def test_configmap_holds_every_manifest_and_the_gtypes() -> None:
    _, _, artifacts = built(BOOKSTORE)
    cm = by_kind(bundle_objects(bundle_files(artifacts)), "ConfigMap")[0]
    wanted = {k for k in artifacts if k.startswith(("handlers/", "modules/")) or k == "gtypes.json"}
    assert {k.replace("__", "/") for k in cm["data"]} == wanted
    assert all(json.loads(cm["data"][k.replace("/", "__")]) == json.loads(artifacts[k]) for k in wanted)


def test_a_large_build_spreads_over_several_configmaps_each_under_the_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    from gati_compiler.deploy import objects
    from gati_compiler.deploy.checks import check_objects

    program, cfg, artifacts = built(BOOKSTORE)
    monkeypatch.setattr(objects, "CONFIGMAP_BUDGET", 4000)
    files = bundle_files(emit_bundle(program, cfg, artifacts))
    objs = bundle_objects(files)

    def number(name: str) -> int:
        tail = name.rsplit("-", 1)[-1]
        return int(tail) if tail.isdigit() else 1

    maps = sorted(by_kind(objs, "ConfigMap"), key=lambda m: number(m["metadata"]["name"]))
    assert len(maps) > 2
    assert [m["metadata"]["name"] for m in maps][:2] == ["bookstore-build", "bookstore-build-2"]
    keys = [k for m in maps for k in m["data"]]
    assert keys == sorted(keys) and len(keys) == len(set(keys))
    assert all(sum(len(k) + len(v) for k, v in m["data"].items()) <= 4000 or len(m["data"]) == 1 for m in maps)
    assert check_objects(objs.values()) == []


def test_dockerfile_is_multi_stage_pinned_non_root_and_checks_the_runtime_health_endpoint() -> None:
    text = bundle_files(built(BOOKSTORE)[2])["Dockerfile"].decode()
    froms = re.findall(r"^FROM (\S+) AS (\w+)$", text, re.M)
    assert [stage for _, stage in froms] == ["build", "runtime"]
    assert all(re.search(r":\d+\.\d+\.\d+-|@sha256:", image) for image, _ in froms)
    assert re.search(r"^USER 10001:10001$", text, re.M)
    assert "HEALTHCHECK" in text and "/_gati/health" in text
    copies = re.findall(r"^COPY --chown=\S+ (\S+) ", text, re.M)
    assert copies == ["bookstore/", ".gati/"]


def test_the_runtime_answers_on_the_probe_paths(tmp_path: Path) -> None:
    import asyncio
    import shutil

    import httpx

    from gati_runtime_min.app import GatiApp

    project = tmp_path / "bookstore"
    shutil.copytree(BOOKSTORE, project, ignore=shutil.ignore_patterns(".gati", "__pycache__"))
    from gati_compiler.pipeline import build

    assert build(project, jobs=1).ok
    deployment = by_kind(bundle_objects(bundle_files(built(project)[2])), "Deployment")[0]
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    paths = [container[p]["httpGet"]["path"] for p in ("livenessProbe", "readinessProbe", "startupProbe")]

    async def probe() -> list[int]:
        app = GatiApp(project / ".gati")
        await app.startup()
        try:
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
                return [(await client.get(p)).status_code for p in paths]
        finally:
            await app.shutdown()

    assert asyncio.run(probe()) == [200, 200, 200]


def test_overlay_patches_replicas_resources_host_image_and_namespace(tmp_path: Path) -> None:
    files = versioned_bundle(redis_variant(tmp_path))
    objs = bundle_objects(files, "production")
    for d in by_kind(objs, "Deployment"):
        assert d["spec"]["replicas"] == 4
        assert d["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"]["cpu"] == "250m"
    assert {h["spec"]["maxReplicas"] for h in by_kind(objs, "HorizontalPodAutoscaler")} == {12}
    assert by_kind(objs, "HTTPRoute")[0]["spec"]["hostnames"] == ["api.bookstore.example.com"]
    staging = bundle_objects(files, "staging")
    assert all(o["metadata"]["namespace"] == "bookstore-staging" for o in staging.values())
    image = by_kind(staging, "Deployment")[0]["spec"]["template"]["spec"]["containers"][0]["image"]
    assert image == "ghcr.io/example/bookstore:0.1.0-rc.1"


def test_versions_with_the_same_handler_set_share_a_group_newest_first() -> None:
    program, _, _ = built(BOOKSTORE)
    hs = tuple(sorted(h.handlerId for h in program.handlers))
    groups = version_groups(
        program,
        (
            LiveVersion(tsv="2026-01-01T00:00:00Z", handlers=hs),
            LiveVersion(tsv="2026-02-01T00:00:00Z", labels=("stable",), handlers=hs),
        ),
    )
    assert [(g.slug, [v.tsv for v in g.versions]) for g in groups] == [
        ("20260201t000000z", ["2026-02-01T00:00:00Z", "2026-01-01T00:00:00Z"])
    ]
    assert groups[0].selectors == ("2026-02-01T00:00:00Z", "stable", "2026-01-01T00:00:00Z")


@pytest.mark.parametrize(
    ("entry", "cidr", "port"),
    [
        ("postgres.internal:5432", None, 5432),
        ("10.0.0.0/8", "10.0.0.0/8", None),
        ("10.1.2.3:6379", "10.1.2.3/32", 6379),
        ("https://api.example.com", None, 443),
        ("[2001:db8::1]:443", "2001:db8::1/128", 443),
    ],
)
def test_declared_egress_becomes_address_and_port_rules(entry: str, cidr: str | None, port: int | None) -> None:
    parsed = parse_egress(entry)
    assert (parsed.cidr, parsed.port) == (cidr, port)


def test_yaml_dump_round_trips_strings_yaml_would_misread() -> None:
    tricky = {"a": "true", "b": "0123", "c": "1.30", "d": "line\nbreak", "e": "", "f": "yes", "g": "~"}
    assert load_documents(dump_yaml(tricky)) == [tricky]


def test_a_build_deploys_the_versions_recorded_in_the_lock() -> None:
    """The pipeline hands the lock's versions to the bundle: the bookstore's three recorded
    versions serve two handler sets, so two Deployments, each labelled with its newest version
    and annotated with every version it serves; the version header routes to them."""
    from gati_compiler.timescape.lock_read import load_lock

    lock, _ = load_lock(BOOKSTORE / "timescape.lock")
    assert lock is not None
    _, _, artifacts = built(BOOKSTORE)
    objs = bundle_objects(bundle_files(artifacts))
    deployments = by_kind(objs, "Deployment")
    served = sorted(tsv for d in deployments for tsv in d["metadata"]["annotations"]["gati.dev/versions"].split(","))
    assert served == sorted(v.tsv for v in lock.versions if v.status != "retired")
    assert len(deployments) == len({tuple(sorted(m)) for m in lock.handler_maps})
    route = by_kind(objs, "HTTPRoute")[0]
    values = {h["value"] for r in route["spec"]["rules"] for m in r["matches"] for h in m.get("headers", [])}
    assert {t for v in lock.versions for t in v.tags} & values  # tags route by header
