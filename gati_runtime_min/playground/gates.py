"""Debug gates: pause a request before or after a hook or its handler, look at its state, edit it,
then resume or abort it.

A `Gate` names where (`when` `"before"`/`"after"`, `target` `"handler"` or a hook id, optionally
one `handler_id`) and, with a `Condition`, on which requests (a JSON path into the request's
`body`, `query`, `params`, `headers` or `lctx` `state`, an operator and a value). The recorder calls
`Gates.check` at each step while a gate is armed; a match takes a snapshot and waits, on an
asyncio future, for `resume` or `abort`, never longer than the gate's timeout (or the settings'
`gate_timeout`). Only that request waits: other requests, and other paused ones, go on.

Aborting answers the request 503 (GATI550); a timeout resumes it unchanged, or with
`on_timeout="abort"` answers 504 (GATI551). A pause also counts against the route's own timeout.
"""

from __future__ import annotations

import asyncio
import builtins
import dataclasses
import datetime as dt
import re
import time
import uuid
from collections.abc import Mapping, Sequence
from decimal import Decimal
from enum import Enum
from typing import Any, Final

import orjson

from gati_runtime_min.context import LocalContext
from gati_runtime_min.errors import GatiError
from gati_runtime_min.messages import Request
from gati_runtime_min.playground.snapshot import Redactor, StateSnapshot, child_path, decode, take
from gati_runtime_min.playground.trace import Span, Trace
from gati_runtime_min.secrets import Secret

OPS: Final = ("eq", "ne", "gt", "ge", "lt", "le", "exists", "contains", "matches")
ROOTS: Final = ("body", "query", "params", "headers", "state")
WHEN: Final = ("before", "after")
ON_TIMEOUT: Final = ("resume", "abort")
_KEYS: Final = ("id", "when", "target", "handlerId", "condition", "timeout", "onTimeout")
_ALIASES: Final = {"handler_id": "handlerId", "on_timeout": "onTimeout"}
_STEP: Final = re.compile(r"\.([^.\[\]]+)|\[(-?\d+)\]|\[(\"(?:[^\"\\]|\\.)*\"|'[^']*')\]")
_MISSING: Final[Any] = object()


def parse_path(path: str) -> tuple[str | int, ...]:
    """`$.body.items[0]["sku"]` -> ("body", "items", 0, "sku"); ValueError when it does not read."""
    if not isinstance(path, str) or not path.startswith("$"):
        raise ValueError(f"condition path {path!r} does not start with `$`")
    parts: list[str | int] = []
    pos = 1
    while pos < len(path):
        m = _STEP.match(path, pos)
        if m is None:
            raise ValueError(f'condition path {path!r}: cannot read {path[pos:]!r} (use .name, [0] or ["name"])')
        name, index, quoted = m.groups()
        if name is not None:
            parts.append(name)
        elif index is not None:
            parts.append(int(index))
        else:
            parts.append(orjson.loads(quoted) if quoted[0] == '"' else quoted[1:-1])
        pos = m.end()
    if not parts or parts[0] not in ROOTS:
        raise ValueError(f"condition path {path!r} must start with $.{', $.'.join(ROOTS)}")
    return tuple(parts)


def _step(obj: Any, key: str | int) -> Any:
    """One step into a decoded value: a mapping's key, a sequence's index, a model's or dataclass's field."""
    if isinstance(obj, Mapping):
        value = obj.get(key, _MISSING)
        return obj.get(str(key), _MISSING) if value is _MISSING and isinstance(key, int) else value
    if isinstance(key, int):
        if isinstance(obj, Sequence) and not isinstance(obj, str | bytes) and -len(obj) <= key < len(obj):
            return obj[key]
        return _MISSING
    if key.startswith("_") or isinstance(obj, str | bytes | int | float | Secret) or obj is None:
        return _MISSING
    return getattr(obj, key, _MISSING)


def _comparable(actual: Any, value: Any) -> Any:
    if isinstance(actual, Enum):
        actual = actual.value
    if isinstance(value, str) and isinstance(actual, dt.date | dt.time):
        return actual.isoformat()
    if isinstance(value, str) and isinstance(actual, uuid.UUID | Decimal):
        return str(actual)
    return actual


def _number(v: Any) -> bool:
    return isinstance(v, int | float | Decimal) and not isinstance(v, bool)


