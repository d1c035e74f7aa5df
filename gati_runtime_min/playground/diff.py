"""What differs between two answers (`diff_json`) and between two runs' steps (`diff_traces`).

`diff_json` compares JSON values structurally: objects key by key, arrays index by index (an
array that grew has its new items `added` at their index, one that shrank its old ones `removed`),
and anything else by value; a value whose JSON type changed (a number that became a string, an
object that became null) is one `changed` at its path, not a walk inside. Paths are JSON paths
from the root, `$.books[0].title`, with `$["a key"]` for a key that is not a plain name, so each
path names one place and the changes of one diff have distinct paths.

`diff_traces` lines up the steps two runs took (hooks, decoders, the handler, the encoder,
transformers, module calls: their span names) and gives each one's duration on both sides, so a
step one run took and the other did not, or one that failed on one side only, stands out.
"""

from __future__ import annotations

from dataclasses import dataclass
from difflib import SequenceMatcher
from typing import TYPE_CHECKING, Any, Final, Literal

import orjson

from gati_runtime_min.playground.jsonform import child_path

if TYPE_CHECKING:
    from gati_runtime_min.playground.trace import Span, Trace

Op = Literal["added", "removed", "changed"]
# the spans that are steps of the request (not the server span around them, nor `route`)
STEP_PREFIXES: Final = ("hook ", "handler ", "transformer ", "decode ", "encode ", "module ")
_MISSING: Final[Any] = object()


@dataclass(frozen=True, slots=True)
class Change:
    """One difference: at `path`, `old` became `new` (`added`: no `old`; `removed`: no `new`)."""

    op: Op
    path: str
    old: Any = None
    new: Any = None

    def to_json(self) -> dict[str, Any]:
        return {"op": self.op, "path": self.path, "old": self.old, "new": self.new}

    def render(self) -> str:
        """One line: `~ $.a: 1 -> 2`, `+ $.b: 3`, `- $.c: 4`."""
        if self.op == "added":
            return f"+ {self.path}: {_short(self.new)}"
        if self.op == "removed":
            return f"- {self.path}: {_short(self.old)}"
        return f"~ {self.path}: {_short(self.old)} -> {_short(self.new)}"


def _short(value: Any, limit: int = 120) -> str:
    text = orjson.dumps(value, default=str).decode()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _kind(value: Any) -> str:
    """The JSON type of a value (`bool` is not a number, `int` and `float` are one)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list | tuple):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def diff_json(old: Any, new: Any, path: str = "$") -> list[Change]:
    """The changes that turn `old` into `new`, in document order; `[]` when they are equal."""
    out: list[Change] = []
    _diff(old, new, path, out)
    return out


def _diff(old: Any, new: Any, path: str, out: list[Change]) -> None:
    kind = _kind(old)
    if kind != _kind(new):
        out.append(Change("changed", path, old, new))
    elif kind == "object":
        for key, value in old.items():
            where = child_path(path, str(key))
            if key in new:
                _diff(value, new[key], where, out)
            else:
                out.append(Change("removed", where, old=value))
        for key, value in new.items():
            if key not in old:
                out.append(Change("added", child_path(path, str(key)), new=value))
    elif kind == "array":
        common = min(len(old), len(new))
        for i in range(common):
            _diff(old[i], new[i], child_path(path, i), out)
        for i in range(common, len(old)):
            out.append(Change("removed", child_path(path, i), old=old[i]))
        for i in range(common, len(new)):
            out.append(Change("added", child_path(path, i), new=new[i]))
    elif old != new:
        out.append(Change("changed", path, old, new))


def steps(trace: Trace) -> list[Span]:
    """The spans of `trace` that are steps of the request, in the order they started."""
    return sorted((s for s in trace.spans if s.name.startswith(STEP_PREFIXES)), key=lambda s: s.start)


def _ms(span: Span) -> float:
    return round((span.end - span.start) * 1000, 3)


def diff_traces(left: Trace, right: Trace) -> list[dict[str, Any]]:
    """The two runs' steps lined up by name: one row per step with `side` (`both`, `left`,
    `right`), the duration (`leftMs`/`rightMs`, None on the side without it), each side's span
    status, and `changed` when the step is on one side only or failed on one side only."""
    a, b = steps(left), steps(right)
    rows: list[dict[str, Any]] = []

    def row(x: Span | None, y: Span | None) -> None:
        name = x.name if x is not None else y.name if y is not None else ""
        side = "both" if x is not None and y is not None else "left" if x is not None else "right"
        rows.append(
            {
                "step": name,
                "side": side,
                "leftMs": None if x is None else _ms(x),
                "rightMs": None if y is None else _ms(y),
                "leftStatus": None if x is None else x.status,
                "rightStatus": None if y is None else y.status,
                "changed": side != "both" or (x is not None and y is not None and x.status != y.status),
            }
        )

    matcher = SequenceMatcher(None, [s.name for s in a], [s.name for s in b], autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            for x, y in zip(a[i1:i2], b[j1:j2], strict=True):
                row(x, y)
        else:  # a step replaced by another is one left, one right: the names differ
            for x in a[i1:i2]:
                row(x, None)
            for y in b[j1:j2]:
                row(None, y)
    return rows
