"""Generated apps for the compiler properties: handler declarations as data, rendered to source.

`apps()` draws an `AppSpec` (hooks with their options, handlers with method, path, policies, hooks,
modules, body and response types); `AppSpec.sources()` writes it as Python the way a user would,
and remembers the line each handler and hook is defined on, so a test can state exactly what the
build must record for it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

from hypothesis import strategies as st

CONVERTERS: Final = (None, "str", "int", "uuid", "float", "date")
MODULES: Final = ("db", "mail")
UNITS: Final = {"second": 1, "s": 1, "minute": 60, "min": 60, "hour": 3600, "h": 3600, "day": 86400}
HANDLER_FILE: Final = "app/handlers.py"
HOOK_FILE: Final = "app/hooks.py"
GLOBAL_HOOK_FILE: Final = "app/ghooks.py"


@dataclass(frozen=True)
class HookSpec:
    kind: str  # before | after | catch
    name: str
    is_async: bool
    timeout: float | None
    retries: int
    scope: str = "route"  # route | global

    @property
    def module(self) -> str:
        return "app.ghooks" if self.scope == "global" else "app.hooks"

    @property
    def file(self) -> str:
        return GLOBAL_HOOK_FILE if self.scope == "global" else HOOK_FILE


@dataclass(frozen=True)
class HandlerSpec:
    name: str
    explicit_id: str | None
    method: str
    segments: tuple[str | tuple[str, str | None], ...]  # static text, or (param name, converter)
    roles: tuple[str, ...]
    rate: tuple[int, int | None, str] | None  # limit, count, unit
    timeout: float | None
    modules: tuple[str, ...]
    status: int
    is_async: bool
    body: bool
    response: bool
    before: tuple[str, ...]
    after: tuple[str, ...]
    catch: tuple[str, ...]

    @property
    def handler_id(self) -> str:
        return self.explicit_id or self.name

    @property
    def expected_status(self) -> int:
        """The status written, or by default 200 with a response type and 204 without one."""
        if self.status != 200:
            return self.status
        return 200 if self.response else 204

    @property
    def path(self) -> str:
        parts = []
        for s in self.segments:
            if isinstance(s, str):
                parts.append(s)
            else:
                parts.append("{" + s[0] + (":" + s[1] if s[1] else "") + "}")
        return "/" + "/".join(parts)

    @property
    def path_params(self) -> list[dict[str, str]]:
        return [{"name": s[0], "converter": s[1] or "str"} for s in self.segments if not isinstance(s, str)]

    @property
    def rate_text(self) -> str | None:
        if self.rate is None:
            return None
        limit, count, unit = self.rate
        return f"{limit}/{count} {unit}" if count else f"{limit}/{unit}"

    @property
    def rate_limit(self) -> dict[str, float] | None:
        if self.rate is None:
            return None
        limit, count, unit = self.rate
        return {"limit": limit, "window": (count or 1) * UNITS[unit]}


@dataclass
class AppSpec:
    hooks: tuple[HookSpec, ...]
    handlers: tuple[HandlerSpec, ...]
    lines: dict[str, int] = field(default_factory=dict)  # handler or hook name -> line of its `def`

    def hook(self, name: str) -> HookSpec:
        return next(h for h in self.hooks if h.name == name)

    def sources(self) -> dict[str, str]:
        """The project's files; fills `lines`."""
        return {
            "app/__init__.py": "",
            "app/models.py": MODELS,
            "app/services.py": SERVICES,
            HOOK_FILE: self._hooks("route"),
            GLOBAL_HOOK_FILE: self._hooks("global"),
            HANDLER_FILE: self._handlers(),
        }

    def _hooks(self, scope: str) -> str:
        out = [
            "from __future__ import annotations",
            "",
            "from typing import Any",
            "",
            "from gati_runtime_min import GlobalContext, LocalContext, Request, Response, after, before, catch",
            "",
        ]
        for h in self.hooks:
            if h.scope != scope:
                continue
            options = []
            if h.timeout is not None:
                options.append(f"timeout={h.timeout!r}")
            if h.retries:
                options.append(f"retries={h.retries}")
            out += ["", f"@{h.kind}({', '.join(options)})" if options else f"@{h.kind}"]
            error = "error: Exception, " if h.kind == "catch" else ""
            prefix = "async def" if h.is_async else "def"
            self.lines[h.name] = len(out) + 1
            out += [
                f"{prefix} {h.name}(",
                f"    {error}req: Request[Any], res: Response[Any], lctx: LocalContext, gctx: GlobalContext",
                ") -> None:",
                "    pass",
                "",
            ]
        return "\n".join(out) + "\n"

    def _handlers(self) -> str:
        names = sorted({n for h in self.handlers for n in (*h.before, *h.after, *h.catch)})
        out = [
            "from __future__ import annotations",
            "",
            "from gati_runtime_min import GlobalContext, LocalContext, Request, Response, handler",
            "",
            "from app.models import Body, Out",
        ]
        if names:
            out.append(f"from app.hooks import {', '.join(names)}")
        out.append("")
        for h in self.handlers:
            options = [repr(h.method), repr(h.path)]
            if h.explicit_id:
                options.append(f"id={h.explicit_id!r}")
            if h.roles:
                options.append(f"roles={list(h.roles)!r}")
            if h.rate_text:
                options.append(f"rate_limit={h.rate_text!r}")
            if h.timeout is not None:
                options.append(f"timeout={h.timeout!r}")
            if h.modules:
                options.append(f"modules={list(h.modules)!r}")
            if h.status != 200:
                options.append(f"status={h.status}")
            for kind in ("before", "after", "catch"):
                hooks = getattr(h, kind)
                if hooks:
                    options.append(f"{kind}=[{', '.join(hooks)}]")
            out += ["", f"@handler({', '.join(options)})"]
            prefix = "async def" if h.is_async else "def"
            body = "Body" if h.body else "None"
            response = "Out" if h.response else "None"
            self.lines[h.name] = len(out) + 1
            answer = 'res.json({"id": 0, "name": lctx.meta.path})' if h.response else "res.empty()"
            out += [
                f"{prefix} {h.name}(",
                f"    req: Request[{body}], res: Response[{response}], lctx: LocalContext, gctx: GlobalContext",
                ") -> None:",
                f"    {answer}",
                "",
            ]
        return "\n".join(out) + "\n"


