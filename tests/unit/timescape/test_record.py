"""Operations on the lock (record, tag, label, deprecate, retire) and what a build takes from it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from ts_fixture import HANDLERS_V1, STATS, synthetic_contract, write_app  # type: ignore[import-not-found, unused-ignore]

from gati_compiler.diagnostics import codes
from gati_compiler.pipeline import build, check
from gati_compiler.timescape.lock import Lock
from gati_compiler.timescape.lock_read import load_lock
from gati_compiler.timescape.record import LockOpError, RecordRequest, deprecate, label, record, retire, tag

T1, T2, T3, T4 = (f"2026-11-0{d}T10:00:00Z" for d in (1, 2, 3, 4))


def lock3() -> Lock:
    lock = record(None, synthetic_contract(3), at=T1, tags=("v1.0.0",), labels=("stable",))
    lock = record(lock, synthetic_contract(3, {0: 1}), at=T2, tags=("v1.1.0",))
    return record(lock, synthetic_contract(3, {0: 2}), at=T3)


def test_record_refuses_an_unchanged_contract_unless_allowed() -> None:
    lock = lock3()
    same = synthetic_contract(3, {0: 2})
    with pytest.raises(LockOpError, match="nothing changed"):
        record(lock, same, at=T4)
    empty = record(lock, same, at=T4, allow_empty=True)
    assert empty.latest is not None and empty.latest.tsv == T4 and dict(empty.latest.handlers) == {}


def test_a_moved_source_line_alone_is_not_a_change_but_is_kept() -> None:
    lock = lock3()
    moved = synthetic_contract(3, {0: 2})
    moved = moved.model_copy(
        update={
            "handlers": tuple(
                h.model_copy(update={"source": h.source.model_copy(update={"line": 999})}) for h in moved.handlers
            )
        }
    )
    with pytest.raises(LockOpError, match="nothing changed"):
        record(lock, moved, at=T4)
    kept = record(lock, moved, at=T4, allow_empty=True)
    assert kept.contract(T4).handlers[0].source.line == 999


def test_versions_are_strictly_increasing_in_time() -> None:
    lock = lock3()
    for at in (T3, T1):
        with pytest.raises(LockOpError, match="must be later"):
            record(lock, synthetic_contract(4), at=at)
    with pytest.raises(LockOpError, match="not a TSV"):
        record(lock, synthetic_contract(4), at="2026-11-05 10:00")


def test_a_tag_never_moves_and_a_label_does() -> None:
    lock = lock3()
    with pytest.raises(LockOpError, match="never moves"):
        tag(lock, T3, "v1.0.0")
    with pytest.raises(LockOpError, match="never moves"):
        record(lock, synthetic_contract(5), at=T4, tags=("v1.1.0",))
    tagged = tag(lock, T3, "v2.0.0")
    assert tagged.resolve("v2.0.0") == tagged.versions[2]
    assert tag(tagged, "v2.0.0", "v2.0.0") is tagged  # already so: nothing to change
    moved = label(lock, "v1.1.0", "stable")
    assert moved.resolve("stable") == moved.versions[1]
    assert "stable" not in moved.versions[0].labels
    relabelled = record(moved, synthetic_contract(5), at=T4, labels=("stable",))
    assert [v.labels for v in relabelled.versions] == [(), (), (), ("stable",)]


def test_names_must_be_names_and_tags_and_labels_stay_apart() -> None:
    lock = lock3()
    for bad in ("", "1.0", "two words", "2026-11-01"):
        with pytest.raises(LockOpError):
            tag(lock, T3, bad)
    with pytest.raises(LockOpError, match="is a label"):
        tag(lock, T3, "stable")
    with pytest.raises(LockOpError, match="is a tag"):
        label(lock, T3, "v1.0.0")
    with pytest.raises(LockOpError, match="no version `v7`"):
        label(lock, "v7", "beta")


def test_deprecate_then_retire() -> None:
    lock = deprecate(lock3(), "v1.0.0", sunset="2027-01-31", at=T4)
    v1 = lock.versions[0]
    assert (v1.status, v1.sunset, v1.deprecatedAt) == ("deprecated", "2027-01-31", T4)
    later = deprecate(lock, "v1.0.0", sunset="2027-03-31", at="2026-12-01T00:00:00Z")
    assert later.versions[0].sunset == "2027-03-31" and later.versions[0].deprecatedAt == T4
    with pytest.raises(LockOpError, match="in the past"):
        deprecate(lock, "v1.1.0", sunset="2026-10-01", at=T4)
    with pytest.raises(LockOpError, match="not a date"):
        deprecate(lock, "v1.1.0", sunset="soon", at=T4)
    retired = retire(lock, "v1.0.0", at=T4)
    assert retired.versions[0].status == "retired" and retired.versions[0].sunset == "2027-01-31"
    assert retired.successor(T1) == T2
    assert retire(retire(retired, T2, at=T4), T1, at=T4).successor(T1) == T3  # skips retired ones
    with pytest.raises(LockOpError, match="is the latest"):
        retire(lock, T3, at=T4)
    with pytest.raises(LockOpError, match="retired already"):
        deprecate(retired, "v1.0.0", sunset="2027-01-31", at=T4)


def test_a_plain_build_reads_the_lock_and_never_writes_it(tmp_path: Path) -> None:
    app = write_app(tmp_path / "app")
    first = build(app, jobs=1, record=RecordRequest(at=T1, tags=("v1.0.0",)))
    assert first.ok and first.recorded is not None
    data = (app / "timescape.lock").read_bytes()
    (app / "handlers.py").write_text(HANDLERS_V1 + STATS, encoding="utf-8")
    plain = build(app, jobs=1)
    assert plain.ok and plain.recorded is None
    assert (app / "timescape.lock").read_bytes() == data
    manifest = json.loads((app / ".gati/manifest.json").read_text())
    assert manifest["versions"] == [{"labels": [], "status": "active", "tags": ["v1.0.0"], "tsv": T1}]
    ping = json.loads((app / ".gati/handlers/ping.json").read_text())
    stats = json.loads((app / ".gati/handlers/stats.json").read_text())
    assert (ping["timescapeVersion"], ping["timescapeVersions"]) == (T1, [T1])
    assert stats["timescapeVersions"] == [] and "timescapeVersion" not in stats  # not recorded yet


def test_handler_versions_follow_the_history(tmp_path: Path) -> None:
    app = write_app(tmp_path / "app")
    assert build(app, jobs=1, record=RecordRequest(at=T1)).recorded
    (app / "handlers.py").write_text(HANDLERS_V1 + STATS, encoding="utf-8")
    assert build(app, jobs=1, record=RecordRequest(at=T2)).recorded
    (app / "handlers.py").write_text(HANDLERS_V1.replace("title: str", "title: str\n    year: int") + STATS)
    result = build(app, jobs=1, record=RecordRequest(at=T3, tags=("v3",)))
    assert result.recorded is not None
    assert result.program is not None
    found = {h.handlerId: (h.timescapeVersion, h.timescapeVersions) for h in result.program.handlers}
    assert found == {"ping": (T1, (T1, T2, T3)), "stats": (T2, (T2, T3)), "book": (T3, (T1, T2, T3))}


def test_the_sdks_pin_the_recorded_version_only_when_the_tree_is_that_version(tmp_path: Path) -> None:
    """Generated from the latest recorded contract, the clients send its TSV; generated from
    unrecorded changes, they send no version (the current one), never an older version."""
    app = write_app(tmp_path / "app")
    recorded = build(app, jobs=1, record=RecordRequest(at=T1))
    assert recorded.program is not None and recorded.program.timescapeCurrent == T1
    same = build(app, jobs=1)
    assert same.program is not None and same.program.timescapeCurrent == T1
    base = next((app / ".gati/sdk/python").glob("*_client/_base.py"))
    assert f'DEFAULT_API_VERSION: typing.Final[str | None] = "{T1}"' in base.read_text()
    (app / "handlers.py").write_text(HANDLERS_V1 + STATS, encoding="utf-8")
    changed = build(app, jobs=1)
    assert changed.program is not None and changed.program.timescapeCurrent is None
    assert "DEFAULT_API_VERSION: typing.Final[str | None] = None" in base.read_text()
    ts_client = next((app / ".gati/sdk/typescript").rglob("client.ts")).read_text()
    assert "DEFAULT_API_VERSION: string | undefined = undefined" in ts_client


def test_check_never_records_even_with_auto_record(tmp_path: Path) -> None:
    app = write_app(tmp_path / "app", config="[tool.gati.timescape]\nauto_record = true\n")
    checked = check(app, jobs=1)
    assert not (app / "timescape.lock").exists()
    assert codes.VERSION_RECORDED.id not in [d.code for d in checked.diagnostics]
    built = build(app, jobs=1)
    assert built.recorded is not None and (app / "timescape.lock").is_file()
    again = build(app, jobs=1)  # nothing changed: nothing recorded, no message
    assert again.ok and again.recorded is None and not again.diagnostics


def test_a_refused_record_writes_nothing(tmp_path: Path) -> None:
    app = write_app(tmp_path / "app")
    assert build(app, jobs=1, record=RecordRequest(at=T2)).recorded
    data = (app / "timescape.lock").read_bytes()
    refused = build(app, jobs=1, record=RecordRequest(at=T1))
    assert refused.record_error is not None and "must be later" in refused.record_error
    assert (app / "timescape.lock").read_bytes() == data


def test_a_broken_lock_stops_the_build(tmp_path: Path) -> None:
    app = write_app(tmp_path / "app")
    assert build(app, jobs=1, record=RecordRequest(at=T1)).recorded
    text = (app / "timescape.lock").read_text()
    (app / "timescape.lock").write_text(text.replace('"formatVersion": 1', '"formatVersion": 99'))
    result = build(app, write=False, jobs=1)
    assert not result.ok and not result.artifacts
    assert [d.code for d in result.diagnostics] == [codes.LOCK_FORMAT.id]
    assert "timescape.lock" in result.sources  # so the text renderer shows the line
    assert load_lock(app / "timescape.lock")[0] is None
