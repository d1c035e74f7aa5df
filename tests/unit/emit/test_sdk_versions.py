"""The SDKs' clients pinned to every live Timescape version (bookstore's lock: v1.0.0, v1.1.0, v2.0.0):
layout, per-version types, the README changelog, no change without a lock, ruff, mypy --strict and tsc."""

from __future__ import annotations

import importlib
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from gati_compiler.emit._sdk_versions import demote_headings, sdk_versions
from gati_compiler.emit.sdk_python import emit_python_sdk
from gati_compiler.emit.sdk_ts import emit_typescript_sdk
from gati_compiler.pipeline import BuildResult, build

REPO = Path(__file__).resolve().parents[3]
BOOKSTORE = REPO / "examples" / "bookstore"
TSC = REPO / "node_modules" / ".bin" / "tsc"
RUFF = Path(sys.executable).parent / "ruff"
V1, V11, V2 = "v2026_09_01T090000Z", "v2026_10_01T090000Z", "v2026_11_02T090000Z"
PY = "sdk/python/bookstore_client"
TS = "sdk/typescript/src"


def _build(project: Path) -> BuildResult:
    result = build(project, write=False, jobs=1)
    assert result.ok, [d.message for d in result.diagnostics]
    return result


@pytest.fixture(scope="module")
def bookstore(tmp_path_factory: pytest.TempPathFactory) -> BuildResult:
    project = tmp_path_factory.mktemp("sdkv") / "bookstore"
    shutil.copytree(BOOKSTORE, project, ignore=shutil.ignore_patterns(".gati", "__pycache__"))
    return _build(project)


@pytest.fixture(scope="module")
def artifacts(bookstore: BuildResult) -> Mapping[str, bytes]:
    return bookstore.artifacts


def _text(artifacts: Mapping[str, bytes], rel: str) -> str:
    return artifacts[rel].decode("utf-8")


def test_every_live_version_gets_a_python_subpackage_and_a_typescript_namespace(
    artifacts: Mapping[str, bytes],
) -> None:
    for slug in (V1, V11, V2):
        for name in ("__init__.py", "client.py", "models.py", "_validators/__init__.py"):
            assert f"{PY}/versions/{slug}/{name}" in artifacts
        for name in ("client.ts", "types.ts", "index.ts"):
            assert f"{TS}/versions/{slug}/{name}" in artifacts
    index = _text(artifacts, f"{PY}/versions/__init__.py")
    assert f'"2026-09-01T09:00:00Z": "{V1}"' in index and '"v1.0.0": "2026-09-01T09:00:00Z"' in index
    ts_index = _text(artifacts, f"{TS}/versions/index.ts")
    assert f'export * as {V1} from "./{V1}/index.js";' in ts_index
    assert 'export * as versions from "./versions/index.js";' in _text(artifacts, f"{TS}/index.ts")


def test_a_versioned_client_always_sends_its_version(artifacts: Mapping[str, bytes]) -> None:
    client = _text(artifacts, f"{PY}/versions/{V1}/client.py")
    assert 'API_VERSION: typing.Final = "2026-09-01T09:00:00Z"' in client
    assert "api_version=API_VERSION" in client and "api_version: str | None" not in client
    assert "from ._validators import HANDLERS, DecodeError" in client  # its own decoders, not the root's
    ts = _text(artifacts, f"{TS}/versions/{V1}/client.ts")
    assert 'export const API_VERSION = "2026-09-01T09:00:00Z";' in ts
    assert "new Core({ ...options, apiVersion: API_VERSION })" in ts


def test_each_version_speaks_its_own_types(artifacts: Mapping[str, bytes]) -> None:
    # v2.0.0 renamed `Book.stock` to `in_stock`; `stats` arrived in v1.1.0
    v1_models = _text(artifacts, f"{PY}/versions/{V1}/models.py")
    v2_models = _text(artifacts, f"{PY}/versions/{V2}/models.py")
    assert "    stock: int\n" in v1_models and "in_stock" not in v1_models
    assert "    in_stock: int\n" in v2_models
    assert "def stats(" not in _text(artifacts, f"{PY}/versions/{V1}/client.py")
    assert "def stats(" in _text(artifacts, f"{PY}/versions/{V11}/client.py")
    v1_types = _text(artifacts, f"{TS}/versions/{V1}/types.ts")
    assert "  stock: number;" in v1_types and "in_stock" not in v1_types
    decoders = _text(artifacts, f"{PY}/versions/{V1}/_validators/__init__.py")
    assert f"bookstore_client.versions.{V1}.models" in decoders


def test_the_readmes_carry_the_version_table_and_the_changelog(artifacts: Mapping[str, bytes]) -> None:
    for rel in ("sdk/python/README.md", "sdk/typescript/README.md"):
        readme = _text(artifacts, rel)
        assert "## Clients of every version" in readme
        assert "| 2026-09-01T09:00:00Z (v1.0.0; deprecated, sunset 2027-06-30) |" in readme
        assert readme.index("## Changelog of bookstore") < readme.index("### 2026-11-02T09:00:00Z (tags: v2.0.0")
        assert "`response-required-property-removed`" in readme
        assert "First recorded contract: 14 endpoints." in readme
        assert readme.endswith("endpoints.\n") and "Unreleased" not in readme


