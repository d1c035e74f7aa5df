"""Where each value of a JSON document starts: `json_positions(text)` maps JSON paths to line:col.

Input: text that is valid JSON (the caller has parsed it already). Output: `(key or index, ...)`
→ 1-based `(line, col)` of the value, so a problem found after parsing (a schema violation, a
dangling hash) is reported at its place in the file. Only the error path uses it; it is a plain
recursive-descent scanner, not fast, never raising on valid JSON.
"""

from __future__ import annotations

import bisect
import json
from typing import TypeAlias

JsonPath: TypeAlias = tuple[str | int, ...]
_WS = " \t\r\n"
_DECODER = json.JSONDecoder()


class _Scanner:
    def __init__(self, text: str) -> None:
        self.text = text
        self.starts = [0] + [i + 1 for i, ch in enumerate(text) if ch == "\n"]
        self.found: dict[JsonPath, tuple[int, int]] = {}

    def where(self, pos: int) -> tuple[int, int]:
        line = bisect.bisect_right(self.starts, pos)
        return line, pos - self.starts[line - 1] + 1

    def skip(self, pos: int) -> int:
        text = self.text
        while pos < len(text) and text[pos] in _WS:
            pos += 1
        return pos

    def value(self, pos: int, path: JsonPath) -> int:
        pos = self.skip(pos)
        self.found[path] = self.where(pos)
        ch = self.text[pos]
        if ch == "{":
            pos = self.skip(pos + 1)
            if self.text[pos] == "}":
                return pos + 1
            while True:
                pos = self.skip(pos)
                key, pos = _DECODER.raw_decode(self.text, pos)
                pos = self.skip(pos) + 1  # the colon
                pos = self.skip(self.value(pos, (*path, str(key))))
                if self.text[pos] == "}":
                    return pos + 1
                pos += 1  # the comma
        if ch == "[":
            pos = self.skip(pos + 1)
            if self.text[pos] == "]":
                return pos + 1
            index = 0
            while True:
                pos = self.skip(self.value(pos, (*path, index)))
                index += 1
                if self.text[pos] == "]":
                    return pos + 1
                pos += 1
        _, end = _DECODER.raw_decode(self.text, pos)
        return int(end)


def json_positions(text: str) -> dict[JsonPath, tuple[int, int]]:
    """Path → (line, col) of every value in `text`; empty when `text` is not valid JSON."""
    scanner = _Scanner(text)
    try:
        scanner.value(0, ())
    except (ValueError, IndexError):
        return {}
    return scanner.found


def position_of(positions: dict[JsonPath, tuple[int, int]], path: JsonPath) -> tuple[int, int]:
    """The position of `path`, or of its nearest ancestor that has one (the document start at worst)."""
    while path:
        found = positions.get(path)
        if found is not None:
            return found
        path = path[:-1]
    return positions.get((), (1, 1))
