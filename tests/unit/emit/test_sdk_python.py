"""The generated Python SDK: views, valid and formatted code, mypy --strict; calls in `test_sdk_python_client.py`."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from gati_compiler.emit import _sdk_names as names
from gati_compiler.emit._sdk_python_types import build_models_view
from gati_compiler.emit.render import py_str
from gati_compiler.emit.sdk_python import build_client_view, emit_python_sdk
from gati_compiler.ir.models import (
    Program,
)
from tests.unit.emit.sdk_sample import HEADER, PYTHON, REPO, sample_program, write_files

# -- views (no jinja) ---------------------------------------------------------------------------


def test_names_collide_into_qualified_names_and_avoid_reserved_ones() -> None:
    view = build_models_view(sample_program().gtypes, header=HEADER)
    kinds = view.class_kinds()
    assert kinds["app.models.User"] == ("AppModelsUser", "typeddict")
    assert kinds["other.User"] == ("OtherUser", "typeddict")
    assert kinds["app.models.Role"] == ("Role", "enum")
    profile = next(td for td in view.typed_dicts if td.name == "Profile")
    assert profile.functional  # `display-name` and `class` are not identifiers
    assert [a.name for a in view.aliases] == ["Json"]
    assert view.aliases[0].value.startswith('"')  # recursive: quoted


def test_client_view_escapes_parameters_and_methods() -> None:
    view = build_client_view(sample_program(), header=HEADER)
    methods = {m.name: m for m in view.methods}
    assert "call_close" in methods  # `close` is the client's own method
    assert [q.ident for q in methods["list_users"].query] == ["limit", "name_prefix", "role"]
    assert methods["list_users"].query[1].key == '"name-prefix"'
    assert methods["get_file"].path_expr == '"/files/" + _base.segment(path, keep_slash=True)'
    assert methods["delete_user"].returns_none
    assert methods["get_user"].path_params[0].ident == "id"  # shadowing a builtin is fine in a signature
    assert view.default_api_version == '"2026-11-21T10:30:00Z"'


@pytest.mark.parametrize(
    ("text", "literal"), [("a", '"a"'), ('say "hi"', "'say \"hi\"'"), ("it's", '"it\'s"'), ("\n\\", '"\\n\\\\"')]
)
def test_py_str_round_trips(text: str, literal: str) -> None:
    assert py_str(text) == literal
    assert eval(literal) == text


def test_identifiers() -> None:
    assert names.py_identifier("class") == "class_"
    assert names.py_identifier("first-name") == "first_name"
    assert names.snake("getUserById") == "get_user_by_id"


# -- the generated files ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sdk() -> dict[str, bytes]:
    return emit_python_sdk(sample_program(), header=HEADER)


@pytest.fixture(scope="module")
def sdk_dir(sdk: dict[str, bytes], tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_files(sdk, tmp_path_factory.mktemp("sdk"))


def test_layout(sdk: dict[str, bytes]) -> None:
    for rel in ("pyproject.toml", "shop_client/__init__.py", "shop_client/models.py", "shop_client/client.py"):
        assert f"sdk/python/{rel}" in sdk
    assert sdk["sdk/python/shop_client/py.typed"] == b""
    assert any(rel.startswith("sdk/python/shop_client/_validators/") for rel in sdk)


def test_decoders_never_import_the_servers_modules(sdk: dict[str, bytes]) -> None:
    decoders = sdk["sdk/python/shop_client/_validators/__init__.py"].decode()
    assert "app.enums" not in decoders and "import app" not in decoders
    assert "shop_client.models" in decoders


def test_deterministic(sdk: dict[str, bytes]) -> None:
    assert emit_python_sdk(sample_program(), header=HEADER) == sdk


def test_python_files_compile_and_carry_the_header(sdk: dict[str, bytes]) -> None:
    for rel, data in sdk.items():
        if rel.endswith(".py") and data:
            text = data.decode()
            compile(text, rel, "exec")
            assert text.startswith(f"# {HEADER}\n"), rel
            assert text.endswith("\n") and "\r" not in text


RUFF = str(REPO / ".venv" / "bin" / "ruff")
# the decoders come from `emit.validators`, whose own tests check their formatting
RUFF_ARGS = ("--isolated", "--line-length", "120", "--exclude", "_validators", ".")


def _ruff_clean(root: Path) -> None:
    for command in (["format", "--check", "--diff"], ["check", "--select", "E,F,I,UP,B,SIM,RUF"]):
        result = subprocess.run([RUFF, *command, *RUFF_ARGS], cwd=root, capture_output=True, text=True, check=False)
        assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_format_and_lint_clean(sdk_dir: Path) -> None:
    _ruff_clean(sdk_dir)


@pytest.mark.slow
def test_empty_program_gives_a_clean_package(tmp_path: Path) -> None:
    root = write_files(emit_python_sdk(Program(app="my-app"), header=HEADER), tmp_path)
    assert (root / "my_app_client" / "client.py").exists()
    _ruff_clean(root)
    result = _mypy(root, "my_app_client")
    assert result.returncode == 0, result.stdout


# -- typing: mypy --strict on the SDK, a program using it, and one misusing it -------------------

GOOD_USE = """
from __future__ import annotations

