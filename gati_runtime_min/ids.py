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
    """A monotonic ULID generator (one per app; not shared across threads)."""

    __slots__ = ("_last_ms", "_last_rand", "_prefix", "_random")

    def __init__(self) -> None:
        self._random = random.Random()  # seeded from os.urandom
        self._last_ms = -1
        self._last_rand = 0
        self._prefix = ""

    def new(self) -> str:
        ms = time.time_ns() // 1_000_000
        if ms <= self._last_ms:
            ms = self._last_ms
            rand = self._last_rand + 1
            if rand > _RAND_MAX:  # 2**80 ids in one millisecond: borrow the next one
                ms += 1
                rand = self._random.getrandbits(79)
        else:
            rand = self._random.getrandbits(79)  # leaves headroom for increments
        if ms != self._last_ms:
            p = _PAIRS
            self._prefix = (
                p[ms >> 40] + p[(ms >> 30) & 1023] + p[(ms >> 20) & 1023] + p[(ms >> 10) & 1023] + p[ms & 1023]
            )
        self._last_ms = ms
        self._last_rand = rand
        p = _PAIRS
        return "".join(
            (
                self._prefix,
                p[rand >> 70],
                p[(rand >> 60) & 1023],
                p[(rand >> 50) & 1023],
                p[(rand >> 40) & 1023],
                p[(rand >> 30) & 1023],
                p[(rand >> 20) & 1023],
                p[(rand >> 10) & 1023],
                p[rand & 1023],
            )
        )


def ulid_time_ms(ulid: str) -> int:
    """The millisecond timestamp of a ULID."""
    value = 0
    for ch in ulid[:10].encode("ascii"):
        value = value * 32 + _CROCKFORD.index(ch)
    return value
