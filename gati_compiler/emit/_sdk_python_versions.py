"""The Python SDK's clients pinned to recorded versions: `<package>/versions/<slug>/` and the index.

Input: `SdkVersions` (from the lock) and the root `ClientView`. Output: `{relative POSIX path:
bytes}` under `sdk/python/<package>/versions/`, and the view the README's version table reads.
Each version gets its own `models.py`, `client.py` and decoders; transport and errors are the
root package's. No disk I/O.
"""

from __future__ import annotations

from typing import Final

from pydantic import BaseModel, ConfigDict

from gati_compiler.emit._sdk_versions import SdkVersions, VersionedProgram, describe
from gati_compiler.emit.render import make_environment, py_str
from gati_compiler.emit.sdk_python import ROOT, VALIDATORS_PACKAGE, ClientView, build_client_view, client_files

TEMPLATES: Final = ("sdk_python/versions_init.py.j2", "sdk_python/version_init.py.j2")
PACKAGE: Final = "versions"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class VersionEntryView(_Frozen):
    tsv: str  # the TSV as written (README)
    tsv_literal: str
    slug: str
    described: str
    client_overload: str  # the `client_for` overload of this version, formatted as `ruff format` would
    async_client_overload: str
    tags: tuple[str, ...]


class VersionsView(_Frozen):
    header: str
    app: str
    package: str
    entries: tuple[VersionEntryView, ...]  # oldest first
    tags: tuple[tuple[str, str], ...]  # (tag literal, TSV literal), sorted by tag
    any_client: str  # the `AnyClient` alias statement, formatted as `ruff format` would
    any_async_client: str
    changelog: str


def build_versions_view(versions: SdkVersions, root: ClientView) -> VersionsView:
    entries = []
    tags: list[tuple[str, str]] = []
    for v in versions.versions:
        names = [py_str(v.tsv), *(py_str(t) for t in v.tags)]
        entries.append(
            VersionEntryView(
                tsv=v.tsv,
                tsv_literal=py_str(v.tsv),
                slug=v.slug,
                described=describe(v),
                client_overload=overload("client_for", names, f"type[{v.slug}.Client]"),
                async_client_overload=overload("async_client_for", names, f"type[{v.slug}.AsyncClient]"),
                tags=v.tags,
            )
        )
        tags.extend((py_str(t), py_str(v.tsv)) for t in v.tags)
    return VersionsView(
        header=root.header,
        app=root.app,
        package=root.package,
        entries=tuple(entries),
        tags=tuple(sorted(tags)),
        any_client=union_alias("AnyClient", [f"type[{e.slug}.Client]" for e in entries]),
        any_async_client=union_alias("AnyAsyncClient", [f"type[{e.slug}.AsyncClient]" for e in entries]),
        changelog=versions.changelog,
    )


def overload(function: str, names: list[str], returns: str, width: int = 120) -> str:
    """`def f(version: typing.Literal[...]) -> returns: ...`, on one line when it fits."""
    param = f"version: typing.Literal[{', '.join(names)}]"
    line = f"def {function}({param}) -> {returns}: ..."
    return line if len(line) <= width else f"def {function}(\n    {param},\n) -> {returns}: ..."


def union_alias(name: str, options: list[str], width: int = 120) -> str:
    """`name: typing.TypeAlias = a | b`, wrapped the way `ruff format` wraps a long union."""
    head = f"{name}: typing.TypeAlias = "
    joined = " | ".join(options)
    if len(head) + len(joined) <= width:
        return head + joined
    if 4 + len(joined) <= width:
        return f"{head}(\n    {joined}\n)"
    return head + "(\n    " + "\n    | ".join(options) + "\n)"


def _version_files(version: VersionedProgram, root: ClientView, *, header: str) -> dict[str, bytes]:
    module = f"{root.package}.{PACKAGE}.{version.slug}"
    path = f"{ROOT}/{root.package}/{PACKAGE}/{version.slug}"
    view = build_client_view(version.program, header=header, pin=describe(version))
    # the root client's `_validators` holds the runtime: `<root>.versions.<slug>._validators` -> `....`
    runtime = f"....{VALIDATORS_PACKAGE}"
    out = client_files(version.program, view, path, module, header=header, runtime_from=runtime)
    env = make_environment()
    out[f"{path}/__init__.py"] = env.get_template("sdk_python/version_init.py.j2").render(view=view).encode("utf-8")
    return out


def emit_python_versions(versions: SdkVersions, index: VersionsView, root: ClientView) -> dict[str, bytes]:
    """`versions/__init__.py` (the index) and one subpackage per live version."""
    out: dict[str, bytes] = {}
    if not versions.versions:
        return out
    env = make_environment()
    text = env.get_template("sdk_python/versions_init.py.j2").render(view=index)
    out[f"{ROOT}/{root.package}/{PACKAGE}/__init__.py"] = text.encode("utf-8")
    for version in versions.versions:
        out.update(_version_files(version, root, header=root.header))
    return out
