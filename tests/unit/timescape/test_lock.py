"""`timescape.lock`: round trip, canonical bytes, content addressing, growth, and every way to break it."""

from __future__ import annotations

import json
from collections.abc import Callable
from itertools import pairwise
from pathlib import Path

import pytest
from ts_fixture import synthetic_contract  # type: ignore[import-not-found, unused-ignore]

from gati_compiler.canonical import canonical_bytes
from gati_compiler.diagnostics import codes
from gati_compiler.timescape.lock import Lock, object_hash, save_lock
from gati_compiler.timescape.lock_read import load_lock, read_lock
from gati_compiler.timescape.positions import json_positions
from gati_compiler.timescape.record import record

T1, T2, T3 = "2026-11-01T10:00:00Z", "2026-11-02T10:00:00Z", "2026-11-03T10:00:00Z"


def three_versions() -> tuple[Lock, list[object]]:
    c1 = synthetic_contract(5)
    c2 = synthetic_contract(5, {1: 1})
    c3 = synthetic_contract(4, {1: 1, 2: 2})  # handler 4 removed
    lock = record(None, c1, at=T1, tags=("v1.0.0",))
    lock = record(lock, c2, at=T2, tags=("v1.1.0",), labels=("stable",))
    lock = record(lock, c3, at=T3, tags=("v2.0.0",))
    return lock, [c1, c2, c3]


def test_round_trip_gives_the_same_bytes_and_contracts() -> None:
    lock, contracts = three_versions()
    data = lock.to_bytes()
    again, diags = read_lock(data)
    assert diags == [] and again is not None
    assert again.to_bytes() == data
    for v, c in zip(again.versions, contracts, strict=True):
        assert again.contract(v.tsv) == c


def test_bytes_are_canonical_json() -> None:
    data = three_versions()[0].to_bytes()
    assert data == canonical_bytes(json.loads(data))
    assert data.endswith(b"}\n") and b"\r" not in data
    doc = json.loads(data)
    assert doc["format"] == "gati-timescape-lock" and doc["formatVersion"] == 1
    assert [v["tsv"] for v in doc["versions"]] == [T1, T2, T3]


def test_objects_are_stored_once_under_their_content_hash() -> None:
    doc = json.loads(three_versions()[0].to_bytes())
    for store in ("contracts", "gtypes"):
        for ref, body in doc[store].items():
            assert ref == object_hash(body)
    # Meta is shared by every handler and never changes: one stored copy
    metas = [g for g in doc["gtypes"].values() if g.get("name") == "Meta"]
    assert len(metas) == 1
    # 5 first contracts, 1 changed in v2, 1 changed in v3 (where another is removed)
    assert len(doc["contracts"]) == 5 + 1 + 1
    v2, v3 = doc["versions"][1]["handlers"], doc["versions"][2]["handlers"]
    assert sorted(v2) == ["h0001"]
    assert sorted(v3) == ["h0002", "h0004"] and v3["h0004"] is None


def test_versions_resolve_by_tsv_tag_label_and_timestamp() -> None:
    lock, _ = three_versions()
    assert lock.resolve(T2) is lock.versions[1]
    assert lock.resolve("v2.0.0") is lock.versions[2]
    assert lock.resolve("stable") is lock.versions[1]
    assert lock.resolve("2026-11-02T23:59:59Z") is lock.versions[1]
    assert lock.resolve("2026-11-02T11:00:00+02:00") is lock.versions[0]  # 09:00 UTC
    assert lock.resolve("2026-10-31T00:00:00Z") is None
    assert lock.resolve("v9") is None
    with pytest.raises(KeyError):
        lock.contract("v9")
    assert {h.handlerId for h in lock.contract("v2.0.0").handlers} == {"h0000", "h0001", "h0002", "h0003"}