@dataclasses.dataclass(frozen=True)
class Condition:
    """`path` (`$.body.quantity`, `$.state.user.role`, `$.headers["x-tenant"]`), `op` and `value`.

    `eq`/`ne` compare (an enum by its value, a date, UUID or decimal as its string when `value` is
    one); `gt`/`ge`/`lt`/`le` compare numbers with numbers and strings with strings (otherwise no
    match); `contains`: a substring, a list member or a mapping key; `matches`: `re.search` of
    `value` on a string; `exists`: the path is there (`value` false: it is not). A path that is not
    there matches nothing but `exists` false. A `Secret` never matches."""

    path: str
    op: str = "exists"
    value: Any = None
    parts: tuple[str | int, ...] = dataclasses.field(init=False, repr=False, compare=False)
    regex: re.Pattern[str] | None = dataclasses.field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "parts", parse_path(self.path))
        if self.op not in OPS:
            raise ValueError(f"condition op {self.op!r} is not one of {', '.join(OPS)}")
        regex = None
        if self.op in ("gt", "ge", "lt", "le") and not (_number(self.value) or isinstance(self.value, str)):
            raise ValueError(f"condition op {self.op!r} compares with a number or a string, not {self.value!r}")
        if self.op == "matches":
            if not isinstance(self.value, str):
                raise ValueError(f"condition op 'matches' needs a regular expression string, not {self.value!r}")
            try:
                regex = re.compile(self.value)
            except re.error as exc:
                raise ValueError(f"condition regular expression {self.value!r}: {exc}") from None
        if self.op == "exists" and self.value is not None and not isinstance(self.value, bool):
            raise ValueError(f"condition op 'exists' takes true, false or no value, not {self.value!r}")
        object.__setattr__(self, "regex", regex)

    def lookup(self, req: Request[Any, Any, Any], lctx: LocalContext) -> Any:
        root, *rest = self.parts
        obj: Any
        if root == "headers":
            if not rest:
                return req.headers
            first, *rest = rest
            obj = req.headers.get(str(first).lower(), _MISSING)
        else:
            obj = {"body": req.body, "query": req.query, "params": req.params, "state": lctx._state or {}}[str(root)]
        for key in rest:
            if obj is _MISSING:
                break
            obj = _step(obj, key)
        return obj

    def matches(self, req: Request[Any, Any, Any], lctx: LocalContext) -> bool:
        actual = self.lookup(req, lctx)
        op, value = self.op, self.value
        if op == "exists":
            return (actual is not _MISSING) is (value is not False)
        if actual is _MISSING or isinstance(actual, Secret):
            return False
        actual = _comparable(actual, value)
        if op in ("eq", "ne"):
            same = actual == value and isinstance(actual, bool) is isinstance(value, bool)
            return same if op == "eq" else not same
        if op == "contains":
            if isinstance(actual, str):
                return isinstance(value, str) and value in actual
            if isinstance(actual, Mapping | Sequence | set | frozenset) and not isinstance(actual, bytes):
                return value in actual
            return False
        if op == "matches":
            return isinstance(actual, str) and self.regex is not None and self.regex.search(actual) is not None
        if not ((_number(actual) and _number(value)) or (isinstance(actual, str) and isinstance(value, str))):
            return False
        if op == "gt":
            return bool(actual > value)
        if op == "ge":
            return bool(actual >= value)
        if op == "lt":
            return bool(actual < value)
        return bool(actual <= value)

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "op": self.op, "value": self.value}

    @classmethod
    def from_json(cls, data: Any) -> Condition:
        if not isinstance(data, Mapping):
            raise ValueError(f"a gate's condition is an object {{path, op, value}}, not {data!r}")
        unknown = sorted(set(data) - {"path", "op", "value"})
        if unknown:
            raise ValueError(f"condition: unknown key {unknown[0]!r} (expected path, op, value)")
        if "path" not in data:
            raise ValueError("condition: `path` is required")
        return cls(data["path"], data.get("op", "exists"), data.get("value"))


