"""What a hot swap reuses from the last load (`gati_runtime_min.stamps`): an artifact is trusted
from its stat only while the digest `manifest.json` records for it is unchanged and its stamp is
not racy, so a rewrite of the same size under the same mtime and inode is still seen."""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

import orjson
import pytest

from gati_runtime_min.errors import ManifestError
from gati_runtime_min.stamps import RACY_NS, ArtifactCache, Stamps

HOUR_NS = 3600 * 1_000_000_000


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _write(path: Path, data: bytes, mtime_ns: int) -> None:
    """Write in place (the same inode) and set the mtime."""
    with path.open("r+b" if path.exists() else "wb") as f:
        f.write(data)
        f.truncate()
    os.utime(path, ns=(mtime_ns, mtime_ns))


def _load(cache: ArtifactCache, bdir: Path, artifacts: dict[str, object], rel: str) -> object:
    cache.check_all(bdir, artifacts)
    return cache.read_json(f"{bdir}/{rel}")


def test_an_unchanged_artifact_is_parsed_once_across_loads(tmp_path: Path) -> None:
    old = time.time_ns() - HOUR_NS
    data = orjson.dumps({"handlerId": "a", "path": "/a"})
    _write(tmp_path / "a.json", data, old)
    cache = ArtifactCache()
    first = _load(cache, tmp_path, {"a.json": _digest(data)}, "a.json")
    again = _load(cache, tmp_path, {"a.json": _digest(data)}, "a.json")
    assert first == {"handlerId": "a", "path": "/a"}
    assert again is first


def test_a_same_size_rewrite_under_the_same_mtime_and_inode_is_seen_by_its_new_recorded_digest(
    tmp_path: Path,
) -> None:
    old = time.time_ns() - HOUR_NS
    path = tmp_path / "a.json"
    before, after = orjson.dumps({"path": "/a"}), orjson.dumps({"path": "/b"})
    assert len(before) == len(after)
    _write(path, before, old)
    inode = path.stat().st_ino
    cache = ArtifactCache()
    assert _load(cache, tmp_path, {"a.json": _digest(before)}, "a.json") == {"path": "/a"}
    _write(path, after, old)  # the stat is exactly as before
    assert (path.stat().st_ino, path.stat().st_size, path.stat().st_mtime_ns) == (inode, len(before), old)
    assert _load(cache, tmp_path, {"a.json": _digest(after)}, "a.json") == {"path": "/b"}


def test_a_recent_file_is_hashed_again_so_a_same_stat_rewrite_fails_its_digest(tmp_path: Path) -> None:
    recent = time.time_ns() - RACY_NS // 2  # within the file system's timestamp granularity of the read
    path = tmp_path / "a.json"
    before, after = orjson.dumps({"path": "/a"}), orjson.dumps({"path": "/b"})
    _write(path, before, recent)
    cache = ArtifactCache()
    cache.check_all(tmp_path, {"a.json": _digest(before)})
    _write(path, after, recent)  # not the bytes the build recorded, under the very same stat
    with pytest.raises(ManifestError, match="does not match its digest"):
        cache.check_all(tmp_path, {"a.json": _digest(before)})


def test_an_artifact_changed_behind_the_builds_back_is_reported(tmp_path: Path) -> None:
    old = time.time_ns() - HOUR_NS
    data = orjson.dumps({"path": "/a"})
    _write(tmp_path / "a.json", data, old)
    cache = ArtifactCache()
    cache.check_all(tmp_path, {"a.json": _digest(data)})
    _write(tmp_path / "a.json", orjson.dumps({"path": "/zz"}), old + 1)
    with pytest.raises(ManifestError, match="does not match its digest"):
        cache.check_all(tmp_path, {"a.json": _digest(data)})


def test_a_missing_artifact_is_reported_even_after_it_was_checked(tmp_path: Path) -> None:
    old = time.time_ns() - HOUR_NS
    data = b"x"
    _write(tmp_path / "a.txt", data, old)
    cache = ArtifactCache()
    cache.check_all(tmp_path, {"a.txt": _digest(data)})
    (tmp_path / "a.txt").unlink()
    with pytest.raises(ManifestError, match=r"listed in manifest\.json artifacts but missing"):
        cache.check_all(tmp_path, {"a.txt": _digest(data)})


def test_an_artifact_no_longer_listed_is_read_afresh(tmp_path: Path) -> None:
    old = time.time_ns() - HOUR_NS
    data = orjson.dumps({"v": 1})
    _write(tmp_path / "a.json", data, old)
    cache = ArtifactCache()
    assert _load(cache, tmp_path, {"a.json": _digest(data)}, "a.json") == {"v": 1}
    _write(tmp_path / "a.json", orjson.dumps({"v": 2}), old)
    assert _load(cache, tmp_path, {}, "a.json") == {"v": 2}


def test_the_compact_json_digest_the_build_records_is_accepted(tmp_path: Path) -> None:
    pretty = b'{\n  "b": 1,\n  "a": 2\n}\n'
    (tmp_path / "a.json").write_bytes(pretty)
    compact = orjson.dumps(orjson.loads(pretty), option=orjson.OPT_SORT_KEYS)
    assert _load(ArtifactCache(), tmp_path, {"a.json": _digest(compact)}, "a.json") == {"a": 2, "b": 1}


def test_a_source_files_same_size_edit_is_seen_while_its_stamp_is_racy(tmp_path: Path) -> None:
    path = tmp_path / "mod.py"
    path.write_text("x = 1\n")
    stamps = Stamps()
    first = stamps.digest(str(path))
    st = path.stat()
    _write(path, b"x = 2\n", st.st_mtime_ns)  # same size, inode and mtime: a save within the clock tick
    assert stamps.digest(str(path)) != first
    assert stamps.digest(str(path)) == hashlib.sha256(b"x = 2\n").hexdigest()


def test_a_gone_source_file_has_no_digest(tmp_path: Path) -> None:
    path = tmp_path / "mod.py"
    path.write_text("x = 1\n")
    stamps = Stamps()
    assert stamps.digest(str(path)) is not None
    path.unlink()
    assert stamps.digest(str(path)) is None