import asyncio
import datetime

from shop_client import AsyncClient, Client, NotFoundError, RateLimitError, models


def run(client: Client) -> None:
    users: list[models.AppModelsUser] = client.list_users(limit=3, name_prefix="a", role=[models.Role.ADMIN])
    created: datetime.datetime = users[0]["created"]
    new = client.create_user(body={"name": "x", "role": models.Role.MEMBER})
    assert new["id"] >= 0 and created.year > 0
    client.delete_user(1)
    raw = client.with_raw_response.get_user(2)
    print(raw.status_code, raw.request_id, raw.parse()["name"])
    tree: models.Json = client.get_file("a/b.txt")
    print(tree)
    try:
        client.get_user(3, request_options={"timeout": 1.0, "max_retries": 0})
    except NotFoundError as exc:
        print(exc.request_id, [issue.path for issue in exc.issues])
    except RateLimitError as exc:
        print(exc.retry_after)
    print(client.call_close()["self"], client.profile().get("display-name"))


async def arun() -> None:
    async with AsyncClient("http://x", api_version=None, max_retries=1) as client:
        user = await client.get_user(1)
        reveal = user["role"]
        assert reveal is models.Role.ADMIN
        raw = await client.with_raw_response.flaky()
        text: str = raw.parse()
        print(text)


with Client("http://x") as c:
    run(c)
asyncio.run(arun())
"""

BAD_USES = {
    "wrong_path_param": "client.get_user('1')",
    "missing_body": "client.create_user()",
    "wrong_body_field": "client.create_user(body={'name': 1})",
    "unknown_query": "client.list_users(offset=3)",
    "wrong_return": "x: int = client.get_user(1)",
    "none_result_used": "client.delete_user(1)['id']",
    "positional_query": "client.list_users(3)",
    "bad_enum": "client.list_users(role=['admin'])",
}


def _mypy(cwd: Path, *targets: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(PYTHON), "-m", "mypy", "--strict", "--no-incremental", "--cache-dir=/dev/null", *targets],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.mark.slow
def test_mypy_strict_accepts_sdk_and_good_use(sdk_dir: Path) -> None:
    (sdk_dir / "good_use.py").write_text(GOOD_USE)
    result = _mypy(sdk_dir, "shop_client", "good_use.py")
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.slow
def test_mypy_strict_rejects_misuse(sdk_dir: Path) -> None:
    lines = ["from shop_client import Client, models", "client = Client('http://x')"]
    for name, code in BAD_USES.items():
        lines.append(f"def {name}() -> None:\n    {code}")
    (sdk_dir / "bad_use.py").write_text("\n\n".join(lines) + "\n")
    result = _mypy(sdk_dir, "bad_use.py")
    assert result.returncode == 1, result.stdout
    failing = {line.split(":")[1] for line in result.stdout.splitlines() if line.startswith("bad_use.py:")}
    # every misuse line is reported
    expected = {
        str(i)
        for i, line in enumerate((sdk_dir / "bad_use.py").read_text().splitlines(), 1)
        if "client." in line and "Client(" not in line
    }
    assert expected <= failing, result.stdout


DIGEST_SCRIPT = """
import hashlib, sys
sys.path.insert(0, sys.argv[1])
from sdk_sample import HEADER, sample_program
from gati_compiler.canonical import canonical_bytes
from gati_compiler.emit.openapi import build_openapi
from gati_compiler.emit.sdk_python import emit_python_sdk
from gati_compiler.emit.sdk_ts import emit_typescript_sdk
files = {**emit_python_sdk(sample_program(), header=HEADER), **emit_typescript_sdk(sample_program(), header=HEADER)}
files["openapi.json"] = canonical_bytes(build_openapi(sample_program(), {"auth": {"jwt": {}, "api_keys": {}}}))
digest = hashlib.sha256()
for rel in sorted(files):
    digest.update(rel.encode() + b"\\0" + files[rel])
print(digest.hexdigest())
"""


@pytest.mark.slow
def test_output_does_not_depend_on_hash_seed() -> None:
    digests = set()
    for seed in ("0", "1"):
        result = subprocess.run(
            [str(PYTHON), "-c", DIGEST_SCRIPT, str(Path(__file__).parent)],
            env={"PYTHONHASHSEED": seed, "PATH": "/usr/bin:/bin"},
            cwd=REPO,
            capture_output=True,
            text=True,
            check=True,
        )
        digests.add(result.stdout)
    assert len(digests) == 1
