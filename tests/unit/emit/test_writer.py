"""`write_artifacts` and `read_previous_artifacts` on real files."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from gati_compiler import writer
from gati_compiler.writer import ArtifactWriter, WriteReport, read_previous_artifacts, write_artifacts


def tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_first_write_creates_folders(tmp_path: Path) -> None:
    out = tmp_path / ".gati"
    arts = {"manifest.json": b"{}\n", "handlers/a.json": b"A\n", "validators/pkg/__init__.py": b""}
    report = write_artifacts(arts, out)
    assert report == WriteReport(written=sorted(arts), unchanged=[], removed=[])
    assert tree(out) == arts


def test_unchanged_files_are_not_rewritten(tmp_path: Path) -> None:
    out = tmp_path / "out"
    write_artifacts({"a.json": b"1", "b/c.json": b"2"}, out)
    old = 1_000_000_000
    for rel in ("a.json", "b/c.json"):
        os.utime(out / rel, ns=(old, old))
    report = write_artifacts({"a.json": b"1", "b/c.json": b"changed"}, out)
    assert report.written == ["b/c.json"]
    assert report.unchanged == ["a.json"]
    assert (out / "a.json").stat().st_mtime_ns == old
    assert (out / "b/c.json").stat().st_mtime_ns != old
    assert (out / "b/c.json").read_bytes() == b"changed"


def test_stale_files_are_removed_and_empty_dirs_pruned(tmp_path: Path) -> None:
    out = tmp_path / "out"
    first = {"manifest.json": b"m", "handlers/old.json": b"o", "handlers/keep.json": b"k", "x/y/z.json": b"z"}
    write_artifacts(first, out)
    (out / "user-notes.txt").write_text("not ours")
    second = {"manifest.json": b"m2", "handlers/keep.json": b"k"}
    report = write_artifacts(second, out, previous=first)
    assert report.removed == ["handlers/old.json", "x/y/z.json"]
    assert report.written == ["manifest.json"]
    assert report.unchanged == ["handlers/keep.json"]
    assert not (out / "x").exists()
    assert (out / "handlers").is_dir()
    assert tree(out) == {**second, "user-notes.txt": b"not ours"}


def test_previous_entries_already_gone_are_ignored(tmp_path: Path) -> None:
    report = write_artifacts({"a": b"1"}, tmp_path / "out", previous=["gone.json", "a"])
    assert report.removed == []


def test_stale_file_where_a_folder_is_now_needed(tmp_path: Path) -> None:
    out = tmp_path / "out"
    write_artifacts({"sdk": b"was a file"}, out)
    report = write_artifacts({"sdk/client.py": b"now a folder"}, out, previous=["sdk"])
    assert report.removed == ["sdk"]
    assert tree(out) == {"sdk/client.py": b"now a folder"}


@pytest.mark.parametrize(
    "bad", ["/etc/passwd", "../escape.json", "a/../../b", "a//b", "./a", "a/./b", "", "C:/x", "a\\b"]
)
def test_paths_escaping_the_build_folder_are_refused(tmp_path: Path, bad: str) -> None:
    with pytest.raises(ValueError, match="artifact path"):
        write_artifacts({bad: b"x"}, tmp_path / "out")
    with pytest.raises(ValueError, match="artifact path"):
        write_artifacts({}, tmp_path / "out", previous=[bad])
    assert not (tmp_path / "escape.json").exists()


def test_failed_replace_leaves_old_file_and_no_temp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "out"
    write_artifacts({"a.json": b"old"}, out)

    def boom(src: object, dst: object) -> None:
        raise OSError("disk on fire")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError, match="disk on fire"):
        write_artifacts({"a.json": b"new"}, out)
    monkeypatch.undo()
    assert tree(out) == {"a.json": b"old"}


@pytest.fixture
def write_order(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the files the writer writes (replacing one, or filling a new folder), in order."""
    order: list[str] = []
    for name in ("_atomic_write", "_write_new"):
        real = getattr(writer, name)

        def spy(target: str, data: bytes, *, fsync: bool, real: Callable[..., None] = real) -> None:
            name = Path(target).name
            if not (name.startswith(".") and name.endswith(".tmp")):  # `_atomic_write`'s own temporary file
                order.append(name)
            real(target, data, fsync=fsync)

        monkeypatch.setattr(writer, name, spy)
    return order


def test_manifest_is_written_last(tmp_path: Path, write_order: list[str]) -> None:
    write_artifacts({"manifest.json": b"m", "z.json": b"z", "a.json": b"a"}, tmp_path, fsync=True)
    assert write_order == ["a.json", "z.json", "manifest.json"]


