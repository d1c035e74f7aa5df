"""The bounded `TraceStore` that keeps the playground's traces (`trace.py`).

The store keeps the newest `capacity` traces in memory; with a `path` it also appends each one to
a JSON Lines file (written in batches, flushed by `flush()` and at `close()`), which `load`
reads back, for `gatic replay` and for the page after a restart. A line that does not parse is
reported (`TraceFileError` names the file and line), never skipped in silence.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import orjson

from gati_runtime_min.playground.trace import Trace

__all__ = ["TraceFileError", "TraceStore", "read_traces"]


class TraceFileError(Exception):
    """A trace file that cannot be read: its path, the line, and why."""


class TraceStore:
    """The newest `capacity` traces by request id, and (with `path`) a JSON Lines file of all of them.

    Safe to use from the event loop and from other threads (`gatic replay` reads while a server writes
    the file only through the file)."""

    def __init__(self, capacity: int = 1000, path: str | Path | None = None, *, batch: int = 64) -> None:
        if capacity < 1:
            raise ValueError("a trace store keeps at least one trace")
        self.capacity = capacity
        self.path = Path(path) if path is not None else None
        # the newest `capacity` traces (the oldest dropped as a new one comes), and an index by
        # request id made again when first read after an add (none on the request path)
        self._ring: deque[Trace] = deque(maxlen=capacity)
        self._index: dict[str, Trace] = {}
        self._indexed = 0  # `added` when the index was last made
        self._pending: list[bytes] = []
        self._batch = batch
        self._lock = threading.Lock()
        self.added = 0  # traces added since the start (the page polls it)
        self.redactor: Any = None  # a `snapshot.Redactor`: what `Trace.complete` redacts with
        self.route_of: Callable[[str, str], tuple[str, str] | None] | None = None  # the app's routes, for it too

    def __len__(self) -> int:
        return len(self._ring)

    def __iter__(self) -> Iterator[Trace]:
        """The oldest first."""
        return iter(reversed(self._newest()))

    def _newest(self) -> list[Trace]:
        out = list(reversed(self._ring))
        for trace in out:
            trace.complete(self.redactor, self.route_of)
        return out

    def add(self, trace: Trace) -> None:
        """Keep `trace` (the oldest one goes when the store is full); with a file, its line too."""
        self._ring.append(trace)
        self.added += 1
        if self.path is not None:
            trace.complete(self.redactor, self.route_of)
            self._pending.append(orjson.dumps(trace.to_json(), default=str) + b"\n")
            if len(self._pending) >= self._batch:
                self.flush()

    def _index_all(self) -> None:
        """The index by request id, made again if a trace came since (the oldest first: a later
        one with the same request id wins)."""
        if self._indexed == self.added:
            return
        self._indexed = self.added
        self._index = {trace.identify(): trace for trace in tuple(self._ring)}

    def get(self, request_id: str) -> Trace | None:
        self._index_all()
        trace = self._index.get(request_id)
        return trace.complete(self.redactor, self.route_of) if trace is not None else None

    def recent(self, limit: int = 100, *, handler_id: str | None = None, include_replays: bool = True) -> list[Trace]:
        """The newest first."""
        out: list[Trace] = []
        for trace in self._newest():
            if handler_id is not None and trace.handler_id != handler_id:
                continue
            if not include_replays and trace.replay_of is not None:
                continue
            out.append(trace)
            if len(out) >= limit:
                break
        return out

    def clear(self) -> None:
        self._ring.clear()
        self._index = {}
        self._indexed = self.added

    def flush(self) -> None:
        """Append what is pending to the file (one write, then fsync-free: a crash loses at most a batch)."""
        if self.path is None:
            return
        with self._lock:
            pending, self._pending = self._pending, []
            if not pending:
                return
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("ab") as f:
                f.write(b"".join(pending))

    def close(self) -> None:
        self.flush()

    @classmethod
    def load(cls, path: str | Path, capacity: int | None = None) -> TraceStore:
        """The traces of a JSON Lines file (the newest `capacity`, all by default); no file attached."""
        traces = list(read_traces(path))
        store = cls(capacity or max(1, len(traces)))
        for trace in traces:
            store.add(trace)
        return store


def read_traces(path: str | Path) -> Iterable[Trace]:
    """Each trace of a JSON Lines trace file, in the order written. A last line cut short by a crash
    mid-write is left out (the file says so by having no newline); any other bad line is an error."""
    p = Path(path)
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise TraceFileError(f"{p}: cannot read the trace file: {exc.strerror or exc}") from exc
    lines = data.split(b"\n")
    complete = data.endswith(b"\n") or not data
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        if number == len(lines) and not complete:
            break  # a torn last line
        try:
            yield Trace.from_json(orjson.loads(line))
        except (ValueError, KeyError, TypeError) as exc:
            raise TraceFileError(f"{p}:{number}: not a trace: {exc}") from None
