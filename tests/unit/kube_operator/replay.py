"""A Kubernetes API that replays recorded responses: the operator's real `HttpKubeApi` talks to
it through an httpx transport. GETs answer from JSON fixtures (unknown paths: a recorded 404);
writes are recorded and echoed like the API server does."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import kopf

from gati_operator.kube import HttpKubeApi

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def fixture(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / name).read_text(encoding="utf-8"))
    return data


class Replay:
    def __init__(self, gets: Mapping[str, str]) -> None:
        self.gets = dict(gets)  # path → fixture file
        self.writes: list[tuple[str, str, Any]] = []

    def handle(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if request.method == "GET":
            name = self.gets.get(path)
            if name is None:
                return httpx.Response(404, json=fixture("status-404.json"))
            return httpx.Response(200, json=fixture(name))
        body = json.loads(request.content) if request.content else None
        self.writes.append((request.method, path, body))
        return httpx.Response(200, json=body or {"kind": "Status", "status": "Success"})

    def memo(self, now: datetime) -> kopf.Memo:
        client = httpx.Client(transport=httpx.MockTransport(self.handle), base_url="https://kubernetes.test")
        memo = kopf.Memo()
        memo.api = HttpKubeApi(client)
        memo.clock = lambda: now
        return memo

    def written(self, method: str, suffix: str) -> list[Any]:
        return [body for m, p, body in self.writes if m == method and p.endswith(suffix)]


NS = "/namespaces/shop"
APP = f"/apis/gati.dev/v1alpha1{NS}/gatiapps/bookstore"
ROUTE = f"/apis/gateway.networking.k8s.io/v1{NS}/httproutes/bookstore"
NEW_DEPLOYMENT = f"/apis/apps/v1{NS}/deployments/bookstore-20261201t090000z"
USAGE = f"/api/v1{NS}/services/bookstore:http/proxy/_gati/usage"
