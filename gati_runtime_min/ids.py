"""Request ids: ULIDs (48-bit millisecond time + 80 random bits, Crockford base32, 26 characters).

Ids from one process are strictly increasing: within the same millisecond the random part is
incremented, as in the ULID monotonic variant, and the clock is never allowed to run backwards.
"""

from __future__ import annotations

import random
import time
from typing import Final

_CROCKFORD: Final = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_RAND_MAX: Final = (1 << 80) - 1


_PAIRS: Final = [a + b for a in _CROCKFORD.decode() for b in _CROCKFORD.decode()]  # 10 bits -> 2 chars


class RequestIds:
    """A monotonic ULID generator (one per app; not shared across threads).

    Within one millisecond the next id usually differs from the last only in its final two
    characters (the low 10 bits of the random part), so `new()` keeps the first 24 characters
    and appends two; the full encoding runs once per millisecond or when those bits wrap.
    """

    __slots__ = ("_last_ms", "_last_rand", "_next_ns", "_prefix", "_random", "_stem")

    def __init__(self) -> None:
        self._random = random.Random()  # seeded from os.urandom
        self._last_ms = -1
        self._next_ns = 0  # where the millisecond of the last id ends, in time.time_ns()
        self._last_rand = 0
        self._prefix = ""
        self._stem = ""  # the first 24 characters of the last id

    def new(self) -> str:
        ns = time.time_ns()
        if ns < self._next_ns:  # the same millisecond as the last id (or the clock went back)
            rand = self._last_rand + 1
            low = rand & 1023
            if low:  # the common case: only the last two characters change
                self._last_rand = rand
                return self._stem + _PAIRS[low]
            return self._slow(self._last_ms, rand)
        return self._slow(ns // 1_000_000, self._random.getrandbits(79))  # 79 bits leave headroom

    def _slow(self, ms: int, rand: int) -> str:
        if rand > _RAND_MAX:  # 2**80 ids in one millisecond: borrow the next one
            ms += 1
            rand = self._random.getrandbits(79)
        p = _PAIRS
        if ms != self._last_ms:
            self._prefix = (
                p[ms >> 40] + p[(ms >> 30) & 1023] + p[(ms >> 20) & 1023] + p[(ms >> 10) & 1023] + p[ms & 1023]
            )
        self._last_ms = ms
        self._next_ns = (ms + 1) * 1_000_000
        self._last_rand = rand
        self._stem = "".join(
            (
                self._prefix,
                p[rand >> 70],
                p[(rand >> 60) & 1023],
                p[(rand >> 50) & 1023],
                p[(rand >> 40) & 1023],
                p[(rand >> 30) & 1023],
                p[(rand >> 20) & 1023],
                p[(rand >> 10) & 1023],
            )
        )
        return self._stem + p[rand & 1023]


def ulid_time_ms(ulid: str) -> int:
    """The millisecond timestamp of a ULID."""
    value = 0
    for ch in ulid[:10].encode("ascii"):
        value = value * 32 + _CROCKFORD.index(ch)
    return value
