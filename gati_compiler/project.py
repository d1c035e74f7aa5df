"""What counts as a Gati project folder, for the command line.

A project is a folder holding `gati.toml`, or a `pyproject.toml` with a `[tool.gati]` table. The
CLI refuses to build anything else, so `gatic build` run in the wrong folder says so instead of
scanning (and writing `.gati/` into) an unrelated tree.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from gati_compiler.config import GATI_TOML, PYPROJECT


def is_project(folder: Path) -> bool:
    """True when `folder` holds `gati.toml` or a `pyproject.toml` with `[tool.gati]`.

    A `pyproject.toml` that is not valid TOML counts as a project: the build reports its
    syntax error with a position, which is more useful than "no project"."""
    if (folder / GATI_TOML).is_file():
        return True
    pyproject = folder / PYPROJECT
    if not pyproject.is_file():
        return False
    try:
        data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError):
        return True
    except OSError:
        return True  # unreadable: the build reports it (GATI003)
    tool = data.get("tool")
    return isinstance(tool, dict) and "gati" in tool


def find_project_problem(folder: Path) -> str | None:
    """`None` for a project folder; otherwise the message `gatic` prints, naming the nearest
    project above `folder` if there is one."""
    if is_project(folder):
        return None
    here = folder.resolve()
    above = next((p for p in here.parents if is_project(p)), None)
    hint = f"; the nearest one is `{above}`" if above is not None else "; create one with `gatic init NAME`"
    return (
        f"no Gati project found in `{folder}`: a project is a folder with `[tool.gati]` in "
        f"`pyproject.toml` or a `gati.toml`{hint}"
    )
