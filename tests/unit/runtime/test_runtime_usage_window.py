"""`/_gati/versions`' window: requests per version in the last hour, and hot / warm / cold."""

from __future__ import annotations

import pytest

from gati_runtime_min.versions import UsageWindow, temperature


def test_window_starts_at_the_first_reading_then_covers_the_last_hour() -> None:
    window = UsageWindow()
    assert window.observe(0.0, {}) == ({}, 0.0)
    assert window.observe(600.0, {"v1": 30}) == ({"v1": 30}, 600.0)  # younger than an hour: since start
    assert window.observe(3700.0, {"v1": 50}) == ({"v1": 50}, 3700.0)  # the start reading is the base
    recent, seconds = window.observe(4300.0, {"v1": 55, "v2": 4})
    assert (recent, seconds) == ({"v1": 25, "v2": 4}, 3700.0)  # based on the reading at 600 s


def test_readings_are_kept_at_most_one_a_minute() -> None:
    window = UsageWindow()
    window.observe(0.0, {"v1": 0})
    window.observe(10.0, {"v1": 5})  # not kept: the base stays the start
    assert window.observe(3610.0, {"v1": 9}) == ({"v1": 9}, 3610.0)


@pytest.mark.parametrize(
    ("requests", "window", "expected"),
    [(60, 1800.0, "hot"), (59, 3600.0, "warm"), (1, 60.0, "warm"), (0, 3600.0, "cold"), (100, 7200.0, "warm")],
)
def test_temperature_by_requests_per_hour(requests: int, window: float, expected: str) -> None:
    assert temperature(requests, window, hot=60.0, warm=1.0) == expected