def _growth(handlers: int, versions: int) -> list[int]:
    """Bytes the lock grows by per version when one handler's contract changes per version."""
    revisions: dict[int, int] = {}
    lock = record(None, synthetic_contract(handlers), at="2026-01-01T00:00:00Z")
    sizes = [len(lock.to_bytes())]
    for n in range(1, versions):
        changed = (n * 7) % handlers
        revisions[changed] = revisions.get(changed, 0) + 1
        at = f"2026-01-{1 + n // 24:02d}T{n % 24:02d}:00:01Z"
        lock = record(lock, synthetic_contract(handlers, dict(revisions)), at=at)
        sizes.append(len(lock.to_bytes()))
    return [b - a for a, b in pairwise(sizes)]


def test_growth_per_version_is_bounded_by_the_change_not_the_app() -> None:
    big = _growth(200, 100)
    small = _growth(20, 100)
    # one changed handler costs its new contract, its new type and one delta line (~2 KB here),
    # whether the app has 20 handlers or 200
    assert max(big) < 3000, max(big)
    assert max(big) <= max(small) + 64, (max(big), max(small))
    # a full copy of the 200-handler version would cost 100x more than a change
    assert len(record(None, synthetic_contract(200), at="2026-01-01T00:00:00Z").to_bytes()) > 100 * max(big)


def test_save_is_atomic_and_leaves_no_temporary_files(tmp_path: Path) -> None:
    lock, _ = three_versions()
    target = tmp_path / "timescape.lock"
    target.write_text("old", encoding="utf-8")
    save_lock(lock, target)
    assert target.read_bytes() == lock.to_bytes()
    assert [p.name for p in tmp_path.iterdir()] == ["timescape.lock"]


def test_a_missing_lock_is_no_lock_and_no_diagnostic(tmp_path: Path) -> None:
    assert load_lock(tmp_path / "timescape.lock") == (None, [])


def test_a_folder_in_place_of_the_lock_is_unreadable(tmp_path: Path) -> None:
    (tmp_path / "timescape.lock").mkdir()
    lock, diags = load_lock(tmp_path / "timescape.lock")
    assert lock is None and [d.code for d in diags] == [codes.LOCK_UNREADABLE.id]


def _line(text: str, needle: str, nth: int = 0) -> int:
    hits = [n for n, line in enumerate(text.splitlines(), 1) if needle in line]
    return hits[nth]


def _conflict(text: str) -> tuple[str, int]:
    lines = text.splitlines(keepends=True)
    at = _line(text, '"labels"')
    out = [*lines[: at - 1], "<<<<<<< HEAD\n", lines[at - 1], "=======\n", lines[at - 1], ">>>>>>> other\n"]
    return "".join(out + lines[at:]), at


def _replace(old: str, new: str, needle: str | None = None) -> Callable[[str], tuple[str, int]]:
    def mutate(text: str) -> tuple[str, int]:
        assert old in text, old
        out = text.replace(old, new, 1)
        return out, _line(out, needle or new)

    return mutate


def _first_contract_edit(text: str) -> tuple[str, int]:
    doc = json.loads(text)
    ref = next(iter(doc["contracts"]))
    out = text.replace('"method": "GET"', '"method": "PUT"', 1)
    return out, _line(out, f'"{ref}": {{')


def _dangling(text: str) -> tuple[str, int]:
    doc = json.loads(text)
    ref = doc["versions"][0]["handlers"]["h0000"]
    out = text.replace(f'"h0000": "{ref}"', '"h0000": "sha256:' + "e" * 64 + '"', 1)
    return out, _line(out, "sha256:" + "e" * 64)


def _dangling_type(text: str) -> tuple[str, int]:
    doc = json.loads(text)
    meta = next(r for r, g in doc["gtypes"].items() if g.get("name") == "Meta")
    del doc["gtypes"][meta]
    out = canonical_bytes(doc).decode()
    # the contracts now hash the same but name a type the lock lost
    return out, _line(out, f'"app.models.Meta": "{meta}"')


