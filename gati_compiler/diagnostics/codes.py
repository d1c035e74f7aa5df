"""The registry of diagnostic codes; codes are API and are never reused or renumbered.

Ranges: GATI0xx config/CLI, 1xx discover and parse, 2xx resolve, 3xx IR semantics,
4xx emit, 5xx runtime, 9xx internal. Each code registers itself in `REGISTRY` on construction.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from gati_compiler.diagnostics.model import Severity

REGISTRY: Final[dict[str, DiagnosticCode]] = {}
DOCS_URL: Final = "docs/diagnostics.md#"


@dataclass(frozen=True)
class DiagnosticCode:
    id: str
    name: str
    summary: str
    default_severity: Severity = Severity.ERROR
    retired: bool = False

    def __post_init__(self) -> None:
        if self.id in REGISTRY:
            raise ValueError(f"diagnostic code {self.id} registered twice")
        REGISTRY[self.id] = self

    @property
    def url(self) -> str:
        return f"{DOCS_URL}{self.id.lower()}"


# 0xx: configuration and command line
CONFIG_INVALID: Final = DiagnosticCode("GATI001", "config-invalid", "a configuration value has the wrong type or form")
CONFIG_UNKNOWN_KEY: Final = DiagnosticCode(
    "GATI002", "config-unknown-key", "the configuration has a key gati does not know"
)
CONFIG_SYNTAX: Final = DiagnosticCode("GATI003", "config-syntax", "the configuration file is not valid TOML")
SOURCES_MISSING: Final = DiagnosticCode("GATI004", "sources-missing", "a configured source folder does not exist")
CONFIG_DUPLICATE: Final = DiagnosticCode(
    "GATI005", "config-duplicate", "settings are given in both `gati.toml` and `[tool.gati]` of `pyproject.toml`"
)

# 1xx: discover and parse
SYNTAX_ERROR: Final = DiagnosticCode("GATI101", "syntax-error", "a source file does not parse")
FILE_UNREADABLE: Final = DiagnosticCode("GATI102", "file-unreadable", "a source file cannot be read as UTF-8")
HANDLER_ID_INVALID: Final = DiagnosticCode(
    "GATI114", "handler-id-invalid", "a handler id is not a dotted identifier usable as a file and SDK name"
)
HANDLER_SIGNATURE: Final = DiagnosticCode(
    "GATI103", "handler-signature", "a handler does not take `(req, res, lctx, gctx)` or does not return `None`"
)
DECORATOR_ARGUMENT: Final = DiagnosticCode(
    "GATI104", "decorator-argument", "a decorator argument is not a literal gati can read statically, or is unknown"
)
RATE_LIMIT_INVALID: Final = DiagnosticCode(
    "GATI105", "rate-limit-invalid", "a rate limit is not of the form `N/unit` (second, minute, hour, day)"
)
UNKNOWN_CONVERTER: Final = DiagnosticCode("GATI106", "unknown-converter", "a path parameter names an unknown converter")
PATH_INVALID: Final = DiagnosticCode("GATI107", "path-invalid", "a route path is malformed")
HOOK_SIGNATURE: Final = DiagnosticCode("GATI108", "hook-signature", "a hook does not take the arguments of its kind")
MODULE_METHOD_UNTYPED: Final = DiagnosticCode(
    "GATI109", "module-method-untyped", "a module method lacks parameter or return annotations"
)
UNSUPPORTED_ANNOTATION: Final = DiagnosticCode(
    "GATI110", "unsupported-annotation", "an annotation uses a construct that has no GType"
)
METHOD_INVALID: Final = DiagnosticCode("GATI111", "method-invalid", "a handler names an unknown HTTP method")
TIMEOUT_INVALID: Final = DiagnosticCode("GATI112", "timeout-invalid", "a timeout is not a positive number of seconds")
MODULE_DECLARATION: Final = DiagnosticCode(
    "GATI113", "module-declaration", "a module class is declared without an id or with bad capabilities"
)

# 2xx: resolve
UNRESOLVED_NAME: Final = DiagnosticCode("GATI201", "unresolved-name", "a name used in a type cannot be found")
THIRD_PARTY_TYPE: Final = DiagnosticCode(
    "GATI202", "third-party-type", "a type comes from a package gati cannot read statically"
)
ALIAS_CYCLE: Final = DiagnosticCode("GATI203", "alias-cycle", "type aliases refer to each other and never name a type")
UNRESOLVED_HOOK: Final = DiagnosticCode("GATI204", "unresolved-hook", "a route hook does not name a hook function")
GENERIC_ARITY: Final = DiagnosticCode(
    "GATI205", "generic-arity", "a generic type is given the wrong number of type arguments"
)
NOT_A_TYPE: Final = DiagnosticCode("GATI206", "not-a-type", "a name used as a type refers to a value or function")

# 3xx: IR semantics
DUPLICATE_HANDLER_ID: Final = DiagnosticCode("GATI301", "duplicate-handler-id", "two handlers share one id")
ROUTE_CONFLICT: Final = DiagnosticCode("GATI302", "route-conflict", "two handlers serve the same method and path")
PATH_PARAM_MISSING: Final = DiagnosticCode(
    "GATI303", "path-param-missing", "a declared path parameter does not appear in the path"
)
PATH_PARAM_UNKNOWN: Final = DiagnosticCode(
    "GATI304", "path-param-unknown", "a path parameter is used or placed in the path but not declared"
)
FIELD_CONFLICT: Final = DiagnosticCode(
    "GATI305", "field-conflict", "a TypedDict redefines an inherited field with another type"
)
DUPLICATE_MODULE_ID: Final = DiagnosticCode("GATI306", "duplicate-module-id", "two modules share one id")
UNKNOWN_MODULE: Final = DiagnosticCode(
    "GATI307", "unknown-module", "a handler depends on a module no class declares", Severity.WARNING
)
PATH_PARAM_TYPE: Final = DiagnosticCode(
    "GATI308", "path-param-type", "a declared path parameter type disagrees with its converter"
)
QUERY_NOT_OBJECT: Final = DiagnosticCode(
    "GATI309", "query-not-object", "a query type is not an object of scalar or list-of-scalar fields"
)

# 4xx: emit and write
PREVIOUS_BUILD_CORRUPT: Final = DiagnosticCode(
    "GATI401",
    "previous-build-corrupt",
    "the previous build's manifest is unreadable; stale files may remain",
    Severity.WARNING,
)
ARTIFACT_STALE: Final = DiagnosticCode(
    "GATI402", "artifact-stale", "a build artifact on disk differs from what the sources produce"
)
BUILD_CACHE_CORRUPT: Final = DiagnosticCode(
    "GATI403",
    "build-cache-corrupt",
    "the build cache is unreadable, truncated, corrupt or from another gati; the build ran in full",
    Severity.WARNING,
)

# 9xx: internal
INTERNAL_ERROR: Final = DiagnosticCode("GATI900", "internal-error", "gati itself failed; this is a gati bug")


def get_code(code_id: str) -> DiagnosticCode:
    """Return the registered code `code_id`; raises `KeyError` for an unknown one."""
    return REGISTRY[code_id]
