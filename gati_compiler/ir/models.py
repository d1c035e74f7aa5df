"""The program IR: what `lower` produces and every emitter consumes.

Input: nothing (data module). Output: frozen pydantic models (`Program`, `Handler`, `Hook`,
`ModuleDecl`, ...). Collections are tuples sorted by a declared key; there is no `Any`.
"""

from __future__ import annotations

from typing import Final, Literal

from pydantic import BaseModel, ConfigDict

from gati_compiler.ir.gtype import GType

IR_VERSION: Final = 1

HookKind = Literal["before", "after", "catch"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class SourceRef(_Frozen):
    """`file` is the POSIX path relative to the project root; `line` is 1-based."""

    file: str
    line: int


class PathParam(_Frozen):
    name: str
    converter: Literal["str", "int", "float", "uuid", "path", "date"]


class RateLimit(_Frozen):
    limit: int
    window: float  # seconds


class Policies(_Frozen):
    roles: tuple[str, ...] = ()
    rateLimit: RateLimit | None = None
    timeout: float | None = None  # seconds


class HookDef(_Frozen):
    """A hook as recorded in a manifest: where it lives and how it runs."""

    id: str  # "<module>:<function>"
    kind: HookKind
    module: str
    function: str
    isAsync: bool
    timeout: float | None = None
    retries: int = 0
    scope: Literal["global", "route"] = "route"
    source: SourceRef


class HandlerGTypes(_Frozen):
    request: GType | None = None
    response: GType | None = None
    params: GType | None = None
    query: GType | None = None
    headers: GType | None = None


class Hooks(_Frozen):
    before: tuple[HookDef, ...] = ()
    after: tuple[HookDef, ...] = ()
    catch: tuple[HookDef, ...] = ()


class Dependencies(_Frozen):
    modules: tuple[str, ...] = ()
    plugins: tuple[str, ...] = ()
    secrets: tuple[str, ...] = ()  # the names `gctx.secrets.get` may read (sorted, unique)


class ResponseHeader(_Frozen):
    """A response header the handler declares (`response_headers=("ETag", "X-Trace?")`)."""

    name: str
    required: bool = True


class Lifecycle(_Frozen):
    """Deprecation, sunset (ISO date) and stability, as declared on the handler decorator."""

    deprecated: bool = False
    sunset: str | None = None
    stability: Literal["alpha", "beta", "stable"] | None = None


class WireDecl(_Frozen):
    """What the decorator declares about the wire beyond the types: response headers, media
    types of the request and response bodies (None: JSON), streaming responses."""

    responseHeaders: tuple[ResponseHeader, ...] = ()
    consumes: tuple[str, ...] | None = None
    produces: tuple[str, ...] | None = None
    streaming: bool = False


class Handler(_Frozen):
    handlerId: str
    method: str
    path: str
    pathParams: tuple[PathParam, ...] = ()
    module: str
    function: str
    isAsync: bool
    summary: str | None = None
    description: str | None = None
    tags: tuple[str, ...] = ()
    status: int = 200
    # other codes the handler sets with `res.status(<literal>)`, sorted; documented in OpenAPI
    otherStatuses: tuple[int, ...] = ()
    gtypes: HandlerGTypes
    hooks: Hooks
    policies: Policies
    dependencies: Dependencies
    fingerprint: str
    timescapeVersion: str | None = None  # the recorded version its current contract was introduced in
    timescapeVersions: tuple[str, ...] | None = None  # the recorded versions it exists in (None: no lock)
    source: SourceRef
    # only set when the decorator declares them, so manifests of other handlers do not change
    lifecycle: Lifecycle | None = None
    wire: WireDecl | None = None


ModuleRuntime = Literal["python", "process"]


class ModuleMethod(_Frozen):
    """A public method of a module: its typed signature and its call policy. Arguments travel by
    name; `optional` names those a caller may leave out. `timeout` (seconds)
    and `retries` are the method's `@method(...)` values, else the module's defaults; the runtime
    retries only `idempotent` methods."""

    name: str
    isAsync: bool
    params: tuple[tuple[str, GType], ...]
    optional: tuple[str, ...] = ()  # the parameters with a default value, in order
    returns: GType
    timeout: float | None = None
    retries: int = 0
    idempotent: bool = False
    description: str | None = None


class ModuleDecl(_Frozen):
    """A `@module` class. `runtime` is `process` when the declaration gives a `command` (argv, run
    with the project root as working directory; the class is then only the typed interface), else
    `python` (the class is the implementation). `pool` is the number of processes (process only)."""

    moduleId: str
    module: str
    className: str
    runtime: ModuleRuntime = "python"
    command: tuple[str, ...] | None = None
    pool: int = 1
    capabilities: tuple[str, ...] = ()
    egress: tuple[str, ...] = ()
    description: str | None = None
    methods: tuple[ModuleMethod, ...] = ()
    source: SourceRef


TransformerKind = Literal["request", "response", "error"]


class TransformerDecl(_Frozen):
    """A Timescape transformer found in the sources: `@upgrade_request(handler, version)` (kind
    `request`), `@downgrade_response(...)` (`response`) or `@downgrade_error(...)` (`error`) on a
    module-level function. `version` is as written (a TSV, tag, label or timestamp); binding it to
    a step of the timeline is `timescape.transformers.bind_transformers`."""

    kind: TransformerKind
    handlerId: str
    version: str
    module: str
    function: str
    params: tuple[str, ...] = ()  # the parameters' annotations as written ("" when none)
    returns: str | None = None  # the return annotation as written
    stub: bool = False  # the body only raises NotImplementedError (what `transformers write` leaves to fill in)
    source: SourceRef


class TopicDecl(_Frozen):
    """A typed pub/sub topic declared at module level: `NAME = topic("orders.placed", OrderPlaced)`.
    `type` is the message type; `module` and `variable` name the `Topic` object the runtime
    attaches the generated check to."""

    name: str
    type: GType
    module: str
    variable: str
    source: SourceRef


class Program(_Frozen):
    """A whole analysed app. `handlers` sorted by (path, method); `gtypes` keys sorted."""

    irVersion: int = IR_VERSION
    app: str
    sourceRoots: tuple[str, ...] = (".",)
    handlers: tuple[Handler, ...] = ()
    modules: tuple[ModuleDecl, ...] = ()
    globalHooks: tuple[HookDef, ...] = ()
    transformers: tuple[TransformerDecl, ...] = ()  # sorted by (handlerId, version, kind)
    topics: tuple[TopicDecl, ...] | None = None  # typed pub/sub topics, sorted by name (None: none)
    gtypes: dict[str, GType] = {}
    # the recorded Timescape version whose public contract is exactly this program's (what the
    # SDKs pin and OpenAPI names); None without a lock, or with changes not recorded yet
    timescapeCurrent: str | None = None