@dataclasses.dataclass(frozen=True)
class Gate:
    """Where a request pauses: `when` ("before"/"after") `target` ("handler", or a hook: its id
    `package.module:function` or the function's name alone), on one handler's routes
    (`handler_id`) or every route (None), when `condition` holds (None: always).
    `timeout` None: the settings' `gate_timeout`. `on_timeout`: "resume" or "abort" (GATI551)."""

    id: str
    when: str
    target: str
    handler_id: str | None = None
    condition: Condition | None = None
    timeout: float | None = None
    on_timeout: str = "resume"

    def __post_init__(self) -> None:
        if not isinstance(self.id, str):
            raise ValueError(f"gate id {self.id!r} is not a string")
        if self.when not in WHEN:
            raise ValueError(f"gate {self.id!r}: `when` is 'before' or 'after', not {self.when!r}")
        if not isinstance(self.target, str) or not self.target:
            raise ValueError(f"gate {self.id!r}: `target` is 'handler' or a hook id, not {self.target!r}")
        if self.handler_id is not None and (not isinstance(self.handler_id, str) or not self.handler_id):
            raise ValueError(f"gate {self.id!r}: `handlerId` is a handler id or null, not {self.handler_id!r}")
        t: Any = self.timeout
        if t is not None and not (_number(t) and 0 < t < float("inf")):
            raise ValueError(f"gate {self.id!r}: `timeout` is a positive number of seconds or null, not {t!r}")
        if self.on_timeout not in ON_TIMEOUT:
            raise ValueError(f"gate {self.id!r}: `onTimeout` is 'resume' or 'abort', not {self.on_timeout!r}")
        if self.condition is not None and not isinstance(self.condition, Condition):
            raise ValueError(f"gate {self.id!r}: `condition` is a Condition")

    @property
    def position(self) -> str:
        return f"{self.when} handler" if self.target == "handler" else f"{self.when} hook {self.target}"

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "when": self.when,
            "target": self.target,
            "handlerId": self.handler_id,
            "condition": None if self.condition is None else self.condition.to_json(),
            "timeout": self.timeout,
            "onTimeout": self.on_timeout,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Gate:
        """From the JSON form (`handler_id`/`on_timeout` are accepted too); `id` may be left out
        (then `Gates.add` names it). ValueError with what is wrong."""
        if not isinstance(data, Mapping):
            raise ValueError(f"a gate is a JSON object, not {type(data).__name__}")
        d = {_ALIASES.get(k, k): v for k, v in data.items()}
        unknown = sorted(str(k) for k in set(d) - set(_KEYS))
        if unknown:
            raise ValueError(f"gate: unknown key {unknown[0]!r} (expected {', '.join(_KEYS)})")
        for key in ("when", "target"):
            if key not in d:
                raise ValueError(f"gate: `{key}` is required")
        condition = d.get("condition")
        timeout: Any = d.get("timeout")
        return cls(
            id=d.get("id") or "",
            when=d["when"],
            target=d["target"],
            handler_id=d.get("handlerId"),
            condition=None if condition is None else Condition.from_json(condition),
            timeout=float(timeout) if _number(timeout) else timeout,
            on_timeout=d.get("onTimeout", "resume"),
        )


class Paused:
    """A request waiting at a gate."""

    __slots__ = ("_future", "_lctx", "_loop", "gate", "handler_id", "id", "position", "request_id", "since",
                 "snapshot", "timeout")  # fmt: skip

    def __init__(
        self, id: str, gate: Gate, handler_id: str, position: str, snapshot: StateSnapshot, timeout: float,
        lctx: LocalContext, future: asyncio.Future[tuple[str, dict[str, Any] | None]],
    ) -> None:  # fmt: skip
        self.id = id
        self.request_id = snapshot.request_id
        self.handler_id = handler_id
        self.gate = gate
        self.position = position
        self.since = time.time()
        self.snapshot = snapshot
        self.timeout = timeout
        self._lctx = lctx
        self._future = future
        self._loop = future.get_loop()

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "requestId": self.request_id,
            "handlerId": self.handler_id,
            "gate": self.gate.to_json(),
            "position": self.position,
            "since": self.since,
            "timeoutAt": self.since + self.timeout,
            "snapshot": self.snapshot.to_json(),
        }

    def settle(self, action: str, state: dict[str, Any] | None) -> bool:
        fut = self._future
        if fut.done():
            return False
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self._loop:
            fut.set_result((action, state))
        else:  # from another thread: the request's loop sets it
            self._loop.call_soon_threadsafe(_settle, fut, (action, state))
        return True


def _settle(fut: asyncio.Future[tuple[str, dict[str, Any] | None]], result: tuple[str, dict[str, Any] | None]) -> None:
    if not fut.done():
        fut.set_result(result)