def test_read_previous_artifacts(tmp_path: Path) -> None:
    assert read_previous_artifacts(tmp_path) == ([], None)
    manifest = {"app": "x", "artifacts": {"handlers/b.json": "sha256:1", "gtypes.json": "sha256:2"}}
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    assert read_previous_artifacts(tmp_path) == (["gtypes.json", "handlers/b.json"], None)


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (b"{not json", "not valid JSON"),
        (b"\xff\xfe", "cannot be read"),
        (b"[]", "no `artifacts` object"),
        (b'{"artifacts": ["a"]}', "no `artifacts` object"),
        (b'{"artifacts": {"../../etc/passwd": "x"}}', "outside the build folder"),
    ],
)
def test_corrupt_previous_manifest_is_reported_not_trusted(tmp_path: Path, content: bytes, fragment: str) -> None:
    (tmp_path / "manifest.json").write_bytes(content)
    paths, error = read_previous_artifacts(tmp_path)
    assert paths == []
    assert error is not None
    assert fragment in error


def test_batches_written_as_they_come_then_the_manifest_and_stale_removal(
    tmp_path: Path, write_order: list[str]
) -> None:
    out = tmp_path / "out"
    write_artifacts({"manifest.json": b"old", "a.json": b"1", "gone/x.json": b"x", "b.json": b"2"}, out)
    write_order.clear()  # only the incremental writes below count
    incremental = writer.ArtifactWriter(out, previous=["manifest.json", "a.json", "gone/x.json", "b.json"])
    incremental.put({"c/d.json": b"new", "a.json": b"1"})
    assert tree(out)["c/d.json"] == b"new"  # on disk before the next batch is even rendered
    assert (out / "gone" / "x.json").exists()  # stale files wait for the commit
    incremental.put({"b.json": b"changed", "manifest.json": b"ignored here"})
    assert tree(out)["manifest.json"] == b"old"
    report = incremental.finish(b"new manifest")
    assert write_order == ["d.json", "b.json", "manifest.json"]
    assert report == WriteReport(
        written=["b.json", "c/d.json", "manifest.json"], unchanged=["a.json"], removed=["gone/x.json"]
    )
    assert tree(out) == {"a.json": b"1", "b.json": b"changed", "c/d.json": b"new", "manifest.json": b"new manifest"}


def test_a_new_folder_is_filled_aside_and_appears_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "out"
    files = {f"handlers/h{i}.json": f"{i}".encode() for i in range(5)} | {"sdk/ts/src/a.ts": b"a", "top.json": b"t"}
    renamed: list[tuple[str, str]] = []
    real_rename = os.rename

    def spy(src: str, dst: str) -> None:
        assert not Path(dst).exists()  # the folder appears only once it is complete
        renamed.append((Path(src).name, Path(dst).name))
        real_rename(src, dst)

    monkeypatch.setattr(os, "rename", spy)
    report = write_artifacts({**files, "manifest.json": b"m"}, out)
    # one rename per new top-level folder, from a hidden temporary name
    assert sorted(dst for _, dst in renamed) == ["handlers", "sdk"]
    assert all(src.startswith(".") and src.endswith(".tmp") for src, _ in renamed)
    assert tree(out) == {**files, "manifest.json": b"m"}
    assert report.written == sorted([*files, "manifest.json"])
    # a second build into the existing folders replaces file by file and skips what is unchanged
    again = write_artifacts({**files, "handlers/h0.json": b"changed", "manifest.json": b"m"}, out)
    assert again.written == ["handlers/h0.json"]


def test_a_failed_new_folder_leaves_nothing_behind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "out"
    calls = 0
    real = writer._write_new

    def fail_third(path: str, data: bytes, *, fsync: bool) -> None:
        nonlocal calls
        calls += 1
        if calls == 3:
            raise OSError("disk full")
        real(path, data, fsync=fsync)

    monkeypatch.setattr(writer, "_write_new", fail_third)
    with pytest.raises(OSError, match="disk full"):
        writer.ArtifactWriter(out).put({f"handlers/h{i}.json": b"x" for i in range(5)})
    assert list(out.iterdir()) == []  # neither the folder nor its temporary copy


def test_a_known_file_is_trusted_by_its_stat_only_when_that_is_old_enough(tmp_path: Path) -> None:
    """`known` (what `gatic watch` holds of the files it wrote) spares reading a file whose size
    and mtime are as known and older than the clock's blur; anything else is compared by bytes."""
    out = tmp_path / "out"
    arts = {"a.txt": b"aaaa", "b.txt": b"bbbb", "c.txt": b"cccc"}
    ArtifactWriter(out).put(arts)
    old, recent = time.time_ns() - 10_000_000_000, time.time_ns()
    os.utime(out / "a.txt", ns=(old, old))
    (out / "b.txt").write_bytes(b"BBBB")  # edited by hand: same size, a new mtime
    # rewritten within the mtime tick of the build that wrote it: same size, same (recent) mtime
    (out / "c.txt").write_bytes(b"CCCC")
    os.utime(out / "c.txt", ns=(recent, recent))
    known = {"a.txt": (4, old, b"aaaa"), "b.txt": (4, old, b"bbbb"), "c.txt": (4, recent, b"cccc")}
    writer = ArtifactWriter(out, previous=sorted(arts), known=known)
    writer.put(arts)
    assert writer.unchanged == ["a.txt"] and writer.written == ["b.txt", "c.txt"]
    assert tree(out) == arts
