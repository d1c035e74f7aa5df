"""Policies: authentication (JWT HS256/RS256, API keys), role checks and rate limits."""

from __future__ import annotations

import math
import os
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Final

import jwt

from gati_runtime_min.errors import GatiError, ManifestError
from gati_runtime_min.messages import Principal

_MANIFEST: Final = "manifest.json"


class Authenticator:
    """Turns request headers into a `Principal` (or None), from `settings.auth` of the manifest."""

    def __init__(self, auth: Mapping[str, Any], project_root: Path) -> None:
        jwt_cfg: Mapping[str, Any] = auth.get("jwt") or {}
        keys_cfg: Mapping[str, Any] = auth.get("apiKeys") or {}
        self.algorithms: tuple[str, ...] = tuple(jwt_cfg.get("algorithms") or ("HS256",))
        for alg in self.algorithms:
            if alg not in ("HS256", "RS256"):
                raise ManifestError(_MANIFEST, f"settings.auth.jwt.algorithms: unsupported algorithm {alg!r}")
        self.audience: str | None = jwt_cfg.get("audience")
        self.issuer: str | None = jwt_cfg.get("issuer")
        self.roles_claim: str = jwt_cfg.get("rolesClaim") or "roles"
        self.keys: dict[str, Any] = {}
        secret_env = jwt_cfg.get("secretEnv")
        if secret_env:
            secret = os.environ.get(secret_env)
            if not secret:
                raise ManifestError(
                    _MANIFEST, f"settings.auth.jwt.secretEnv: {secret_env} is not set in the environment"
                )
            self.keys["HS256"] = secret
        key_file = jwt_cfg.get("publicKeyFile")
        if key_file:
            path = project_root / key_file
            try:
                self.keys["RS256"] = path.read_text(encoding="utf-8")
            except OSError as exc:
                raise ManifestError(_MANIFEST, f"settings.auth.jwt.publicKeyFile: cannot read {path}: {exc}") from exc
        self.api_key_header: str = (keys_cfg.get("header") or "x-api-key").lower()
        self.api_keys: dict[str, frozenset[str]] = {}
        keys_env = keys_cfg.get("keysEnv")
        if keys_env:
            self.api_keys = parse_api_keys(os.environ.get(keys_env, ""))
        self.enabled = bool(self.keys or self.api_keys)

    def authenticate(self, headers: Mapping[str, str]) -> Principal | None:
        """The caller, or None without credentials; raises GATI530 for invalid credentials."""
        authz = headers.get("authorization")
        if authz is not None and self.keys:
            scheme, _, token = authz.partition(" ")
            if scheme.lower() == "bearer" and token:
                return self._jwt(token.strip())
        if self.api_keys:
            key = headers.get(self.api_key_header)
            if key is not None:
                roles = self.api_keys.get(key)
                if roles is None:
                    raise GatiError("GATI530", "invalid API key", headers={"www-authenticate": "ApiKey"})
                return Principal(subject=None, roles=roles, scheme="api_key")
        return None

    def _jwt(self, token: str) -> Principal:
        try:
            alg = jwt.get_unverified_header(token).get("alg")
            if alg not in self.algorithms or alg not in self.keys:
                raise jwt.InvalidAlgorithmError(f"algorithm {alg!r} is not accepted")
            claims: dict[str, Any] = jwt.decode(
                token,
                self.keys[alg],
                algorithms=[alg],
                audience=self.audience,
                issuer=self.issuer,
                options={"require": ["exp"]},
            )
        except jwt.PyJWTError as exc:
            raise GatiError(
                "GATI530", f"invalid token: {exc}", headers={"www-authenticate": 'Bearer error="invalid_token"'}
            ) from None
        raw = claims.get(self.roles_claim, ())
        roles = frozenset([raw] if isinstance(raw, str) else (str(r) for r in raw if isinstance(r, str | int)))
        sub = claims.get("sub")
        return Principal(subject=str(sub) if sub is not None else None, roles=roles, scheme="jwt", claims=claims)


def parse_api_keys(spec: str) -> dict[str, frozenset[str]]:
    """`key=role1,role2;key2=role3` -> {key: roles}."""
    out: dict[str, frozenset[str]] = {}
    for item in spec.split(";"):
        key, _, roles = item.strip().partition("=")
        if key:
            out[key.strip()] = frozenset(r.strip() for r in roles.split(",") if r.strip())
    return out


def check_roles(required: Sequence[str], user: Principal | None) -> None:
    """The caller needs one of `required`: 401 without credentials, 403 without the role."""
    if not required:
        return
    if user is None:
        raise GatiError("GATI530", "authentication required", headers={"www-authenticate": "Bearer"})
    if user.roles.isdisjoint(required):
        raise GatiError("GATI531", f"requires one of the roles: {', '.join(required)}")


class RateLimiter:
    """Fixed-window counters per (client, handler). Memory stays bounded: expired windows are purged."""

    def __init__(self, max_keys: int = 100_000) -> None:
        self._windows: dict[tuple[str, str], tuple[float, int, float]] = {}  # (start, count, window)
        self._max_keys = max_keys

    def hit(self, client: str, handler_id: str, limit: int, window: float, now: float | None = None) -> None:
        """Count one request; raises GATI532 with `Retry-After` once `limit` is used up in this window."""
        now = time.monotonic() if now is None else now
        key = (client, handler_id)
        start, count, _ = self._windows.get(key, (now, 0, window))
        if now - start >= window:
            start, count = now, 0
        if count >= limit:
            retry = max(1, math.ceil(start + window - now))
            raise GatiError(
                "GATI532",
                f"rate limit of {limit} per {window:g}s exceeded",
                headers={"retry-after": str(retry)},
            )
        if len(self._windows) >= self._max_keys and key not in self._windows:
            self._purge(now)
        self._windows[key] = (start, count + 1, window)

    def _purge(self, now: float) -> None:
        stale = [k for k, (start, _, window) in self._windows.items() if now - start >= window]
        for k in stale:
            del self._windows[k]
        if len(self._windows) >= self._max_keys:  # all live: forget the oldest half
            for k in sorted(self._windows, key=lambda k: self._windows[k][0])[: self._max_keys // 2]:
                del self._windows[k]