class Gates:
    """The armed gates and the requests paused at them."""

    def __init__(self, default_timeout: float, redactor: Redactor) -> None:
        self.default_timeout = default_timeout
        self.redactor = redactor
        self.armed = False  # the recorder's one check while no gate is set
        self._gates: dict[str, Gate] = {}
        self._paused: dict[str, Paused] = {}
        self._counts: dict[str, int] = {}

    def _next(self, prefix: str) -> str:
        n = self._counts[prefix] = self._counts.get(prefix, 0) + 1
        return f"{prefix}{n}"

    def add(self, gate: Gate | Mapping[str, Any]) -> Gate:
        """Arm `gate` (a `Gate` or its JSON form; one with the same id is replaced)."""
        g = gate if isinstance(gate, Gate) else Gate.from_json(gate)
        if not g.id:
            g = dataclasses.replace(g, id=self._next("gate-"))
        self._gates[g.id] = g
        self.armed = True
        return g

    def remove(self, gate_id: str) -> bool:
        """Disarm a gate; requests paused at it stay paused until resumed, aborted or timed out."""
        found = self._gates.pop(gate_id, None) is not None
        self.armed = bool(self._gates)
        return found

    def list(self) -> builtins.list[Gate]:
        return builtins.list(self._gates.values())

    def paused(self) -> builtins.list[Paused]:
        return builtins.list(self._paused.values())

    def get(self, pause_id: str) -> Paused | None:
        return self._paused.get(pause_id)

    def match(
        self, when: str, target: str, handler_id: str, req: Request[Any, Any, Any], lctx: LocalContext
    ) -> Gate | None:
        for gate in builtins.list(self._gates.values()):
            if gate.when != when or (gate.target != target and not target.endswith(":" + gate.target)):
                continue
            if gate.handler_id is not None and gate.handler_id != handler_id:
                continue
            if gate.condition is None or gate.condition.matches(req, lctx):
                return gate
        return None

    async def check(
        self,
        when: str,
        target: str,
        handler_id: str,
        req: Request[Any, Any, Any],
        lctx: LocalContext,
        trace: Trace | None,
    ) -> None:
        """Pause here if a gate matches, until `resume`, `abort` (GATI550) or the timeout (resume,
        or GATI551). Only the calling request waits."""
        gate = self.match(when, target, handler_id, req, lctx)
        if gate is None:
            return
        position = f"{when} handler" if target == "handler" else f"{when} hook {target}"
        snapshot = take(position, req, lctx, self.redactor, handler_id)
        timeout = gate.timeout if gate.timeout is not None else self.default_timeout
        future: asyncio.Future[tuple[str, dict[str, Any] | None]] = asyncio.get_running_loop().create_future()
        paused = Paused(self._next("pause-"), gate, handler_id, position, snapshot, timeout, lctx, future)
        span = None
        if trace is not None:
            if not trace.snapshots or trace.snapshots[-1].get("position") != position:
                trace.add_snapshot(snapshot.to_json())
            attributes = {"gati.gate": gate.id, "gati.position": position, "gati.pause": paused.id}
            span = Span(f"gate {gate.id}", time.perf_counter() - trace.t0, trace.current, attributes)
            trace.spans.append(span)
        self._paused[paused.id] = paused
        lctx.event("gate.paused", gate=gate.id, position=position, pause=paused.id)
        try:
            try:
                action, state = await asyncio.wait_for(future, timeout)
            except TimeoutError:
                lctx.event("gate.timeout", gate=gate.id, onTimeout=gate.on_timeout)
                if gate.on_timeout == "abort":
                    error = GatiError("GATI551", f"the request waited {timeout:g}s at gate {gate.id!r} ({position})")
                    if span is not None:
                        span.fail(error)
                    raise error from None
                return
            if action == "abort":
                lctx.event("gate.aborted", gate=gate.id)
                error = GatiError("GATI550", f"the request was aborted at gate {gate.id!r} ({position})")
                if span is not None:
                    span.fail(error)
                raise error
            if state is not None:
                lctx._state = state
                if trace is not None:
                    trace.add_snapshot(take(f"{position} (edited)", req, lctx, self.redactor, handler_id).to_json())
            lctx.event("gate.resumed", gate=gate.id, edited=state is not None)
        finally:
            self._paused.pop(paused.id, None)
            if span is not None:
                span.end = time.perf_counter() - trace.t0 if trace is not None else span.start

    def resume(self, pause_id: str, state: Mapping[str, Any] | None = None) -> bool:
        """Let the paused request go on; with `state` (the typed JSON form, as in the snapshot) its
        `lctx` state is replaced by it first. A key left as the snapshot showed it keeps its value
        (also one kept only as a repr, or redacted); a changed one must be restorable (ValueError
        otherwise, and the request stays paused). False when nothing is paused under that id."""
        paused = self._paused.get(pause_id)
        if paused is None or paused._future.done():
            return False
        new_state = None if state is None else self._state(paused, state)
        return paused.settle("resume", new_state)

    def abort(self, pause_id: str) -> bool:
        """Answer the paused request 503 (GATI550). False when nothing is paused under that id."""
        paused = self._paused.get(pause_id)
        return paused is not None and paused.settle("abort", None)

    @staticmethod
    def _state(paused: Paused, state: Mapping[str, Any]) -> dict[str, Any]:
        if not isinstance(state, Mapping):
            raise ValueError(f"the state is an object of keys, not {type(state).__name__}")
        before = paused.snapshot.state
        live = paused._lctx._state or {}
        out: dict[str, Any] = {}
        for key, form in state.items():
            if not isinstance(key, str):
                raise ValueError(f"state key {key!r} is not a string")
            if key in before and key in live and form == before[key]:
                out[key] = live[key]  # unchanged: the very value it had
            else:
                out[key] = decode(form, child_path("$.state", key))
        return out
