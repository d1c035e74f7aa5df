"""The diff engine's vocabulary: levels, categories, the rule catalogue and the `Finding` value.

Input: nothing (data module). Output: `Level`, `Category`, `Rule`, `RULES` (every rule of
BREAKING-RULES.md plus the safe verdicts the engine names), and `Finding`. Rule ids follow
oasdiff's naming; rows that only buf knows get an id in the same style and keep buf's name.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final, Literal

from pydantic import JsonValue

from gati_compiler.ir.models import SourceRef


class Level(StrEnum):
    ERR = "ERR"
    WARN = "WARN"
    INFO = "INFO"


class Category(StrEnum):
    WIRE = "WIRE"
    SDK = "SDK"
    POLICY = "POLICY"


Side = Literal["op", "request", "response", "sdk"]
LEVEL_RANK: Final = {Level.INFO: 0, Level.WARN: 1, Level.ERR: 2}


@dataclass(frozen=True)
class Rule:
    id: str
    row: int  # the catalogue row (0: a safe verdict the catalogue lists as a negative case)
    level: Level
    category: Category
    side: Side
    title: str
    buf: str = ""


def _r(rid: str, row: int, level: Level, cat: Category, side: Side, title: str, buf: str = "") -> tuple[str, Rule]:
    return rid, Rule(rid, row, level, cat, side, title, buf)


E, W, I = Level.ERR, Level.WARN, Level.INFO  # noqa: E741
WIRE, SDK, POLICY = Category.WIRE, Category.SDK, Category.POLICY

RULES: Final[dict[str, Rule]] = dict(
    [
        _r(
            "api-removed-without-deprecation", 1, E, WIRE, "op", "endpoint removed without deprecation", "RPC_NO_DELETE"
        ),
        _r(
            "api-path-removed-without-deprecation",
            2,
            E,
            WIRE,
            "op",
            "path removed without deprecation",
            "SERVICE_NO_DELETE",
        ),
        _r("api-removed-before-sunset", 3, E, POLICY, "op", "endpoint removed before its sunset date"),
        _r("api-sunset-date-changed-too-small", 4, E, POLICY, "op", "sunset date moved earlier"),
        _r("api-sunset-date-deleted", 4, E, POLICY, "op", "sunset date deleted from a deprecated endpoint"),
        _r("api-stability-decreased", 5, E, POLICY, "op", "stability level decreased"),
        _r("new-request-path-parameter", 6, E, WIRE, "request", "new path parameter"),
        _r("new-required-request-parameter", 7, E, WIRE, "request", "new required query/header parameter"),
        _r("request-parameter-became-required", 8, E, WIRE, "request", "optional parameter became required"),
        _r("request-parameter-removed", 9, W, WIRE, "request", "parameter removed"),
        _r("request-parameter-type-changed", 10, E, WIRE, "request", "parameter type changed", "FIELD_SAME_TYPE"),
        _r("request-parameter-became-enum", 11, E, WIRE, "request", "parameter became an enum"),
        _r("request-parameter-enum-value-removed", 11, E, WIRE, "request", "parameter enum value removed"),
        _r(
            "request-parameter-default-value-changed",
            12,
            E,
            WIRE,
            "request",
            "parameter default added, changed or removed",
            "FIELD_SAME_DEFAULT",
        ),
        _r("request-body-added-required", 13, E, WIRE, "request", "required request body added"),
        _r("request-body-became-required", 13, E, WIRE, "request", "optional request body became required"),
        _r(
            "new-required-request-property",
            14,
            E,
            WIRE,
            "request",
            "new required request property",
            "MESSAGE_SAME_REQUIRED_FIELDS",
        ),
        _r("request-property-became-required", 15, E, WIRE, "request", "optional request property became required"),
        _r("request-property-type-changed", 16, E, WIRE, "request", "request property type changed", "FIELD_SAME_TYPE"),
        _r("request-property-became-not-nullable", 17, E, WIRE, "request", "request property became non-nullable"),
        _r("request-property-removed", 18, W, WIRE, "request", "request property removed", "FIELD_NO_DELETE"),
        _r(
            "request-property-enum-value-removed",
            19,
            E,
            WIRE,
            "request",
            "request enum value removed",
            "ENUM_VALUE_NO_DELETE",
        ),
        _r("request-property-became-enum", 20, E, WIRE, "request", "request property became an enum"),
        _r(
            "request-property-max-decreased", 21, E, WIRE, "request", "request maximum / maxLength / maxItems decreased"
        ),
        _r(
            "request-property-min-increased", 22, E, WIRE, "request", "request minimum / minLength / minItems increased"
        ),
        _r("request-property-max-set", 23, W, WIRE, "request", "request maximum set where none existed"),
        _r("request-property-pattern-added", 24, W, WIRE, "request", "request pattern added"),
        _r("request-property-pattern-changed", 24, W, WIRE, "request", "request pattern changed"),
        _r("request-property-one-of-removed", 25, E, WIRE, "request", "request union option removed"),
        _r("request-property-all-of-added", 25, E, WIRE, "request", "request intersection part added"),
        _r("request-body-media-type-removed", 26, E, WIRE, "request", "request media type removed"),
        _r("response-success-status-removed", 27, E, WIRE, "response", "success status code removed"),
        _r("response-media-type-removed", 28, E, WIRE, "response", "response media type removed"),
        _r("response-required-property-removed", 29, E, WIRE, "response", "required response property removed"),
        _r("response-optional-property-removed", 30, W, WIRE, "response", "optional response property removed"),
        _r("response-property-became-optional", 31, E, WIRE, "response", "required response property became optional"),
        _r("response-property-became-nullable", 32, E, WIRE, "response", "response property became nullable"),
        _r(
            "response-property-type-changed",
            33,
            E,
            WIRE,
            "response",
            "response property type changed",
            "FIELD_SAME_TYPE",
        ),
        _r("response-property-enum-value-added", 34, W, WIRE, "response", "response enum value added"),
        _r("response-property-one-of-added", 35, E, WIRE, "response", "response union option added"),
        _r("response-property-max-increased", 36, E, WIRE, "response", "response maximum increased or unset"),
        _r("response-property-min-decreased", 36, E, WIRE, "response", "response minimum decreased or unset"),
        _r("required-response-header-removed", 37, E, WIRE, "response", "required response header removed"),
        _r("response-header-became-optional", 37, E, WIRE, "response", "response header became optional"),
        _r("optional-response-header-removed", 38, W, WIRE, "response", "optional response header removed"),
        _r(
            "property-wire-name-changed",
            39,
            E,
            WIRE,
            "request",
            "wire name changed (rename / JSON alias)",
            "FIELD_SAME_NAME / FIELD_SAME_JSON_NAME",
        ),
        _r("enum-member-renamed", 40, E, SDK, "sdk", "enum member renamed (same wire value)", "ENUM_VALUE_SAME_NAME"),
        _r(
            "property-cardinality-changed",
            41,
            E,
            WIRE,
            "request",
            "scalar became list or list became scalar",
            "FIELD_SAME_CARDINALITY",
        ),
        _r("property-one-of-changed", 42, E, WIRE, "request", "field moved into or out of a union", "FIELD_SAME_ONEOF"),
        _r("request-type-swapped", 43, E, WIRE, "request", "request model swapped", "RPC_SAME_REQUEST_TYPE"),
        _r("response-type-swapped", 43, E, WIRE, "response", "response model swapped", "RPC_SAME_RESPONSE_TYPE"),
        _r(
            "api-streaming-changed",
            44,
            E,
            WIRE,
            "op",
            "streaming changed",
            "RPC_SAME_CLIENT_STREAMING / RPC_SAME_SERVER_STREAMING",
        ),
        _r("api-method-changed", 45, E, WIRE, "op", "HTTP method (idempotency) changed", "RPC_SAME_IDEMPOTENCY_LEVEL"),
        _r(
            "sdk-operation-renamed",
            46,
            E,
            SDK,
            "sdk",
            "handler or module renamed or moved",
            "FILE_SAME_PACKAGE / PACKAGE_NO_DELETE",
        ),
        _r("api-security-added", 47, W, WIRE, "op", "security / roles requirement added"),
        # safe verdicts: reported at INFO so a changelog can list them, never breaking
        _r("endpoint-added", 0, I, WIRE, "op", "endpoint added"),
        _r("api-deprecated", 0, I, POLICY, "op", "endpoint deprecated"),
        _r("api-removed-after-sunset", 0, I, POLICY, "op", "deprecated endpoint removed after its sunset date"),
        _r("api-deprecated-removed", 0, I, POLICY, "op", "deprecated endpoint (no sunset) removed"),
        _r("api-stability-increased", 0, I, POLICY, "op", "stability level raised"),
        _r("request-parameter-added", 0, I, WIRE, "request", "optional parameter added"),
        _r("request-property-added", 0, I, WIRE, "request", "optional request property added"),
        _r("request-property-became-optional", 0, I, WIRE, "request", "request property became optional"),
        _r("request-property-enum-value-added", 0, I, WIRE, "request", "request enum value added"),
        _r("request-property-type-widened", 0, I, WIRE, "request", "request type widened"),
        _r("request-property-limit-loosened", 0, I, WIRE, "request", "request limit loosened"),
        _r("request-property-pattern-removed", 0, I, WIRE, "request", "request pattern removed or made `.*`"),
        _r("request-media-type-added", 0, I, WIRE, "request", "request media type added"),
        _r("response-property-added", 0, I, WIRE, "response", "response property added"),
        _r("response-property-became-required", 0, I, WIRE, "response", "response property became required"),
        _r("response-property-type-narrowed", 0, I, WIRE, "response", "response type narrowed"),
        _r("response-media-type-added", 0, I, WIRE, "response", "response media type added"),
        _r("response-success-status-added", 0, I, WIRE, "response", "success status code added"),
        _r("sdk-type-renamed", 0, W, SDK, "sdk", "named type renamed, same wire shape"),
    ]
)


@dataclass(frozen=True)
class Finding:
    """One classified change of one handler's contract."""

    rule: str
    level: Level
    category: Category
    handler: str
    side: Side
    path: str  # JSON path of the change: `request.body.items[].qty`
    old: JsonValue
    new: JsonValue
    source: SourceRef  # in the new tree; the old one for removals
    message: str
    accepted: str | None = None  # the reason of the acceptance that covers it
    in_old: bool = False  # `source` is in the old tree (the change removed what it points at)

    @property
    def sort_key(self) -> tuple[str, int, str, str]:
        return (self.handler, _SIDE_ORDER[self.side], self.path, self.rule)

    def to_json(self) -> dict[str, JsonValue]:
        return {
            "rule": self.rule,
            "level": self.level.value,
            "category": self.category.value,
            "handler": self.handler,
            "side": self.side,
            "path": self.path,
            "old": self.old,
            "new": self.new,
            "file": self.source.file,
            "line": self.source.line,
            "message": self.message,
            "accepted": self.accepted,
            "tree": "old" if self.in_old else "new",
        }


_SIDE_ORDER: Final[dict[str, int]] = {"op": 0, "request": 1, "response": 2, "sdk": 3}
