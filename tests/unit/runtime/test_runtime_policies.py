"""Authentication (JWT HS256/RS256, API keys), roles and rate limits."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from rt_fixture import make_build  # type: ignore[import-not-found, unused-ignore]  # a sibling module

from gati_runtime_min.errors import GatiError
from gati_runtime_min.policies import RateLimiter, parse_api_keys
from gati_runtime_min.testing import AppClient

SECRET = "s3cret-for-tests-only-0123456789abcdef"


def _get(build: Path, path: str, headers: dict[str, str] | None = None, times: int = 1) -> list[httpx.Response]:
    async def main() -> list[httpx.Response]:
        async with AppClient(build) as c:
            return [await c.get(path, headers=headers) for _ in range(times)]

    return asyncio.run(main())


@pytest.fixture
def hs_build(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("RT_JWT_SECRET", SECRET)
    monkeypatch.setenv("RT_API_KEYS", "k-admin=admin,ops;k-reader=reader")
    auth = {
        "jwt": {"algorithms": ["HS256"], "secretEnv": "RT_JWT_SECRET", "audience": "shop"},
        "apiKeys": {"keysEnv": "RT_API_KEYS"},
    }
    built: Path = make_build(tmp_path, settings={"auth": auth})
    return built


def _token(claims: dict[str, Any], key: Any = SECRET, alg: str = "HS256") -> str:
    base = {"sub": "ada", "aud": "shop", "exp": int(time.time()) + 60, "roles": ["admin"]}
    return jwt.encode({**base, **claims}, key, algorithm=alg)


def test_hs256_token_with_role(hs_build: Path) -> None:
    (r,) = _get(hs_build, "/admin", {"authorization": f"Bearer {_token({})}"})
    assert r.status_code == 200
    assert r.json() == {"user": "ada", "roles": ["admin"]}


@pytest.mark.parametrize(
    ("claims", "status", "code"),
    [
        ({"exp": int(time.time()) - 10}, 401, "GATI530"),
        ({"aud": "other"}, 401, "GATI530"),
        ({"roles": ["reader"]}, 403, "GATI531"),
    ],
)
def test_bad_tokens(hs_build: Path, claims: dict[str, Any], status: int, code: str) -> None:
    (r,) = _get(hs_build, "/admin", {"authorization": f"Bearer {_token(claims)}"})
    assert r.status_code == status
    assert r.json()["error"]["code"] == code


def test_wrong_signature_and_no_credentials(hs_build: Path) -> None:
    (forged,) = _get(hs_build, "/admin", {"authorization": f"Bearer {_token({}, key='x' * 40)}"})
    assert forged.status_code == 401
    (anonymous,) = _get(hs_build, "/admin")
    assert anonymous.status_code == 401
    assert anonymous.headers["www-authenticate"] == "Bearer"


def test_api_keys(hs_build: Path) -> None:
    assert _get(hs_build, "/admin", {"x-api-key": "k-admin"})[0].status_code == 200
    assert _get(hs_build, "/admin", {"x-api-key": "k-reader"})[0].status_code == 403
    assert _get(hs_build, "/admin", {"x-api-key": "nope"})[0].status_code == 401


def test_public_routes_need_no_credentials(hs_build: Path) -> None:
    assert _get(hs_build, "/users/1")[0].status_code == 200


def test_rs256(tmp_path: Path) -> None:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = private.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    (tmp_path / "project").mkdir()
    (tmp_path / "project" / "jwt.pub").write_bytes(pem)
    auth = {"jwt": {"algorithms": ["RS256"], "publicKeyFile": "jwt.pub", "audience": "shop"}}
    build = make_build(tmp_path, settings={"auth": auth})
    ok = _get(build, "/admin", {"authorization": f"Bearer {_token({}, key=private, alg='RS256')}"})[0]
    assert ok.status_code == 200
    hs = _get(build, "/admin", {"authorization": f"Bearer {_token({})}"})[0]
    assert hs.status_code == 401  # HS256 is not accepted by this app


def test_rate_limit_429_with_retry_after(tmp_path: Path) -> None:
    build = make_build(tmp_path)
    responses = _get(build, "/limited", times=3)
    assert [r.status_code for r in responses] == [204, 204, 429]
    assert responses[2].json()["error"]["code"] == "GATI532"
    assert 1 <= int(responses[2].headers["retry-after"]) <= 60


def test_rate_limiter_is_per_client_and_handler_and_windows_reset() -> None:
    limiter = RateLimiter()
    limiter.hit("a", "h", 1, 10.0, now=0.0)
    limiter.hit("b", "h", 1, 10.0, now=0.0)
    limiter.hit("a", "other", 1, 10.0, now=0.0)
    with pytest.raises(GatiError) as info:
        limiter.hit("a", "h", 1, 10.0, now=2.5)
    assert info.value.headers["retry-after"] == "8"
    limiter.hit("a", "h", 1, 10.0, now=10.0)


def test_rate_limiter_memory_is_bounded() -> None:
    limiter = RateLimiter(max_keys=10)
    for i in range(100):
        limiter.hit(f"c{i}", "h", 5, 60.0, now=float(i))
    assert len(limiter._windows) <= 10


def test_parse_api_keys() -> None:
    assert parse_api_keys("a=x,y; b=z;;c=") == {
        "a": frozenset({"x", "y"}),
        "b": frozenset({"z"}),
        "c": frozenset(),
    }
