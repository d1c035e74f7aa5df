"""`gatic init NAME`: the files of a new app, rendered from `templates/init/`.

Input: a project name. Output: relative POSIX path -> bytes; `writer.write_artifacts` (or the
CLI) puts them on disk. Every escaping decision is made here, not in the templates.
"""

from __future__ import annotations

import json
import re
from typing import Final

from gati_compiler.emit.render import make_environment
from gati_compiler.version import __version__

TEMPLATE_DIR: Final = "init"
_NAME: Final = re.compile(r"[A-Za-z](?:[A-Za-z0-9._-]{0,62}[A-Za-z0-9])?")


def project_name_problem(name: str) -> str | None:
    """Why `name` is not a usable project name, or `None` when it is.

    A name is a PEP 508 distribution name that is also safe as a folder and image name:
    ASCII letters, digits, `-`, `_` and `.`, starting with a letter and ending with a letter or
    digit, at most 64 characters.
    """
    if _NAME.fullmatch(name):
        return None
    return (
        f"`{name}` is not a valid project name: use ASCII letters, digits, `-`, `_` and `.`, "
        "start with a letter, end with a letter or digit, at most 64 characters"
    )


def local_gati_requirement() -> str | None:
    """How the new app should depend on this gati: `gati @ file:///...` when this gati was installed
    from a local checkout or wheel (PEP 610's `direct_url.json`), else `None`.

    The name `gati` alone would resolve on PyPI to an unrelated project, so the app never names it
    without a location. Reads the installed distribution's metadata (the CLI's I/O, not a stage).
    """
    from importlib import metadata

    try:
        dist = metadata.distribution("gati")
        direct = dist.read_text("direct_url.json")
    except metadata.PackageNotFoundError:
        return None
    if not direct:  # installed from an index: no location to give
        return None
    try:
        url = json.loads(direct).get("url")
    except ValueError:
        return None
    if not isinstance(url, str) or not url.startswith("file://"):
        return None
    return f"gati @ {url}"


def scaffold_files(name: str, gati_requirement: str | None = None) -> dict[str, bytes]:
    """Render every template under `templates/init/` for the project `name`.

    `gati_requirement` is the app's dependency on gati (`gati @ file:///path/to/gati`, a wheel's
    path, a VCS URL); without one the app lists no gati dependency and its README says to install
    gati first.

    Returns:
        Relative POSIX output path (the template name without `init/` and `.j2`) -> UTF-8 bytes.

    Raises:
        ValueError: `name` is not a valid project name (see `project_name_problem`); the CLI
            reports it as a usage error.
    """
    problem = project_name_problem(name)
    if problem is not None:
        raise ValueError(problem)
    env = make_environment()
    view = {
        "name": name,
        # a JSON string is a valid TOML basic string
        "name_toml": json.dumps(name, ensure_ascii=False),
        "description_toml": json.dumps(f"The {name} app, built with Gati", ensure_ascii=False),
        "gati_requirement_toml": json.dumps(gati_requirement) if gati_requirement else None,
        "gati_version": __version__,
    }
    prefix = f"{TEMPLATE_DIR}/"
    names = sorted(env.list_templates(filter_func=lambda n: n.startswith(prefix) and n.endswith(".j2")))
    files: dict[str, bytes] = {}
    for template_name in names:
        out_path = template_name.removeprefix(prefix).removesuffix(".j2")
        files[out_path] = env.get_template(template_name).render(view).encode("utf-8")
    return files
