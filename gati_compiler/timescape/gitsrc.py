"""The project's files at a git ref, read through git without a checkout.

Input: the project folder (anywhere inside a git work tree, or a bare-ish CI clone) and a ref.
Output: `{POSIX path relative to the project folder: bytes}` for the files analysis needs (the
Python sources and the configuration files), from `git ls-tree -r -z` and one `git cat-file
--batch` process. The working tree and the index are never touched, so this works in a
shallow clone as long as the ref's commit was fetched.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

WANTED_NAMES: Final = ("pyproject.toml", "gati.toml")


class GitSourceError(Exception):
    """Why the sources at a ref cannot be read; `kind` picks the diagnostic code."""

    def __init__(self, kind: str, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.kind = kind  # "not-a-repo" | "bad-ref" | "git-failed"
        self.message = message
        self.hint = hint


@dataclass(frozen=True)
class TreeAtRef:
    ref: str
    commit: str
    files: dict[str, bytes]


def _git(cwd: Path, args: Sequence[str], stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    exe = shutil.which("git")
    if exe is None:
        raise GitSourceError("git-failed", "`git` is not installed or not on PATH", "install git to compare with a ref")
    return subprocess.run(
        [exe, "-c", "core.quotepath=off", *args],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        check=False,
    )


def _text(data: bytes) -> str:
    return data.decode("utf-8", "replace").strip()


def resolve_commit(project: Path, ref: str) -> str:
    """The commit `ref` names, or a `GitSourceError` saying what is wrong."""
    inside = _git(project, ["rev-parse", "--is-inside-work-tree"])
    if inside.returncode != 0:
        raise GitSourceError(
            "not-a-repo",
            f"`{project}` is not inside a git repository, so `{ref}` cannot be read",
            "run this in a git clone of the project, or compare two recorded versions with `gatic diff`",
        )
    if ref.startswith("-"):
        raise GitSourceError("bad-ref", f"`{ref}` is not a git ref")
    found = _git(project, ["rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}"])
    if found.returncode != 0:
        shallow = _text(_git(project, ["rev-parse", "--is-shallow-repository"]).stdout) == "true"
        hint = (
            f"this is a shallow clone: fetch the ref first, e.g. `git fetch --depth=1 origin {ref.split('/')[-1]}`"
            if shallow
            else "check the spelling, or `git fetch` the branch it names"
        )
        raise GitSourceError("bad-ref", f"`{ref}` does not name a commit in this repository", hint)
    return _text(found.stdout)


def read_tree(project: Path, ref: str) -> TreeAtRef:
    """The Python sources and configuration files of the project folder at `ref`."""
    commit = resolve_commit(project, ref)
    prefix = _text(_git(project, ["rev-parse", "--show-prefix"]).stdout)
    listing = _git(project, ["ls-tree", "-r", "-z", "--full-tree", commit, "--", prefix or "."])
    if listing.returncode != 0:
        raise GitSourceError("git-failed", f"`git ls-tree` failed at `{ref}`: {_text(listing.stderr)}")
    wanted: list[tuple[str, str]] = []  # (path relative to the project, blob id)
    for entry in listing.stdout.split(b"\0"):
        if not entry:
            continue
        meta, _, raw_path = entry.partition(b"\t")
        mode, kind, blob = meta.split(b" ")
        if kind != b"blob" or mode == b"120000":  # submodules and symlinks hold no source here
            continue
        path = raw_path.decode("utf-8", "surrogateescape")
        rel = path[len(prefix) :] if prefix and path.startswith(prefix) else path
        if rel.endswith(".py") or rel in WANTED_NAMES:
            wanted.append((rel, blob.decode("ascii")))
    return TreeAtRef(ref, commit, _cat_blobs(project, wanted))


def _cat_blobs(project: Path, wanted: list[tuple[str, str]]) -> dict[str, bytes]:
    """All blobs through one `git cat-file --batch`; a blob shared by several paths is read once."""
    unique = sorted({blob for _, blob in wanted})
    if not unique:
        return {}
    done = _git(project, ["cat-file", "--batch"], stdin="".join(f"{b}\n" for b in unique).encode("ascii"))
    if done.returncode != 0:
        raise GitSourceError("git-failed", f"`git cat-file --batch` failed: {_text(done.stderr)}")
    out = done.stdout
    blobs: dict[str, bytes] = {}
    pos = 0
    for blob in unique:
        end = out.index(b"\n", pos)
        header = out[pos:end].split(b" ")
        if len(header) != 3 or header[1] != b"blob":
            raise GitSourceError("git-failed", f"`git cat-file` did not return blob {blob}")
        size = int(header[2])
        blobs[blob] = out[end + 1 : end + 1 + size]
        pos = end + 1 + size + 1
    return {rel: blobs[blob] for rel, blob in wanted}
