"""Property 35, authentication enforcement: a handler that names roles runs only for a caller with
valid credentials holding one of them. No credentials or invalid ones (unknown API key; JWT that is
expired, signed with another secret or without `exp`) are a 401 (GATI530) with `WWW-Authenticate`;
valid credentials without the role a 403 (GATI531); otherwise the handler sees the caller's
subject and roles. Credentials are API keys and HS256 JWTs, configured as in `propapp.py`."""

from __future__ import annotations

import time
from typing import Any, Final

import httpx
import jwt
from hypothesis import given
from hypothesis import strategies as st

from gati_runtime_min.testing import AppClient
from tests.property.propapp import ADMIN_ROLES, ALL_ROLES, JWT_SECRET, Served

ROLE_SETS = st.sets(st.sampled_from([*ALL_ROLES, "guest"]))
JWT_FLAWS: Final = ("expired", "wrong_secret", "no_exp")


@st.composite
def credentials(draw: st.DrawFn) -> tuple[dict[str, str], str, frozenset[str], str | None]:
    """Headers, what they are ("none", "invalid" or "valid"), the roles and subject they carry."""
    kind = draw(st.sampled_from(["none", "api_key", "bad_api_key", "jwt", "bad_jwt"]))
    if kind == "none":
        return {}, "none", frozenset(), None
    if kind == "bad_api_key":
        return {"x-api-key": draw(st.text("abcdef-0123", min_size=1, max_size=10))}, "invalid", frozenset(), None
    if kind == "api_key":
        roles = frozenset(draw(st.sets(st.sampled_from(ALL_ROLES))))
        mask = sum(1 << i for i, r in enumerate(ALL_ROLES) if r in roles)
        return {"x-api-key": f"key-{mask}"}, "valid", roles, None
    roles = frozenset(draw(ROLE_SETS))
    subject = draw(st.text("abcxyz0123", min_size=1, max_size=8))
    claims: dict[str, Any] = {"sub": subject, "roles": sorted(roles), "exp": int(time.time()) + 3600}
    flaw = draw(st.sampled_from(JWT_FLAWS)) if kind == "bad_jwt" else None
    secret = JWT_SECRET
    if flaw == "expired":
        claims["exp"] = int(time.time()) - 3600
    elif flaw == "wrong_secret":
        secret = "another-secret-of-sufficient-length-0123"
    elif flaw == "no_exp":
        del claims["exp"]
    token = jwt.encode(claims, secret, algorithm="HS256")
    return {"authorization": f"Bearer {token}"}, "invalid" if flaw else "valid", roles, subject


@given(cred=credentials())
def test_property_35_authentication_enforcement(
    served: Served, cred: tuple[dict[str, str], str, frozenset[str], str | None]
) -> None:
    headers, kind, roles, subject = cred
    assert headers.get("x-api-key") is None or (headers["x-api-key"] in served.api_keys) == (kind == "valid")

    async def go(client: AppClient) -> httpx.Response:
        return await client.get("/admin", headers=headers)

    r = served.run(go)
    if kind in ("none", "invalid"):
        assert r.status_code == 401, r.text
        assert r.json()["error"]["code"] == "GATI530"
        assert "www-authenticate" in r.headers
    elif roles.isdisjoint(ADMIN_ROLES):
        assert r.status_code == 403, r.text
        assert r.json()["error"]["code"] == "GATI531"
    else:
        assert r.status_code == 200, r.text
        assert r.json() == {"subject": subject, "roles": sorted(roles)}
