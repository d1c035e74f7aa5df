"""A small Kubernetes API client for the operator (httpx): get, server-side apply, status patch,
delete, and the runtime's usage report through the API server's service proxy.

In the cluster it reads the service account's token and CA; tests hand it an httpx transport
that replays recorded API responses.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Final, Protocol

import httpx

Obj = dict[str, Any]
FIELD_MANAGER: Final = "gati-operator"
_SA: Final = Path("/var/run/secrets/kubernetes.io/serviceaccount")
_PLURALS: Final = {
    "Deployment": "deployments",
    "Service": "services",
    "HTTPRoute": "httproutes",
    "GatiApp": "gatiapps",
    "GatiVersion": "gativersions",
    "HorizontalPodAutoscaler": "horizontalpodautoscalers",
    "PodDisruptionBudget": "poddisruptionbudgets",
}


class KubeError(RuntimeError):
    """The API server answered with an error status."""


def object_path(api_version: str, kind: str, namespace: str, name: str | None = None) -> str:
    base = f"/api/{api_version}" if "/" not in api_version else f"/apis/{api_version}"
    path = f"{base}/namespaces/{namespace}/{_PLURALS[kind]}"
    return f"{path}/{name}" if name else path


class KubeApi(Protocol):
    def get(self, api_version: str, kind: str, namespace: str, name: str) -> Obj | None: ...
    def apply(self, obj: Obj) -> Obj: ...
    def patch_status(self, api_version: str, kind: str, namespace: str, name: str, status: Obj) -> Obj: ...
    def delete(self, api_version: str, kind: str, namespace: str, name: str) -> bool: ...
    def usage(self, namespace: str, service: str, path: str) -> Obj: ...


class HttpKubeApi:
    """`KubeApi` over HTTP."""

    def __init__(self, client: httpx.Client) -> None:
        self.client = client

    @classmethod
    def in_cluster(cls) -> HttpKubeApi:
        import os

        host = os.environ["KUBERNETES_SERVICE_HOST"]
        port = os.environ.get("KUBERNETES_SERVICE_PORT", "443")
        token = (_SA / "token").read_text(encoding="utf-8").strip()
        client = httpx.Client(
            base_url=f"https://{host}:{port}",
            headers={"Authorization": f"Bearer {token}"},
            verify=str(_SA / "ca.crt"),
            timeout=10.0,
        )
        return cls(client)

    def _send(self, method: str, path: str, **kw: Any) -> httpx.Response:
        response = self.client.request(method, path, **kw)
        if response.status_code >= 400 and response.status_code != 404:
            raise KubeError(f"{method} {path}: {response.status_code} {response.text[:300]}")
        return response

    def get(self, api_version: str, kind: str, namespace: str, name: str) -> Obj | None:
        response = self._send("GET", object_path(api_version, kind, namespace, name))
        return None if response.status_code == 404 else dict(response.json())

    def apply(self, obj: Obj) -> Obj:
        meta = obj["metadata"]
        path = object_path(obj["apiVersion"], obj["kind"], meta["namespace"], meta["name"])
        response = self._send(
            "PATCH",
            path,
            params={"fieldManager": FIELD_MANAGER, "force": "true"},
            headers={"Content-Type": "application/apply-patch+yaml"},
            content=json.dumps(obj, sort_keys=True),
        )
        return dict(response.json())

    def patch_status(self, api_version: str, kind: str, namespace: str, name: str, status: Obj) -> Obj:
        path = object_path(api_version, kind, namespace, name) + "/status"
        headers = {"Content-Type": "application/merge-patch+json"}
        response = self._send("PATCH", path, headers=headers, content=json.dumps({"status": status}, sort_keys=True))
        return dict(response.json())

    def delete(self, api_version: str, kind: str, namespace: str, name: str) -> bool:
        return self._send("DELETE", object_path(api_version, kind, namespace, name)).status_code != 404

    def usage(self, namespace: str, service: str, path: str) -> Obj:
        response = self._send("GET", f"/api/v1/namespaces/{namespace}/services/{service}:http/proxy{path}")
        return {} if response.status_code == 404 else dict(response.json())
