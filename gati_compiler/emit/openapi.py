"""OpenAPI 3.1 for the current version of an app (`openapi.json`), built as a plain dict.

Input: an `ir.Program` and the build settings (`settings["auth"]` for security schemes). Output: a
JSON-ready dict the caller serializes with `canonical_json`. Schemas come from `ir.jsonschema`;
nothing here renders templates or touches the disk.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Final

from pydantic import JsonValue

from gati_compiler.emit._openapi_public import OutputSchemas, public_formats
from gati_compiler.emit._sdk_common import Field, Operation, operations, resolve
from gati_compiler.ir.gtype import GType, PrimitiveType, UnionType
from gati_compiler.ir.jsonschema import ref_pointer, to_json_schema
from gati_compiler.ir.models import Program
from gati_compiler.version import __version__

OPENAPI_VERSION: Final = "3.1.0"
_COMPONENT_BAD: Final = re.compile(r"[^A-Za-z0-9._-]")
_DEFS_PREFIX: Final = "#/$defs/"
_SCHEMAS_PREFIX: Final = "#/components/schemas/"

# reusable responses: component name -> (status, description, extra headers)
_ERROR_RESPONSES: Final[Mapping[str, tuple[int, str]]] = {
    "BadRequest": (400, "The request is malformed: unreadable JSON or an unknown API version."),
    "Unauthorized": (401, "No valid credentials were sent."),
    "Forbidden": (403, "The credentials lack a role this handler requires."),
    "NotFound": (404, "No route, or no resource, matches the request."),
    "MethodNotAllowed": (405, "The path exists but does not serve this method; `Allow` lists the methods."),
    "PayloadTooLarge": (413, "The request body is larger than the server accepts."),
    "UnsupportedMediaType": (415, "The request body is not JSON."),
    "UnprocessableEntity": (422, "The body, query or path parameters failed validation; `issues` lists every problem."),
    "TooManyRequests": (429, "The rate limit is exhausted; retry after `Retry-After` seconds."),
    "InternalServerError": (500, "The handler failed; no other request is affected."),
    "ServiceUnavailable": (503, "The app is not ready yet."),
    "GatewayTimeout": (504, "The handler did not finish within its timeout."),
}
BEARER_SCHEME: Final = "bearerAuth"
API_KEY_SCHEME: Final = "apiKeyAuth"
REQUEST_ID_HEADER: Final = "X-Request-Id"
VERSION_HEADER: Final = "X-Gati-Version"


def component_names(refs: list[str], reserved: tuple[str, ...]) -> tuple[dict[str, str], dict[str, str]]:
    """Component names for the user's refs (sanitized, collision-free) and for our own schemas.

    User types keep their names; gati's `Error` and `Issue` step aside (`GatiError`) when taken.
    """
    taken: set[str] = set()
    names: dict[str, str] = {}
    for ref in sorted(refs):
        base = _COMPONENT_BAD.sub("_", ref) or "_"
        name, n = base, 2
        while name in taken:
            name, n = f"{base}_{n}", n + 1
        taken.add(name)
        names[ref] = name
    ours: dict[str, str] = {}
    for own in reserved:
        name, n = own, 2
        while name in taken:
            name, n = f"Gati{own}" if n == 2 else f"Gati{own}{n}", n + 1
        taken.add(name)
        ours[own] = name
    return names, ours


class _Builder:
    def __init__(self, program: Program, settings: Mapping[str, object], ops: tuple[Operation, ...] = ()) -> None:
        self.program = program
        self.names, self.ours = component_names(list(program.gtypes), ("Error", "Issue"))
        self.pointers = {ref_pointer(ref): _SCHEMAS_PREFIX + name for ref, name in self.names.items()}
        self.security = _security_schemes(settings)
        user_schemas = {self.names[ref]: self.schema(gtype) for ref, gtype in sorted(program.gtypes.items())}
        inputs: list[JsonValue] = []
        for op in ops:
            inputs += [self.schema(f.type) for f in (*op.path_params, *op.query, *op.headers)]
            if op.body is not None:
                inputs.append(self.schema(op.body))
        outputs = [self.schema(op.response) for op in ops if op.response is not None]
        # response schemas mark the fields a dataclass or model always sends as required
        self.output = OutputSchemas(user_schemas, inputs, outputs)

    def schema(self, gtype: GType) -> JsonValue:
        return self._rewrite(to_json_schema(gtype))

    def _rewrite(self, value: JsonValue) -> JsonValue:
        if isinstance(value, dict):
            out: dict[str, JsonValue] = {}
            for key, item in value.items():
                if key == "$ref" and isinstance(item, str) and item.startswith(_DEFS_PREFIX):
                    out[key] = self.pointers.get(item, _SCHEMAS_PREFIX + _COMPONENT_BAD.sub("_", item[8:]))
                else:
                    out[key] = self._rewrite(item)
            return out
        if isinstance(value, list):
            return [self._rewrite(item) for item in value]
        return value

    def ref(self, own: str) -> dict[str, JsonValue]:
        return {"$ref": _SCHEMAS_PREFIX + self.ours[own]}

    def parameter(self, field: Field, where: str) -> JsonValue:
        param: dict[str, JsonValue] = {
            "name": field.name,
            "in": where,
            "required": field.required,
            "schema": self.schema(field.type),
        }
        if field.description:
            param["description"] = field.description
        return param

    def operation(self, op: Operation) -> dict[str, JsonValue]:
        doc: dict[str, JsonValue] = {"operationId": op.handler_id}
        if op.summary:
            doc["summary"] = op.summary
        if op.description:
            doc["description"] = op.description
        if op.tags:
            doc["tags"] = list(op.tags)
        params = [self.parameter(f, "path") for f in op.path_params]
        params += [self.parameter(f, "query") for f in op.query]
        params += [self.parameter(f, "header") for f in op.headers]
        if params:
            doc["parameters"] = params
        if op.body is not None:
            doc["requestBody"] = {
                "required": not _nullable(op.body, self.program.gtypes),
                "content": {"application/json": {"schema": self.schema(op.body)}},
            }
        success: dict[str, JsonValue] = {
            "description": "Success.",
            "headers": {REQUEST_ID_HEADER: {"$ref": "#/components/headers/" + REQUEST_ID_HEADER}},
        }
        if op.response is not None:
            success["content"] = {"application/json": {"schema": self.output.response(self.schema(op.response))}}
        responses: dict[str, JsonValue] = {str(op.status): success}
        for name in self._error_responses(op):
            responses[str(_ERROR_RESPONSES[name][0])] = {"$ref": "#/components/responses/" + name}
        for status in op.other_statuses:  # set in the handler with `res.status(<literal>)`
            if str(status) in responses:
                continue
            if status >= 400:
                responses[str(status)] = {
                    "description": "An error the handler answers itself.",
                    "headers": {REQUEST_ID_HEADER: {"$ref": "#/components/headers/" + REQUEST_ID_HEADER}},
                    "content": {"application/json": {"schema": self.ref("Error")}},
                }
            elif status in (204, 304) or "content" not in success:
                responses[str(status)] = {k: v for k, v in success.items() if k != "content"}
            else:
                responses[str(status)] = dict(success)
        responses = dict(sorted(responses.items()))
        doc["responses"] = responses
        if op.roles and self.security:
            roles: list[JsonValue] = [role for role in sorted(op.roles)]
            doc["security"] = [{scheme: roles} for scheme in sorted(self.security)]
        return doc

    @staticmethod
    def _error_responses(op: Operation) -> list[str]:
        wanted = ["BadRequest", "NotFound", "MethodNotAllowed", "UnprocessableEntity", "InternalServerError"]
        wanted += ["ServiceUnavailable", "GatewayTimeout"]
        if op.body is not None:
            wanted += ["PayloadTooLarge", "UnsupportedMediaType"]
        if op.roles:
            wanted += ["Unauthorized", "Forbidden"]
        if op.rate_limited:
            wanted.append("TooManyRequests")
        return wanted

    def components(self) -> dict[str, JsonValue]:
        schemas: dict[str, JsonValue] = dict(self.output.schemas)
        schemas[self.ours["Issue"]] = _issue_schema()
        schemas[self.ours["Error"]] = _error_schema(self.ref("Issue"))
        responses: dict[str, JsonValue] = {}
        for name, (status, description) in _ERROR_RESPONSES.items():
            headers: dict[str, JsonValue] = {REQUEST_ID_HEADER: {"$ref": "#/components/headers/" + REQUEST_ID_HEADER}}
            if status == 429:
                headers["Retry-After"] = {
                    "description": "Seconds to wait before retrying.",
                    "schema": {"type": "integer", "minimum": 0},
                }
            if status == 405:
                headers["Allow"] = {"description": "The methods the path serves.", "schema": {"type": "string"}}
            responses[name] = {
                "description": description,
                "headers": headers,
                "content": {"application/json": {"schema": self.ref("Error")}},
            }
        components: dict[str, JsonValue] = {
            "schemas": schemas,
            "responses": responses,
            "headers": {
                REQUEST_ID_HEADER: {
                    "description": "The unique, sortable id of this request (also in error bodies).",
                    "schema": {"type": "string"},
                }
            },
        }
        if self.security:
            components["securitySchemes"] = dict(self.security)
        return components


def _issue_schema() -> JsonValue:
    fields = ("path", "code", "expected", "actual", "message")
    return {
        "type": "object",
        "description": "One validation problem, at a JSON path such as `$.items[2].name`.",
        "required": list(fields),
        "properties": {name: {"type": "string"} for name in fields},
    }


def _error_schema(issue_ref: JsonValue) -> JsonValue:
    return {
        "type": "object",
        "description": "The body of every error response.",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message", "requestId"],
                "properties": {
                    "code": {
                        "type": "string",
                        "description": "A stable code: `GATI5xx` from the runtime, or the handler's own.",
                    },
                    "message": {"type": "string"},
                    "path": {"type": "string", "description": "The request path."},
                    "issues": {"type": "array", "items": issue_ref},
                    "requestId": {"type": "string"},
                },
            }
        },
    }


def _nullable(gtype: GType, gtypes: Mapping[str, GType]) -> bool:
    target = resolve(gtype, gtypes)
    if isinstance(target, PrimitiveType):
        return target.type == "null"
    if isinstance(target, UnionType):
        return any(_nullable(o, gtypes) for o in target.options)
    return False


def _security_schemes(settings: Mapping[str, object]) -> dict[str, JsonValue]:
    auth = settings.get("auth")
    if not isinstance(auth, Mapping):
        return {}
    schemes: dict[str, JsonValue] = {}
    if auth.get("jwt") is not None:
        schemes[BEARER_SCHEME] = {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
    # the manifest's settings spell it `apiKeys`; the config table `api_keys`. A disabled scheme is null.
    api_keys = auth.get("apiKeys", auth.get("api_keys"))
    if api_keys is not None:
        header = api_keys.get("header") if isinstance(api_keys, Mapping) else None
        schemes[API_KEY_SCHEME] = {
            "type": "apiKey",
            "in": "header",
            "name": header if isinstance(header, str) and header else "x-api-key",
        }
    return schemes


def build_openapi(program: Program, settings: Mapping[str, object]) -> dict[str, JsonValue]:
    """The OpenAPI 3.1 document of `program`: every handler, its errors, schemas and security.

    Parameters:
        program: the analysed app.
        settings: the build settings; `settings["auth"]` (`jwt`, `api_keys`) gives the security schemes.

    Returns:
        A JSON-ready dict; serialize it with `canonical_json`.
    """
    ops = operations(program)
    builder = _Builder(program, settings, ops)
    paths: dict[str, dict[str, JsonValue]] = {}
    for op in ops:
        paths.setdefault(op.path, {})[op.method.lower()] = builder.operation(op)
    tags = sorted({tag for h in program.handlers for tag in h.tags})
    pinned = program.timescapeCurrent  # the recorded version this document describes, if any
    app_version = settings.get("appVersion")
    info: dict[str, JsonValue] = {
        "title": program.app,
        # the app's own version (`[project].version`); else the recorded Timescape version
        "version": app_version if isinstance(app_version, str) else pinned or "current",
        "description": f"Generated by gatic {__version__}. Pin a version with the `{VERSION_HEADER}` header.",
    }
    doc: dict[str, JsonValue] = {
        "openapi": OPENAPI_VERSION,
        "info": info,
        "paths": {path: dict(sorted(ops.items())) for path, ops in sorted(paths.items())},
        "components": builder.components(),
    }
    if pinned and isinstance(app_version, str):
        info["x-gati-version"] = pinned
    if tags:
        doc["tags"] = [{"name": tag} for tag in tags]
    # the public document: each long format pattern once, in a named component
    return public_formats(doc)
