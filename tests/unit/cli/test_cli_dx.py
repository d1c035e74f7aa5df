"""The command line as a new user meets it: bare `gatic`, no project, the JSON build summary,
absolute documentation links, "did you mean" for unresolved names, and the FastAPI hint."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner, Result

from gati_compiler.cli import main
from gati_compiler.diagnostics.codes import REGISTRY
from gati_compiler.version import DOCS_BASE_URL

REPO = Path(__file__).resolve().parents[3]
DIAGNOSTICS_MD = (REPO / "docs" / "diagnostics.md").read_text(encoding="utf-8")
HANDLER_ARGS = "req: Request[None], res: Response[Order], lctx: LocalContext, gctx: GlobalContext"
IMPORTS = "from gati_runtime_min import GlobalContext, LocalContext, Request, Response, get\n"


def run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), env={"NO_COLOR": "1", "FORCE_COLOR": ""})


def project(tmp_path: Path, handlers: str, models: str | None = None) -> Path:
    root = tmp_path / "app"
    root.mkdir()
    (root / "pyproject.toml").write_text('[tool.gati]\nname = "app"\n', encoding="utf-8")
    (root / "handlers.py").write_text(handlers, encoding="utf-8")
    if models is not None:
        (root / "models.py").write_text(models, encoding="utf-8")
    return root


MODELS = "from typing import TypedDict\n\n\nclass Order(TypedDict):\n    id: int\n"


def test_bare_gatic_prints_help_to_stdout_and_exits_zero() -> None:
    gatic = Path(sys.executable).parent / "gatic"  # the installed console script
    done = subprocess.run([str(gatic)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Usage: ")
    for command in ("build", "check", "init", "serve", "watch"):
        assert f"  {command} " in done.stdout
    assert done.stderr == ""


def test_build_outside_a_project_says_no_project_and_writes_nothing(tmp_path: Path) -> None:
    (tmp_path / "stray.py").write_text("x = 1\n", encoding="utf-8")
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "other"\n', encoding="utf-8")
    for command in ("build", "check"):
        result = run(command, str(tmp_path))
        assert result.exit_code == 2, result.output
        assert "no Gati project found" in result.output
        assert "[tool.gati]" in result.output
    assert not (tmp_path / ".gati").exists()


def test_no_project_names_the_nearest_project_above(tmp_path: Path) -> None:
    root = project(tmp_path, "")
    sub = root / "sub"
    sub.mkdir()
    result = run("build", str(sub))
    assert result.exit_code == 2
    assert f"the nearest one is `{root.resolve()}`" in result.output.replace("\n", "")


def test_gati_toml_alone_is_a_project(tmp_path: Path) -> None:
    (tmp_path / "gati.toml").write_text('name = "solo"\n', encoding="utf-8")
    (tmp_path / "handlers.py").write_text(
        IMPORTS + "\n\n@get('/p')\ndef p(req: Request[None], res: Response[int], lctx: LocalContext, "
        "gctx: GlobalContext) -> None:\n    res.json(1)\n",
        encoding="utf-8",
    )
    assert run("build", str(tmp_path)).exit_code == 0


def test_build_json_reports_what_was_built(tmp_path: Path) -> None:
    root = project(
        tmp_path,
        IMPORTS + f"from models import Order\n\n\n@get('/orders/{{id}}')\ndef one({HANDLER_ARGS}) -> None:\n"
        "    res.json({'id': 1})\n",
        MODELS,
    )
    result = run("build", str(root), "--format", "json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert doc["diagnostics"] == []
    built = doc["build"]
    assert (built["handlers"], built["types"], built["out"]) == (1, 1, ".gati/")
    assert built["outDir"] == str((root / ".gati").resolve())
    assert built["filesWritten"] == built["artifacts"] > 0
    assert isinstance(built["seconds"], float) and built["seconds"] >= 0
    again = json.loads(run("build", str(root), "--format", "json").output)["build"]
    assert again["filesWritten"] == 0  # nothing changed: nothing rewritten


def test_failed_build_json_has_null_build(tmp_path: Path) -> None:
    root = project(tmp_path, IMPORTS + f"\n\n@get('/o')\ndef one({HANDLER_ARGS}) -> None:\n    res.json(1)\n")
    doc = json.loads(run("build", str(root), "--format", "json").output)
    assert doc["build"] is None
    assert [d["code"] for d in doc["diagnostics"]] == ["GATI201"]


def test_diagnostic_links_are_absolute_and_point_at_the_codes_section(tmp_path: Path) -> None:
    root = project(tmp_path, IMPORTS + f"\n\n@get('/o')\ndef one({HANDLER_ARGS}) -> None:\n    res.json(1)\n")
    diag = json.loads(run("build", str(root), "--format", "json").output)["diagnostics"][0]
    assert diag["helpUri"] == diag["url"] == f"{DOCS_BASE_URL}diagnostics.md#gati201"
    assert DOCS_BASE_URL.startswith("https://")
    sarif = json.loads(run("check", str(root), "--format", "sarif").output)
    rules = sarif["runs"][0]["tool"]["driver"]["rules"]
    assert len(rules) == len(REGISTRY)
    for rule in rules:
        assert rule["helpUri"] == f"{DOCS_BASE_URL}diagnostics.md#{rule['id'].lower()}"
        # the anchor exists: docs/diagnostics.md has a `## gatiNNN` heading for every code
        assert f"\n## {rule['id'].lower()}\n" in DIAGNOSTICS_MD


def test_unresolved_name_suggests_the_closest_imported_name(tmp_path: Path) -> None:
    root = project(
        tmp_path,
        IMPORTS + "from models import Order\n\n\n"
        "@get('/o')\ndef one(req: Request[None], res: Response[Ordr], lctx: LocalContext, gctx: GlobalContext)"
        " -> None:\n    res.json(1)\n",
        MODELS,
    )
    result = run("build", str(root))
    assert result.exit_code == 1
    assert "= help: did you mean `Order`?" in result.output


def test_unresolved_module_attribute_suggests_the_closest_member(tmp_path: Path) -> None:
    root = project(
        tmp_path,
        IMPORTS + "import models\n\n\n"
        "@get('/o')\ndef one(req: Request[None], res: Response[models.Ordre], lctx: LocalContext,"
        " gctx: GlobalContext) -> None:\n    res.json(1)\n",
        MODELS,
    )
    assert "= help: did you mean `models.Order`?" in run("build", str(root)).output


def test_name_defined_in_another_module_suggests_the_import(tmp_path: Path) -> None:
    root = project(
        tmp_path,
        IMPORTS + "import models as _m\n\n\n"
        "@get('/o')\ndef one(req: Request[None], res: Response[Order], lctx: LocalContext,"
        " gctx: GlobalContext) -> None:\n    res.json(1)\n",
        MODELS,
    )
    out = run("build", str(root)).output
    assert "did you mean `Order`? it is defined in `models`: `from models import Order`" in out


def test_fastapi_shaped_handler_gets_the_gati_form(tmp_path: Path) -> None:
    root = project(
        tmp_path,
        "from gati_runtime_min import get\nfrom models import Order\n\n\n"
        "@get('/orders/{id}')\ndef get_order(id: int) -> Order:\n    return {'id': id}\n",
        MODELS,
    )
    result = run("build", str(root))
    assert result.exit_code == 1
    assert "error[GATI103]" in result.output
    help_line = next(line for line in result.output.splitlines() if "= help:" in line)
    assert "looks like a FastAPI handler" in help_line
    assert (
        "`def get_order(req: Request[None], res: Response[Order], lctx: LocalContext, gctx: GlobalContext)"
        " -> None`" in help_line
    )
    assert "req.params['id']" in help_line


def test_gati_shaped_handler_with_wrong_arity_gets_no_fastapi_hint(tmp_path: Path) -> None:
    root = project(
        tmp_path,
        IMPORTS + "\n\n@get('/o')\ndef one(req: Request[None], res: Response[int]) -> None:\n    res.json(1)\n",
    )
    out = run("build", str(root)).output
    assert "error[GATI103]" in out
    assert "FastAPI" not in out