def test_demote_headings_moves_every_heading_one_level_down() -> None:
    assert demote_headings("# A\n\ntext # not\n## B\n") == "## A\n\ntext # not\n### B\n"


def test_without_a_lock_there_are_no_versioned_clients_and_no_changelog(bookstore: BuildResult, tmp_path: Path) -> None:
    assert bookstore.program is not None
    assert sdk_versions(None, bookstore.program) is None
    project = tmp_path / "bookstore"
    shutil.copytree(BOOKSTORE, project, ignore=shutil.ignore_patterns(".gati", "__pycache__", "timescape.lock"))
    plain = _build(project).artifacts
    assert not [rel for rel in plain if "/versions/" in rel]
    assert "sdk/typescript/README.md" not in plain
    assert "Changelog" not in plain["sdk/python/README.md"].decode()
    assert b"export class Core" not in plain[f"{TS}/client.ts"]
    # the emitters with no versions are the emitters as they were
    header = "Generated by gatic; do not edit."
    program = bookstore.program
    assert emit_python_sdk(program, header=header, versions=None) == emit_python_sdk(program, header=header)
    assert emit_typescript_sdk(program, header=header, versions=None) == emit_typescript_sdk(program, header=header)


def test_versioned_sdks_are_deterministic(bookstore: BuildResult) -> None:
    assert bookstore.program is not None and bookstore.lock is not None
    versions = sdk_versions(bookstore.lock, bookstore.program)
    header = "h"
    first = emit_python_sdk(bookstore.program, header=header, versions=versions)
    assert first == emit_python_sdk(bookstore.program, header=header, versions=versions)
    ts = emit_typescript_sdk(bookstore.program, header=header, versions=versions)
    assert ts == emit_typescript_sdk(bookstore.program, header=header, versions=versions)


def _write(artifacts: Mapping[str, bytes], root: Path, prefix: str) -> Path:
    for rel, data in artifacts.items():
        if rel.startswith(prefix):
            path = root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
    return root / prefix