CORRUPTIONS: dict[str, tuple[Callable[[str], tuple[str, int]], str]] = {
    "conflict-markers": (_conflict, codes.LOCK_CONFLICT.id),
    "bad-json": (_replace('"app": "app",', '"app": "app"', '"contracts"'), codes.LOCK_SYNTAX.id),
    "newer-format": (_replace('"formatVersion": 1', '"formatVersion": 2'), codes.LOCK_FORMAT.id),
    "not-a-lock": (_replace('"format": "gati-timescape-lock"', '"format": "poetry"'), codes.LOCK_FORMAT.id),
    "tags-not-a-list": (
        _replace('"tags": [\n        "v1.0.0"\n      ]', '"tags": "v1.0.0"', '"tags"'),
        codes.LOCK_SCHEMA.id,
    ),
    "unknown-status": (_replace('"status": "active"', '"status": "gone"'), codes.LOCK_SCHEMA.id),
    "edited-contract": (_first_contract_edit, codes.LOCK_HASH_MISMATCH.id),
    "dangling-contract": (_dangling, codes.LOCK_DANGLING_REF.id),
    "dangling-type": (_dangling_type, codes.LOCK_DANGLING_REF.id),
    "bad-tsv": (_replace(f'"tsv": "{T2}"', '"tsv": "yesterday"'), codes.LOCK_VERSIONS_INVALID.id),
    "out-of-order": (_replace(f'"tsv": "{T2}"', '"tsv": "2026-10-01T00:00:00Z"'), codes.LOCK_VERSIONS_INVALID.id),
    "tag-twice": (_replace('"v1.1.0"', '"v1.0.0"', '"v1.0.0"'), codes.LOCK_VERSIONS_INVALID.id),
    "deprecated-without-sunset": (
        _replace('"status": "active"', '"status": "deprecated"'),
        codes.LOCK_VERSIONS_INVALID.id,
    ),
}


@pytest.mark.parametrize("case", sorted(CORRUPTIONS))
def test_a_broken_lock_is_a_diagnostic_at_its_line(case: str) -> None:
    mutate, code = CORRUPTIONS[case]
    text = three_versions()[0].to_bytes().decode()
    broken, line = mutate(text)
    lock, diags = read_lock(broken.encode(), "timescape.lock")
    assert lock is None, "a broken lock must never be used"
    assert diags, case
    first = diags[0]
    assert first.code == code, [(d.code, d.message) for d in diags]
    if case == "tag-twice":  # reported where the second use is
        line = _line(broken, '"v1.0.0"', 1)
    assert first.span.path == "timescape.lock" and first.span.line == line, (first.span, first.message)
    assert first.help, "every lock problem says how to get out of it"


def test_not_utf8_is_unreadable_at_its_line() -> None:
    text = three_versions()[0].to_bytes()
    broken = text.replace(b'"app": "app"', b'"app": "\xff"', 1)
    lock, diags = read_lock(broken)
    assert lock is None and [d.code for d in diags] == [codes.LOCK_UNREADABLE.id]
    assert diags[0].span.line == _line(text.decode(), '"app": "app"')


def test_a_lock_of_another_app_is_a_warning_and_still_used() -> None:
    lock, diags = read_lock(three_versions()[0].to_bytes(), app="other")
    assert lock is not None
    assert [(d.code, d.severity.value) for d in diags] == [(codes.LOCK_APP_MISMATCH.id, "warning")]


def test_a_retired_latest_version_is_rejected() -> None:
    doc = json.loads(three_versions()[0].to_bytes())
    doc["versions"][-1].update(status="retired", retiredAt=T3)
    lock, diags = read_lock(canonical_bytes(doc))
    assert lock is None and [d.code for d in diags] == [codes.LOCK_VERSIONS_INVALID.id]


def test_positions_name_the_line_and_column_of_each_value() -> None:
    text = '{\n  "a": [1, {"b": true}],\n  "c": "x"\n}\n'
    found = json_positions(text)
    assert found[("a",)] == (2, 8)
    assert found[("a", 1, "b")] == (2, 18)
    assert found[("c",)] == (3, 8)
    assert json_positions("{nope") == {}
