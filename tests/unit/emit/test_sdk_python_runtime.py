"""The generated SDKs of the examples: mypy --strict and tsc on each, and the bookstore's against the real runtime."""

from __future__ import annotations

import asyncio
import importlib
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gati_compiler.pipeline import build

REPO = Path(__file__).resolve().parents[3]
EXAMPLE = REPO / "examples" / "bookstore"
EXAMPLES = sorted(p.name for p in (REPO / "examples").glob("*") if (p / "pyproject.toml").is_file())
TSC = REPO / "node_modules" / ".bin" / "tsc"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not EXAMPLE.is_dir(), reason="the bookstore example is missing"),
]


def _build(example: Path, tmp: Path) -> Path:
    project = tmp / example.name
    shutil.copytree(example, project, ignore=shutil.ignore_patterns(".gati", "__pycache__"))
    result = build(project)
    assert result.ok, [str(d) for d in result.diagnostics]
    return project / ".gati"


@pytest.fixture(scope="module")
def build_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _build(EXAMPLE, tmp_path_factory.mktemp("bookstore"))


@pytest.mark.parametrize("example", EXAMPLES)
def test_example_sdks_type_check(example: str, tmp_path: Path) -> None:
    out = _build(REPO / "examples" / example, tmp_path)
    python = out / "sdk" / "python"
    packages = [p.name for p in python.iterdir() if (p / "__init__.py").is_file()]
    mypy = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", "--cache-dir=/dev/null", *packages],
        cwd=python,
        capture_output=True,
        text=True,
        check=False,
    )
    assert mypy.returncode == 0, mypy.stdout
    if TSC.exists():
        tsc = subprocess.run(
            [str(TSC), "--strict", "--noEmit", "-p", str(out / "sdk" / "typescript")],
            capture_output=True,
            text=True,
            check=False,
        )
        assert tsc.returncode == 0, tsc.stdout


@pytest.fixture(scope="module")
def sdk(build_dir: Path) -> Iterator[Any]:
    root = str(build_dir / "sdk" / "python")
    sys.path.insert(0, root)
    try:
        yield importlib.import_module("bookstore_client")
    finally:
        sys.path.remove(root)
        for name in [m for m in sys.modules if m == "bookstore_client" or m.startswith("bookstore_client.")]:
            del sys.modules[name]


def test_sdk_against_the_runtime(build_dir: Path, sdk: Any) -> None:
    from gati_runtime_min.testing import AppClient

    async def scenario() -> None:
        async with AppClient(build_dir) as http:
            client = sdk.AsyncClient("http://testserver", http_client=http, max_retries=0)
            page = await client.list_books(limit=2, genre=sdk.models.Genre.FICTION)
            assert page["items"] == [] and page["total"] == 0

            with pytest.raises(sdk.UnprocessableEntityError) as invalid:
                await client.list_books(limit=500)
            assert invalid.value.issues and invalid.value.issues[0].path.endswith("limit")
            assert invalid.value.request_id

            raw = await client.with_raw_response.category_tree()
            tree = raw.parse()
            assert tree["slug"] == "all" and tree["children"][0]["children"][0]["slug"] == "crime"
            assert raw.request_id

            with pytest.raises(sdk.NotFoundError) as missing:
                await client.get_book(99999)
            assert missing.value.code == "book_not_found"
            assert missing.value.request_id == missing.value.response.headers["x-request-id"]

            with pytest.raises(sdk.NotFoundError):
                await client.get_order(uuid.uuid4())

            with pytest.raises(sdk.AuthenticationError):
                await client.create_author(body={"name": "Ursula"})

            pinned = sdk.AsyncClient("http://testserver", http_client=http, api_version="1999-01-01T00:00:00Z")
            with pytest.raises(sdk.BadRequestError):
                await pinned.list_books()

    asyncio.run(scenario())
