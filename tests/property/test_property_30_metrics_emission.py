"""Property 30, metrics emission: what handlers record through `gctx.metrics` reaches the
configured exporter with its labels, and the runtime's own request counter counts every request.

For generated sequences of requests, each carrying a list of measurements (a counter `add` or a
histogram `record`, a name, a value and a label), a real app (built by the compiler, served
in-process) records them in its handler; the SDK's in-memory metric reader must then hold, per
(name, label), exactly the model's sum for each counter and count and sum for each histogram, and
`gati.server.requests` must count one request per call of the handler.
"""

from __future__ import annotations

import asyncio
import functools
import tempfile
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from gati_runtime_min import GatiApp
from gati_runtime_min.telemetry import Telemetry
from gati_runtime_min.testing import AppClient
from tests.apps import build_files

COUNTERS = ("orders", "refunds")
HISTOGRAMS = ("basket.size", "latency.ms")
LABELS = ("eu", "us")

FILES = {
    "pyproject.toml": """
        [project]
        name = "metered"
        version = "0.1.0"

        [tool.gati]
        name = "metered"
        sources = ["metered"]
    """,
    "metered/__init__.py": "",
    "metered/handlers.py": """
        from typing import Annotated, Literal

        from annotated_types import Ge, Le
        from typing_extensions import TypedDict

        from gati_runtime_min import GlobalContext, LocalContext, Request, Response, post


        class Measurement(TypedDict):
            kind: Literal["counter", "histogram"]
            name: Literal["orders", "refunds", "basket.size", "latency.ms"]
            value: Annotated[int, Ge(0), Le(1000)]
            region: Literal["eu", "us"]


        class Recorded(TypedDict):
            recorded: int


        @post("/record")
        async def record(
            req: Request[list[Measurement]], res: Response[Recorded], lctx: LocalContext, gctx: GlobalContext
        ) -> None:
            for m in req.body:
                labels = {"region": m["region"]}
                if m["kind"] == "counter":
                    gctx.metrics.counter(m["name"]).add(m["value"], labels)
                else:
                    gctx.metrics.histogram(m["name"]).record(m["value"], labels)
            res.json({"recorded": len(req.body)})
    """,
}


@functools.cache
def built() -> Path:
    return build_files(Path(tempfile.mkdtemp(prefix="gati-p30-")), FILES)


measurement = st.one_of(
    st.fixed_dictionaries(
        {
            "kind": st.just("counter"),
            "name": st.sampled_from(COUNTERS),
            "value": st.integers(0, 1000),
            "region": st.sampled_from(LABELS),
        }
    ),
    st.fixed_dictionaries(
        {
            "kind": st.just("histogram"),
            "name": st.sampled_from(HISTOGRAMS),
            "value": st.integers(0, 1000),
            "region": st.sampled_from(LABELS),
        }
    ),
)


def _points(reader: InMemoryMetricReader) -> dict[str, list[tuple[dict[str, Any], Any]]]:
    data = reader.get_metrics_data()
    out: dict[str, list[tuple[dict[str, Any], Any]]] = defaultdict(list)
    for rm in data.resource_metrics if data is not None else ():
        for sm in rm.scope_metrics:
            for metric in sm.metrics:
                out[metric.name].extend((dict(p.attributes or {}), p) for p in metric.data.data_points)
    return out


@settings(max_examples=25, deadline=None)
@given(requests=st.lists(st.lists(measurement, max_size=6), min_size=1, max_size=5))
def test_property_30_metrics_emission(requests: list[list[dict[str, Any]]]) -> None:
    reader = InMemoryMetricReader()
    telemetry = Telemetry("metered", version=None, metric_reader=reader)

    async def main() -> list[int]:
        async with AppClient(GatiApp(built(), telemetry=telemetry)) as client:
            return [(await client.post("/record", json=body)).status_code for body in requests]

    assert asyncio.run(main()) == [200] * len(requests)
    points = _points(reader)

    sums: Counter[tuple[str, str]] = Counter()
    counts: Counter[tuple[str, str]] = Counter()
    for body in requests:
        for m in body:
            key = (m["name"], m["region"])
            sums[key] += m["value"]
            if m["kind"] == "histogram":
                counts[key] += 1

    for name in COUNTERS:
        got = {attrs["region"]: p.value for attrs, p in points.get(name, [])}
        want = {region: sums[(name, region)] for region in LABELS if (name, region) in sums}
        assert got == want, name
    for name in HISTOGRAMS:
        got_h = {attrs["region"]: (p.count, p.sum) for attrs, p in points.get(name, [])}
        want_h = {region: (counts[(name, region)], sums[(name, region)]) for region in LABELS if counts[(name, region)]}
        assert got_h == want_h, name

    served = [(attrs, p.value) for attrs, p in points["gati.server.requests"]]
    assert sum(v for attrs, v in served if attrs.get("gati.handler_id") == "record") == len(requests)
