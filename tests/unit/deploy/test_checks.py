"""Our own checks catch what the Kubernetes schemas let through; each case breaks one rule."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from gati_compiler.deploy.checks import check_objects
from gati_compiler.deploy.overlay import bundle_objects
from tests.unit.deploy.bundles import BOOKSTORE, built, bundle_files

Objs = dict[str, dict[str, Any]]


@pytest.fixture(scope="module")
def objs() -> Objs:
    return bundle_objects(bundle_files(built(BOOKSTORE)[2]))


def _first(objs: Objs, kind: str) -> dict[str, Any]:
    return next(o for o in objs.values() if o["kind"] == kind)


def _container(objs: Objs) -> dict[str, Any]:
    container: dict[str, Any] = _first(objs, "Deployment")["spec"]["template"]["spec"]["containers"][0]
    return container


BREAKS: dict[str, tuple[Callable[[Objs], None], str]] = {
    "name not DNS-1123": (lambda o: _first(o, "ConfigMap")["metadata"].update(name="Bookstore_Build"), "DNS-1123"),
    "label value too long": (
        lambda o: _first(o, "Service")["metadata"]["labels"].update({"gati.dev/version": "x" * 64}),
        "not a valid label value",
    ),
    "label value with a colon": (
        lambda o: _first(o, "Service")["metadata"]["labels"].update({"gati.dev/version": "2026-11-21T10:30:00Z"}),
        "not a valid label value",
    ),
    "selector not matching template": (
        lambda o: _first(o, "Deployment")["spec"]["selector"]["matchLabels"].update({"gati.dev/version": "other"}),
        "selector does not match",
    ),
    "service selecting no pod": (
        lambda o: _first(o, "Service")["spec"]["selector"].update({"gati.dev/version": "gone"}),
        "selects no pod",
    ),
    "service target port not opened": (
        lambda o: _first(o, "Service")["spec"]["ports"][0].update(targetPort="metrics"),
        "targetPort `metrics`",
    ),
    "HPA naming a missing Deployment": (
        lambda o: _first(o, "HorizontalPodAutoscaler")["spec"]["scaleTargetRef"].update(name="nope"),
        "does not hold",
    ),
    "PDB selecting nothing": (
        lambda o: _first(o, "PodDisruptionBudget")["spec"]["selector"]["matchLabels"].update({"x": "y"}),
        "selects no pod",
    ),
    "malformed quantity": (lambda o: _container(o)["resources"]["limits"].update(memory="512MB"), "quantity"),
    "probe on a port not opened": (
        lambda o: _container(o)["livenessProbe"]["httpGet"].update(port="admin"),
        "port `admin`",
    ),
    "probe on a port number not opened": (
        lambda o: _container(o)["readinessProbe"]["httpGet"].update(port=9000),
        "port `9000`",
    ),
    "ingress to a missing Service": (
        lambda o: _first(o, "Ingress")["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"].update(
            name="ghost"
        ),
        "Service/ghost",
    ),
    "route to a missing Service": (
        lambda o: _first(o, "HTTPRoute")["spec"]["rules"][0]["backendRefs"][0].update(name="ghost"),
        "Service/ghost",
    ),
    "oversized ConfigMap": (
        lambda o: _first(o, "ConfigMap")["data"].update(big="x" * 1_100_000),
        "1 MiB",
    ),
}


def test_the_examples_pass_every_check(objs: Objs) -> None:
    assert check_objects(objs.values()) == []


@pytest.mark.parametrize("case", sorted(BREAKS))
def test_each_broken_rule_is_reported(objs: Objs, case: str) -> None:
    broken = copy.deepcopy(objs)
    mutate, expected = BREAKS[case]
    mutate(broken)
    problems = [str(p) for p in check_objects(broken.values())]
    assert any(expected in p for p in problems), problems