@pytest.fixture(scope="module")
def python_sdk(artifacts: Mapping[str, bytes], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    root = _write(artifacts, tmp_path_factory.mktemp("pysdk"), "sdk/python")
    yield root
    for name in [m for m in sys.modules if m.split(".")[0] == "bookstore_client"]:
        del sys.modules[name]


def test_versioned_decoders_check_that_versions_shape(python_sdk: Path) -> None:
    sys.path.insert(0, str(python_sdk))
    try:
        for name in [m for m in sys.modules if m.split(".")[0] == "bookstore_client"]:
            del sys.modules[name]
        v1: Any = importlib.import_module(f"bookstore_client.versions.{V1}._validators")
        v2: Any = importlib.import_module(f"bookstore_client.versions.{V2}._validators")
    finally:
        sys.path.remove(str(python_sdk))
    price = {"amount": 100, "currency": "EUR"}
    old: dict[str, object] = {"id": 1, "title": "T", "isbn": "9780306406157", "author_id": 1, "genre": "fiction"}
    old["price"] = price
    assert v1.HANDLERS["get_book"].decode_body({**old, "stock": 3})["stock"] == 3
    with pytest.raises(v1.DecodeError):
        v1.HANDLERS["get_book"].decode_body({**old, "in_stock": 3, "tags": []})
    with pytest.raises(v2.DecodeError):
        v2.HANDLERS["get_book"].decode_body({**old, "stock": 3})


GOOD_USE = f"""
from __future__ import annotations

from bookstore_client.versions import async_client_for, client_for, {V1}, {V2}


def run() -> int:
    with client_for("v1.0.0")("http://x", max_retries=0) as client:
        book: {V1}.models.Book = client.get_book(1)
        stock: int = book["stock"]
    with {V2}.Client("http://x") as current:
        now: int = current.get_book(1)["in_stock"]
    return stock + now


async def arun() -> int:
    async with async_client_for("2026-10-01T09:00:00Z")("http://x") as client:
        stats = await client.stats()
    return len(stats)
"""

BAD_USES = (
    f'{V1}.Client("http://x").get_book(1)["in_stock"]',
    f'{V1}.Client("http://x").stats()',
    f'{V1}.Client("http://x", api_version="v2.0.0")',
    'client_for("v1.0.0")("http://x").stats()',
)


@pytest.mark.slow
def test_python_versioned_sdk_is_ruff_clean_and_mypy_strict(python_sdk: Path) -> None:
    args = ("--isolated", "--line-length", "120", "--exclude", "_validators", ".")
    for command in (["format", "--check", "--diff"], ["check", "--select", "E,F,I,B,SIM,RUF"]):
        done = subprocess.run([str(RUFF), *command, *args], cwd=python_sdk, capture_output=True, text=True)
        assert done.returncode == 0, done.stdout + done.stderr
    (python_sdk / "good_use.py").write_text(GOOD_USE, encoding="utf-8")
    bad = "".join(f"\n\ndef bad{i}() -> None:\n    {code}\n" for i, code in enumerate(BAD_USES))
    (python_sdk / "bad_use.py").write_text(f"from bookstore_client.versions import client_for, {V1}\n{bad}")
    mypy = [sys.executable, "-m", "mypy", "--strict", "--no-incremental", "--cache-dir=/dev/null"]
    done = subprocess.run([*mypy, "bookstore_client", "good_use.py"], cwd=python_sdk, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout
    done = subprocess.run([*mypy, "bad_use.py"], cwd=python_sdk, capture_output=True, text=True)
    lines = {int(line.split(":")[1]) for line in done.stdout.splitlines() if ": error:" in line}
    expected = {5 + 4 * i for i in range(len(BAD_USES))}
    assert lines == expected, done.stdout


TS_GOOD_USE = f"""
import {{ Client, versions }} from "./index.js";

export async function run(): Promise<number> {{
  const old = new versions.{V1}.Client({{ baseUrl: "http://x", maxRetries: 0 }});
  const book: versions.{V1}.types.Book = await old.getBook({{ id: 1 }});
  const now = await new Client({{ baseUrl: "http://x" }}).getBook({{ id: 1 }});
  const raw = await old.withRawResponse.listAuthors();
  return book.stock + now.in_stock + raw.response.status + versions.{V1}.API_VERSION.length;
}}
"""
TS_BAD_USES = (
    f'(await new versions.{V1}.Client({{ baseUrl: "x" }}).getBook({{ id: 1 }})).in_stock;',
    f'await new versions.{V1}.Client({{ baseUrl: "x" }}).stats();',
)


@pytest.mark.slow
@pytest.mark.skipif(not TSC.exists(), reason="node_modules/.bin/tsc is missing: run `npm ci` at the repo root")
def test_typescript_versioned_sdk_passes_tsc_strict(artifacts: Mapping[str, bytes], tmp_path: Path) -> None:
    project = _write(artifacts, tmp_path, "sdk/typescript")
    (project / "src" / "use.ts").write_text(TS_GOOD_USE, encoding="utf-8")
    tsc = [str(TSC), "--strict", "--noEmit", "-p", str(project)]
    done = subprocess.run(tsc, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    for bad in TS_BAD_USES:
        (project / "src" / "use.ts").write_text(
            f'import {{ versions }} from "./index.js";\nexport async function f(): Promise<unknown> {{\n  '
            f"return {bad}\n}}\n",
            encoding="utf-8",
        )
        done = subprocess.run(tsc, capture_output=True, text=True)
        assert done.returncode != 0 and "src/use.ts(3," in done.stdout, (bad, done.stdout)


@pytest.mark.slow
def test_a_single_untagged_version_gives_a_clean_typed_package(bookstore: BuildResult, tmp_path: Path) -> None:
    from gati_compiler.timescape.contract import contract_from_program
    from gati_compiler.timescape.record import record

    assert bookstore.program is not None
    program = bookstore.program.model_copy(update={"timescapeCurrent": "2026-12-01T10:00:00Z"})
    lock = record(None, contract_from_program(program), at="2026-12-01T10:00:00Z")
    versions = sdk_versions(lock, program)
    assert versions is not None and [v.slug for v in versions.versions] == ["v2026_12_01T100000Z"]
    files = emit_python_sdk(program, header="h", versions=versions)
    root = _write(files, tmp_path, "sdk/python")
    index = (root / "bookstore_client" / "versions" / "__init__.py").read_text(encoding="utf-8")
    assert "TAGS: typing.Final[dict[str, str]] = {}" in index
    args = ("--isolated", "--line-length", "120", "--exclude", "_validators", ".")
    done = subprocess.run([str(RUFF), "format", "--check", "--diff", *args], cwd=root, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    mypy = [sys.executable, "-m", "mypy", "--strict", "--no-incremental", "--cache-dir=/dev/null", "bookstore_client"]
    done = subprocess.run(mypy, cwd=root, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout


def test_a_retired_version_has_no_client_but_stays_in_the_changelog(bookstore: BuildResult) -> None:
    from gati_compiler.timescape.record import retire

    assert bookstore.program is not None and bookstore.lock is not None
    versions = sdk_versions(retire(bookstore.lock, "v1.0.0", at="2026-12-01T00:00:00Z"), bookstore.program)
    assert versions is not None
    assert [v.slug for v in versions.versions] == [V11, V2]
    assert "### 2026-09-01T09:00:00Z (tags: v1.0.0; retired" in versions.changelog
    files = emit_python_sdk(bookstore.program, header="h", versions=versions)
    assert not [rel for rel in files if f"/versions/{V1}/" in rel]
