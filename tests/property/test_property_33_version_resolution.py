"""Property 33 (version resolution): for any recorded versions with tags and labels, a requested
version resolves exactly as SPEC section 5 says, in the compiler's lock and in the runtime alike.

A TSV picks itself, a tag or label picks the version it names, a timestamp (any ISO form, any
zone) picks the newest version at or before it, nothing picks the latest, anything else is
unknown (the runtime's 400 GATI516). The expected answer is computed from the generated values,
never by parsing the request.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gati_compiler.timescape.lock import Lock, Version, format_tsv
from gati_runtime_min.errors import GatiError
from gati_runtime_min.versions import VersionResolver

START = datetime(2024, 1, 1, tzinfo=UTC)
names = st.from_regex(r"\A[a-z][a-z0-9.+-]{0,7}\Z")


@st.composite
def histories(draw: st.DrawFn) -> list[tuple[datetime, list[str], list[str]]]:
    offsets = draw(st.lists(st.integers(0, 10**8), min_size=1, max_size=8, unique=True))
    moments = sorted(START + timedelta(seconds=s) for s in offsets)
    pool = draw(st.lists(names, unique=True, max_size=12))
    out: list[tuple[datetime, list[str], list[str]]] = [(m, [], []) for m in moments]
    for name in pool:  # each name goes to one version, as a tag or as a label
        _, tags, labels = out[draw(st.integers(0, len(moments) - 1))]
        (tags if draw(st.booleans()) else labels).append(name)
    return out


def _forms(moment: datetime, data: st.DataObject) -> str:
    """`moment` written the ways a client may write it."""
    form = data.draw(st.sampled_from(["Z", "offset", "naive", "micro"]))
    if form == "Z":
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    if form == "naive":
        return moment.strftime("%Y-%m-%dT%H:%M:%S")
    if form == "micro":
        return moment.strftime("%Y-%m-%dT%H:%M:%S.000000Z")
    zone = timezone(timedelta(hours=data.draw(st.integers(-11, 12))))
    return moment.astimezone(zone).isoformat()


@given(history=histories(), data=st.data())
def test_property_33_version_resolution(
    history: list[tuple[datetime, list[str], list[str]]], data: st.DataObject
) -> None:
    versions = [Version(tsv=format_tsv(m), tags=tuple(t), labels=tuple(lb)) for m, t, lb in history]
    lock = Lock(app="p33", versions=tuple(versions))
    runtime = VersionResolver([{"tsv": v.tsv, "tags": list(v.tags), "labels": list(v.labels)} for v in versions])
    latest = versions[-1].tsv

    kind = data.draw(st.sampled_from(["tsv", "tag", "label", "timestamp", "unknown"]))
    expected: str | None
    if kind == "tsv":
        target = data.draw(st.sampled_from(versions))
        asked, expected = target.tsv, target.tsv
    elif kind in ("tag", "label"):
        named = [(n, v.tsv) for v in versions for n in (v.tags if kind == "tag" else v.labels)]
        if not named:
            return
        asked, expected = data.draw(st.sampled_from(named))
    elif kind == "timestamp":
        moment = START + timedelta(seconds=data.draw(st.integers(-(10**6), 10**8 + 10**6)))
        asked = _forms(moment, data)
        older = [v.tsv for m, v in zip((h[0] for h in history), versions, strict=True) if m <= moment]
        expected = older[-1] if older else None
    else:
        asked = data.draw(names.filter(lambda n: all(n not in (*v.tags, *v.labels) for v in versions)))
        expected = None

    found = lock.resolve(asked)
    assert (found.tsv if found is not None else None) == expected, (kind, asked)

    for headers, query in (({"x-gati-version": asked}, b""), ({}, f"version={asked}".encode())):
        if "+" in asked and query:
            query = query.replace(b"+", b"%2B")  # a raw `+` in a query string is a space
        if expected is None:
            with pytest.raises(GatiError) as err:
                runtime.resolve(headers, query)
            assert err.value.code == "GATI516" and all(v.tsv in str(err.value) for v in versions)
        else:
            assert runtime.resolve(headers, query) == expected, (kind, asked, headers, query)
    assert runtime.resolve({}, b"") == latest  # nothing asked: the current version
