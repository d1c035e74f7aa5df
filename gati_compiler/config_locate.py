"""Where keys and values sit in TOML text: `TomlLocator` maps a dotted path to its line and column.

`tomllib` reports no positions, so the configuration checks (`config_check`) scan the text again,
after it parsed, to point each diagnostic at the offending key or value.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from typing import Final

from gati_compiler.diagnostics.model import Span

_BARE_KEY: Final = re.compile(r"[A-Za-z0-9_-]+")
_ESCAPES: Final = {"b": "\b", "t": "\t", "n": "\n", "f": "\f", "r": "\r", '"': '"', "\\": "\\"}


class TomlLocator:
    """Positions of keys and values in TOML text, keyed by their full dotted path.

    `tomllib` reports no positions, so this scans text that already parsed. It understands
    tables, dotted keys, quoted keys, inline tables, (multi-line) arrays and strings; array
    items are recorded under `(*path, "[i]")`. Positions are 1-based, ends exclusive.
    """

    def __init__(self, text: str, name: str) -> None:
        self.s = text
        self.n = len(text)
        self.i = 0
        self.name = name
        self.line_starts = [0] + [m.end() for m in re.finditer("\n", text)]
        self.keys: dict[tuple[str, ...], tuple[int, int]] = {}
        self.values: dict[tuple[str, ...], tuple[int, int]] = {}
        self._scan()

    def _span(self, bounds: tuple[int, int]) -> Span:
        start, end = bounds
        line = bisect_right(self.line_starts, start)
        end_line = bisect_right(self.line_starts, max(start, end - 1))
        end_col = end - self.line_starts[end_line - 1] + 1
        return Span(
            path=self.name,
            line=line,
            col=start - self.line_starts[line - 1] + 1,
            end_line=end_line,
            end_col=max(end_col, 1),
        )

    def _lookup(self, table: dict[tuple[str, ...], tuple[int, int]], path: tuple[str, ...]) -> Span:
        for cut in range(len(path), 0, -1):
            bounds = table.get(path[:cut]) or self.keys.get(path[:cut])
            if bounds is not None:
                return self._span(bounds)
        return Span.point(self.name)

    def key_span(self, path: tuple[str, ...]) -> Span:
        return self._lookup(self.keys, path)

    def value_span(self, path: tuple[str, ...]) -> Span:
        return self._lookup(self.values, path)

    # scanning helpers: all tolerate odd input and always make progress

    def _skip(self, newlines: bool) -> None:
        while self.i < self.n:
            c = self.s[self.i]
            if c in " \t\r" or (newlines and c == "\n"):
                self.i += 1
            elif c == "#":
                while self.i < self.n and self.s[self.i] != "\n":
                    self.i += 1
            else:
                return

    def _scan(self) -> None:
        table: tuple[str, ...] = ()
        while True:
            self._skip(newlines=True)
            if self.i >= self.n:
                return
            start = self.i
            if self.s[self.i] == "[":
                self.i += 2 if self.s.startswith("[[", self.i) else 1
                parts = self._key()
                self._skip(newlines=False)
                while self.i < self.n and self.s[self.i] == "]":
                    self.i += 1
                table = tuple(p for p, _, _ in parts)
                for cut, (_, k_start, k_end) in enumerate(parts, 1):
                    self.keys.setdefault(table[:cut], (k_start, k_end))
                self.values.setdefault(table, (start, self.i))
            else:
                parts = self._key()
                if parts:
                    self._key_value(table, parts)
            self._skip(newlines=False)
            while self.i < self.n and self.s[self.i] != "\n":
                self.i += 1
            if self.i == start:
                self.i += 1

    def _key_value(self, base: tuple[str, ...], parts: list[tuple[str, int, int]]) -> None:
        path = base
        for name, k_start, k_end in parts:
            path = (*path, name)
            self.keys.setdefault(path, (k_start, k_end))
        self._skip(newlines=False)
        if self.i < self.n and self.s[self.i] == "=":
            self.i += 1
            self._skip(newlines=False)
            self._value(path)

    def _key(self) -> list[tuple[str, int, int]]:
        parts: list[tuple[str, int, int]] = []
        while self.i < self.n:
            self._skip(newlines=False)
            start = self.i
            c = self.s[self.i] if self.i < self.n else ""
            if c and c in "\"'":
                self._string()
                name = self._unquote(self.s[start : self.i])
            else:
                match = _BARE_KEY.match(self.s, self.i)
                if not match:
                    break
                self.i = match.end()
                name = match.group()
            parts.append((name, start, self.i))
            self._skip(newlines=False)
            if self.i < self.n and self.s[self.i] == ".":
                self.i += 1
                continue
            break
        return parts

    @staticmethod
    def _unquote(raw: str) -> str:
        body = raw[1:-1] if len(raw) >= 2 else raw
        if raw.startswith("'"):
            return body
        return re.sub(r"\\(u[0-9A-Fa-f]{4}|U[0-9A-Fa-f]{8}|.)", _unescape, body)

    def _string(self) -> None:
        quote = self.s[self.i]
        triple = quote * 3
        if self.s.startswith(triple, self.i):
            self.i += 3
            while self.i < self.n and not self.s.startswith(triple, self.i):
                self.i += 2 if quote == '"' and self.s[self.i] == "\\" else 1
            self.i += 3
            while self.i < self.n and self.s[self.i] == quote:  # up to two quotes may end the body
                self.i += 1
            self.i = min(self.i, self.n)
            return
        self.i += 1
        while self.i < self.n and self.s[self.i] not in (quote, "\n"):
            self.i += 2 if quote == '"' and self.s[self.i] == "\\" else 1
        self.i = min(self.i + 1, self.n)

    def _value(self, path: tuple[str, ...]) -> None:
        start = self.i
        c = self.s[self.i] if self.i < self.n else ""
        if c and c in "\"'":
            self._string()
        elif c == "[":
            self.i += 1
            index = 0
            while self.i < self.n:
                self._skip(newlines=True)
                if self.i >= self.n or self.s[self.i] == "]":
                    self.i += 1
                    break
                before = self.i
                self._value((*path, f"[{index}]"))
                index += 1
                self._skip(newlines=True)
                if self.i == before or (self.i < self.n and self.s[self.i] == ","):
                    self.i += 1
        elif c == "{":
            self.i += 1
            while self.i < self.n:
                self._skip(newlines=False)
                if self.i >= self.n or self.s[self.i] == "}":
                    self.i += 1
                    break
                before = self.i
                parts = self._key()
                if parts:
                    self._key_value(path, parts)
                self._skip(newlines=False)
                if self.i == before or (self.i < self.n and self.s[self.i] == ","):
                    self.i += 1
        else:
            while self.i < self.n and self.s[self.i] not in ",]}#\n":
                self.i += 1
            end = self.i
            while end > start and self.s[end - 1] in " \t\r":
                end -= 1
            self.values.setdefault(path, (start, max(end, start + 1)))
            return
        self.i = min(self.i, self.n)
        self.values.setdefault(path, (start, max(self.i, start + 1)))


def _unescape(match: re.Match[str]) -> str:
    esc = match.group(1)
    if esc[0] in "uU" and len(esc) > 1:
        return chr(int(esc[1:], 16))
    return _ESCAPES.get(esc, esc)