MODELS: Final = """\
from __future__ import annotations

from typing_extensions import TypedDict


class Body(TypedDict):
    name: str
    count: int


class Out(TypedDict):
    id: int
    name: str
"""

SERVICES: Final = """\
from __future__ import annotations

from gati_runtime_min import module


@module("db", capabilities=["db.read"])
class Db:
    async def get(self, key: str) -> int:
        return 1


@module("mail")
class Mail:
    async def send(self, to: str) -> None:
        return None
"""

IDENTS = st.text("abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=6)


@st.composite
def hook_specs(draw: st.DrawFn) -> tuple[HookSpec, ...]:
    count = draw(st.integers(0, 6))
    return tuple(
        HookSpec(
            kind=draw(st.sampled_from(["before", "after", "catch"])),
            name=f"hook{i}",
            is_async=draw(st.booleans()),
            timeout=draw(st.sampled_from([None, 0.5, 1.0, 2.5, 30.0])),
            retries=draw(st.integers(0, 3)),
            scope=draw(st.sampled_from(["route", "route", "global"])),
        )
        for i in range(count)
    )


@st.composite
def handler_spec(draw: st.DrawFn, index: int, hooks: tuple[HookSpec, ...]) -> HandlerSpec:
    method = draw(st.sampled_from(["GET", "POST", "PUT", "PATCH", "DELETE"]))
    segments: list[str | tuple[str, str | None]] = [f"h{index}"]
    for j in range(draw(st.integers(0, 3))):
        if draw(st.booleans()):
            segments.append(draw(st.sampled_from(["a", "b-c", "x.y", "v1"])))
        else:
            segments.append((f"p{j}_{draw(IDENTS)}", draw(st.sampled_from(CONVERTERS))))
    if draw(st.integers(0, 4)) == 0:
        segments.append(("rest", "path"))

    def route_hooks(kind: str) -> tuple[str, ...]:
        pool = [h.name for h in hooks if h.kind == kind and h.scope == "route"]
        return tuple(draw(st.lists(st.sampled_from(pool), unique=True, max_size=3))) if pool else ()

    return HandlerSpec(
        name=f"handler_{index}_{draw(IDENTS)}",
        explicit_id=draw(st.none() | st.just(f"custom.id_{index}")),
        method=method,
        segments=tuple(segments),
        roles=tuple(draw(st.lists(st.sampled_from(["admin", "ops", "billing.read"]), unique=True, max_size=2))),
        rate=draw(
            st.none() | st.tuples(st.integers(1, 10_000), st.none() | st.integers(1, 5), st.sampled_from(sorted(UNITS)))
        ),
        timeout=draw(st.sampled_from([None, 0.25, 1.0, 2.5, 60.0])),
        modules=tuple(draw(st.lists(st.sampled_from(MODULES), unique=True, max_size=2))),
        status=draw(st.sampled_from([200, 201, 202])),
        is_async=draw(st.booleans()),
        body=method in ("POST", "PUT", "PATCH") and draw(st.booleans()),
        response=draw(st.booleans()),
        before=route_hooks("before"),
        after=route_hooks("after"),
        catch=route_hooks("catch"),
    )


@st.composite
def apps(draw: st.DrawFn, max_handlers: int = 4) -> AppSpec:
    hooks = draw(hook_specs())
    count = draw(st.integers(1, max_handlers))
    return AppSpec(hooks=hooks, handlers=tuple(draw(handler_spec(i, hooks)) for i in range(count)))


CONFIG: Final = 'sources = ["."]\nglobal_hooks = ["app.ghooks"]\n'
