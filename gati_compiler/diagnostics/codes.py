"""The registry of diagnostic codes; codes are API and are never reused or renumbered.

Ranges: GATI0xx config/CLI, 1xx discover and parse, 2xx resolve, 3xx IR semantics,
4xx emit, 5xx runtime, 7xx Timescape, 9xx internal. Each code registers itself in `REGISTRY` on construction.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from gati_compiler.diagnostics.model import Severity
from gati_compiler.version import DOCS_BASE_URL

REGISTRY: Final[dict[str, DiagnosticCode]] = {}
# absolute, so SARIF viewers and editors can open it (`helpUri`); the anchor is the code in lower case
DOCS_URL: Final = f"{DOCS_BASE_URL}diagnostics.md#"


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
DEPLOY_MEMORY_STATE: Final = DiagnosticCode(
    "GATI006",
    "deploy-memory-state",
    "the deploy bundle runs several replicas on the memory state backend",
    Severity.WARNING,
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
    "GATI113", "module-declaration", "a module class is declared without an id or with bad options"
)
RUNTIME_DEPENDENCY: Final = DiagnosticCode(
    "GATI120",
    "runtime-dependency",
    "a type needs a package at run time that is not installed where gati runs",
    Severity.WARNING,
)
SECRET_NAME_INVALID: Final = DiagnosticCode(
    "GATI130", "secret-name-invalid", "a `secrets=` entry is not a secret name (letters, digits, `_`, `.`, `-`)"
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
SECRET_UNDECLARED: Final = DiagnosticCode(
    "GATI330", "secret-undeclared", "a handler reads a secret its `secrets=` does not declare"
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
NO_BUILD: Final = DiagnosticCode(
    "GATI404",
    "no-build",
    "there is no build folder to compare, so `gatic check` checked the sources alone",
    Severity.INFO,
)

# 7xx: Timescape (versions and the lock)
LOCK_SYNTAX: Final = DiagnosticCode("GATI701", "lock-syntax", "the Timescape lock (`timescape.lock`) is not valid JSON")
LOCK_CONFLICT: Final = DiagnosticCode(
    "GATI702", "lock-conflict", "the Timescape lock holds unresolved git conflict markers"
)
LOCK_FORMAT: Final = DiagnosticCode(
    "GATI703", "lock-format", "the Timescape lock is not a gati lock, or its format version is not supported"
)
LOCK_SCHEMA: Final = DiagnosticCode(
    "GATI704", "lock-schema", "a value in the Timescape lock is missing or has the wrong type or form"
)
LOCK_HASH_MISMATCH: Final = DiagnosticCode(
    "GATI705", "lock-hash-mismatch", "a stored object in the Timescape lock does not match its content hash"
)
LOCK_DANGLING_REF: Final = DiagnosticCode(
    "GATI706", "lock-dangling-ref", "the Timescape lock refers to a contract or type it does not store"
)
LOCK_VERSIONS_INVALID: Final = DiagnosticCode(
    "GATI707",
    "lock-versions-invalid",
    "the lock's versions are out of order, duplicated, or have inconsistent tags, labels or status",
)
LOCK_UNREADABLE: Final = DiagnosticCode("GATI708", "lock-unreadable", "the Timescape lock cannot be read as UTF-8 text")
LOCK_APP_MISMATCH: Final = DiagnosticCode(
    "GATI709", "lock-app-mismatch", "the Timescape lock was recorded for another app", Severity.WARNING
)
VERSION_RECORDED: Final = DiagnosticCode(
    "GATI710", "version-recorded", "a build recorded a new version because `auto_record` is on", Severity.INFO
)

# 720-749: Timescape (versions, breaking changes, `gatic diff` / `check --against`)
TS_NOT_A_REPO: Final = DiagnosticCode(
    "GATI720", "timescape-not-a-repo", "a git ref was named (`--against`, `--from`, `--to`) outside a git repository"
)
TS_BAD_REF: Final = DiagnosticCode("GATI721", "timescape-bad-ref", "a git ref does not name a commit")
TS_GIT_FAILED: Final = DiagnosticCode("GATI722", "timescape-git-failed", "git could not be run or failed")
TS_ACCEPT_EXPIRED: Final = DiagnosticCode(
    "GATI723", "timescape-accept-expired", "an accepted break in `[[tool.gati.timescape.accept]]` has expired"
)
TS_ACCEPT_UNKNOWN_RULE: Final = DiagnosticCode(
    "GATI724", "timescape-accept-unknown-rule", "an accepted break names a rule the diff engine does not know"
)
TS_ACCEPT_UNUSED: Final = DiagnosticCode(
    "GATI725",
    "timescape-accept-unused",
    "an accepted break matches no finding; it can be removed",
    Severity.WARNING,
)
TS_BASE_BROKEN: Final = DiagnosticCode(
    "GATI726", "timescape-base-broken", "the sources at the ref compared against do not analyse cleanly"
)
TS_BREAKING_CHANGE: Final = DiagnosticCode(
    "GATI727", "timescape-breaking-change", "the contract changed in a way existing clients notice"
)
TS_NO_VERSION: Final = DiagnosticCode(
    "GATI728", "timescape-no-version", "there is no recorded version for `gatic diff` to start from"
)
# 740-744: `gatic check` runs the transformers on generated values
TS_TRANSFORMER_RAISED: Final = DiagnosticCode(
    "GATI740", "transformer-raised", "a transformer raised on a valid value of the shape it converts from"
)
TS_TRANSFORMER_INVALID: Final = DiagnosticCode(
    "GATI741", "transformer-invalid-result", "a transformer's result does not match the version it converts to"
)
TS_TRANSFORMER_UNVERIFIED: Final = DiagnosticCode(
    "GATI742", "transformer-unverified", "a transformer could not be run to verify it (import failure, crash, timeout)"
)
TRANSFORMER_MARKER: Final = DiagnosticCode(
    "GATI730",
    "transformer-marker-invalid",
    "a transformer marker does not name its handler and version as two string literals",
)
TRANSFORMER_MISPLACED: Final = DiagnosticCode(
    "GATI731", "transformer-misplaced", "a transformer marker decorates a method or a nested function"
)
TRANSFORMER_UNKNOWN_HANDLER: Final = DiagnosticCode(
    "GATI732", "transformer-unknown-handler", "a transformer names a handler id the working tree does not have"
)
TRANSFORMER_UNKNOWN_VERSION: Final = DiagnosticCode(
    "GATI733", "transformer-unknown-version", "a transformer names a version the Timescape lock does not know"
)
TRANSFORMER_NO_STEP: Final = DiagnosticCode(
    "GATI734", "transformer-no-step", "a transformer names a version after which its handler did not change"
)
TRANSFORMER_DUPLICATE: Final = DiagnosticCode(
    "GATI735", "transformer-duplicate", "two transformers of one kind bridge the same step"
)
TRANSFORMER_WRONG_SHAPE: Final = DiagnosticCode(
    "GATI736",
    "transformer-wrong-shape",
    "a transformer's annotations are not the generated types of its step",
)
TRANSFORMER_MISSING: Final = DiagnosticCode(
    "GATI737",
    "transformer-missing",
    "a breaking change has no transformer, or only a stub, on a side it breaks",
)

# module call policies (numbered in the range reserved for them next to the 7xx codes)
MODULE_RETRY_NOT_IDEMPOTENT: Final = DiagnosticCode(
    "GATI738",
    "module-retry-not-idempotent",
    "a module method declares retries but is not marked idempotent, so it is never retried",
    Severity.WARNING,
)
MODULE_METHOD_SYNC: Final = DiagnosticCode(
    "GATI739",
    "module-method-sync",
    "a method of an out-of-process module (`command=`) is not `async def`",
)

# pub/sub topics (issue 15's 74x block)
TOPIC_DECLARATION: Final = DiagnosticCode(
    "GATI745",
    "topic-declaration",
    "a `topic(...)` declaration has no string-literal name or no usable message type",
)
TOPIC_CONFLICT: Final = DiagnosticCode(
    "GATI746", "topic-conflict", "two `topic(...)` declarations give one topic name different message types"
)

# 9xx: internal
INTERNAL_ERROR: Final = DiagnosticCode("GATI900", "internal-error", "gati itself failed; this is a gati bug")


def get_code(code_id: str) -> DiagnosticCode:
    """Return the registered code `code_id`; raises `KeyError` for an unknown one."""
    return REGISTRY[code_id]
