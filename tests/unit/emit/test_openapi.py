"""`build_openapi`: a valid OpenAPI 3.1 document with every handler, its errors and security."""

from __future__ import annotations

from typing import Any

import pytest
from openapi_spec_validator import validate

from gati_compiler.canonical import canonical_json
from gati_compiler.emit.openapi import build_openapi, component_names
from gati_compiler.ir.gtype import (
    ArrayType,
    EnumMember,
    EnumType,
    GType,
    ObjectType,
    PrimitiveType,
    Property,
    RefType,
    UnionType,
)
from gati_compiler.ir.models import (
    HandlerGTypes,
    PathParam,
    Policies,
    Program,
    RateLimit,
)
from tests.ir_builders import make_handler

STR = PrimitiveType(type="string")
INT = PrimitiveType(type="integer")
# the shape `config.settings_for_runtime` gives (and `manifest.json` records)
SETTINGS: dict[str, object] = {
    "auth": {"jwt": {"algorithms": ["HS256"]}, "apiKeys": {"header": "x-key", "keysEnv": "K"}}
}


handler = make_handler


def program() -> Program:
    user = ObjectType(
        name="User",
        properties=(
            Property(name="id", type=INT, required=True),
            Property(name="role", type=RefType(ref="app.models:Role"), required=True),
            Property(
                name="friend",
                type=UnionType(options=(RefType(ref="app.models:User"), PrimitiveType(type="null"))),
                required=False,
            ),
        ),
    )
    gtypes: dict[str, GType] = {
        "app.models:User": user,
        "app.models:Role": EnumType(name="Role", members=(EnumMember(name="ADMIN", value="admin"),)),
        "Error": ObjectType(name="Error", properties=(Property(name="why", type=STR, required=True),)),
        "app.models:Query": ObjectType(
            properties=(
                Property(name="limit", type=INT, required=False, description="page size"),
                Property(name="tag", type=ArrayType(items=STR), required=False),
            )
        ),
    }
    return Program(
        app="shop",
        handlers=(
            handler(
                "list_users",
                "GET",
                "/users",
                tags=("users",),
                summary="List users",
                description="List users.\n\nAll of them.",
                gtypes=HandlerGTypes(
                    query=RefType(ref="app.models:Query"), response=ArrayType(items=RefType(ref="app.models:User"))
                ),
            ),
            handler(
                "create_user",
                "POST",
                "/users",
                status=201,
                gtypes=HandlerGTypes(
                    request=RefType(ref="app.models:User"),
                    response=RefType(ref="app.models:User"),
                    headers=ObjectType(properties=(Property(name="x-tenant", type=STR, required=True),)),
                ),
                policies=Policies(roles=("admin",), rateLimit=RateLimit(limit=10, window=60.0)),
            ),
            handler(
                "delete_file",
                "DELETE",
                "/users/{id:int}/files/{rest:path}",
                status=204,
                pathParams=(PathParam(name="id", converter="int"), PathParam(name="rest", converter="path")),
            ),
        ),
        gtypes=gtypes,
    )


@pytest.fixture(scope="module")
def doc() -> dict[str, Any]:
    return build_openapi(program(), SETTINGS)


def test_document_is_valid_openapi_31(doc: dict[str, Any]) -> None:
    assert doc["openapi"] == "3.1.0"
    validate(doc)


def test_disabled_schemes_are_left_out() -> None:
    doc: dict[str, Any] = build_openapi(program(), {"auth": {"jwt": None, "api_keys": {"header": "x-k"}}})
    assert doc["components"]["securitySchemes"] == {"apiKeyAuth": {"type": "apiKey", "in": "header", "name": "x-k"}}
    assert doc["paths"]["/users"]["post"]["security"] == [{"apiKeyAuth": ["admin"]}]


def test_valid_without_auth_settings() -> None:
    validate(build_openapi(program(), {}))
    validate(build_openapi(Program(app="empty"), {}))


def test_paths_rewrite_converters_and_type_path_params(doc: dict[str, Any]) -> None:
    op = doc["paths"]["/users/{id}/files/{rest}"]["delete"]
    params = {p["name"]: p for p in op["parameters"]}
    assert params["id"] == {"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}
    assert params["rest"]["schema"] == {"type": "string"}
    assert "content" not in op["responses"]["204"]


def test_query_parameters_come_from_the_query_object(doc: dict[str, Any]) -> None:
    op = doc["paths"]["/users"]["get"]
    assert [(p["name"], p["in"], p["required"]) for p in op["parameters"]] == [
        ("limit", "query", False),
        ("tag", "query", False),
    ]
    assert op["parameters"][0]["description"] == "page size"
    assert op["operationId"] == "list_users"
    assert op["summary"] == "List users"
    assert op["tags"] == ["users"]
    assert doc["tags"] == [{"name": "users"}]


def test_success_and_error_responses(doc: dict[str, Any]) -> None:
    op = doc["paths"]["/users"]["post"]
    assert op["parameters"] == [{"name": "x-tenant", "in": "header", "required": True, "schema": {"type": "string"}}]
    assert op["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/app.models_User"
    }
    assert set(op["responses"]) == {
        *("201", "400", "401", "403", "404", "405", "413", "415", "422", "429", "500", "503", "504")
    }
    assert set(doc["paths"]["/users"]["get"]["responses"]) == {"200", "400", "404", "405", "422", "500", "503", "504"}
    too_many = doc["components"]["responses"]["TooManyRequests"]
    assert "Retry-After" in too_many["headers"]
    # the user's own `Error` keeps its name; gati's error schema steps aside
    assert too_many["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/GatiError"}
    error = doc["components"]["schemas"]["GatiError"]["properties"]["error"]
    assert set(error["properties"]) == {"code", "message", "path", "issues", "requestId"}
    assert error["properties"]["issues"]["items"] == {"$ref": "#/components/schemas/Issue"}


def test_security_from_auth_settings(doc: dict[str, Any]) -> None:
    schemes = doc["components"]["securitySchemes"]
    assert schemes["bearerAuth"] == {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
    assert schemes["apiKeyAuth"] == {"type": "apiKey", "in": "header", "name": "x-key"}
    assert doc["paths"]["/users"]["post"]["security"] == [{"apiKeyAuth": ["admin"]}, {"bearerAuth": ["admin"]}]
    assert "security" not in doc["paths"]["/users"]["get"]


def test_refs_point_at_sanitized_component_names(doc: dict[str, Any]) -> None:
    user = doc["components"]["schemas"]["app.models_User"]
    assert user["properties"]["role"] == {"$ref": "#/components/schemas/app.models_Role"}
    assert "#/$defs/" not in canonical_json(doc)


def test_component_names_are_collision_free() -> None:
    names, ours = component_names(["a:b", "a_b", "Issue"], ("Error", "Issue"))
    assert names == {"Issue": "Issue", "a:b": "a_b", "a_b": "a_b_2"}
    assert ours == {"Error": "Error", "Issue": "GatiIssue"}


def test_deterministic() -> None:
    assert canonical_json(build_openapi(program(), SETTINGS)) == canonical_json(build_openapi(program(), SETTINGS))
