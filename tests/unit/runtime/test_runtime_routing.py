"""The route table: converters, precedence, NONE / PARTIAL / FULL."""

from __future__ import annotations

import pytest

from gati_runtime_min.routing import Match, RouteError, Router, compile_path

ROUTES = [
    ("GET", "/users/me", "me"),
    ("GET", "/users", "list"),
    ("POST", "/users", "create"),
    ("GET", "/users/{id:int}", "get"),
    ("DELETE", "/users/{name}", "delete_by_name"),
    ("GET", "/items/{id:uuid}", "item"),
    ("GET", "/days/{d:date}/{x:float}", "day"),
    ("GET", "/files/{rest:path}", "file"),
]


@pytest.mark.parametrize(
    ("method", "path", "target", "params"),
    [
        ("GET", "/users/me", "me", {}),
        ("GET", "/users", "list", {}),
        ("POST", "/users", "create", {}),
        ("GET", "/users/42", "get", {"id": "42"}),
        ("GET", "/users/-3", "get", {"id": "-3"}),
        ("DELETE", "/users/me", "delete_by_name", {"name": "me"}),
        ("GET", "/items/1b4e28ba-2fa1-11d2-883f-0016d3cca427", "item", {"id": "1b4e28ba-2fa1-11d2-883f-0016d3cca427"}),
        ("GET", "/days/2026-11-21/2.5", "day", {"d": "2026-11-21", "x": "2.5"}),
        ("GET", "/files/a/b/c", "file", {"rest": "a/b/c"}),
    ],
)
def test_full_match(method: str, path: str, target: str, params: dict[str, str]) -> None:
    found = Router(ROUTES).match(method, path)
    assert found.match is Match.FULL
    assert found.target == target
    assert dict(found.params) == params


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("PUT", "/users", ("GET", "HEAD", "OPTIONS", "POST")),
        ("POST", "/users/42", ("DELETE", "GET", "HEAD", "OPTIONS")),
        ("DELETE", "/files/x", ("GET", "HEAD", "OPTIONS")),
    ],
)
def test_partial_match_lists_allowed_methods(method: str, path: str, allow: tuple[str, ...]) -> None:
    found = Router(ROUTES).match(method, path)
    assert found.match is Match.PARTIAL
    assert found.allow == allow


@pytest.mark.parametrize("path", ["/nothing", "/items/not-a-uuid", "/days/2026-1-1/x", "/users/1/2"])
def test_no_match(path: str) -> None:
    found = Router(ROUTES).match("GET", path)
    assert found.match is Match.NONE
    assert found.target is None


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("users", "must start with '/'"),
        ("/a/{x:bogus}", "unknown converter"),
        ("/a/{p:path}/b", "must be the last part"),
        ("/a/{x}/{x}", "appears twice"),
    ],
)
def test_bad_templates(template: str, message: str) -> None:
    with pytest.raises(RouteError, match=message):
        compile_path(template)


def test_duplicate_route_is_refused() -> None:
    with pytest.raises(RouteError, match="two routes for GET /a"):
        Router([("GET", "/a", 1), ("get", "/a", 2)])


def test_static_paths_are_a_dictionary() -> None:
    router = Router([("GET", f"/s{i}", i) for i in range(1000)])
    assert router.match("GET", "/s999").target == 999
    assert not router._templates
