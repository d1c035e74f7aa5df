"""discover: the filesystem → sorted `SourceFile`s with dotted module names."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from gati_compiler.diagnostics.model import DiagnosticSink
from gati_compiler.pipeline import BuildResult
from gati_compiler.stages.discover import SourceSet, discover_sources, is_entry

ProjectDir = Callable[..., Path]


def discover(
    root: Path, roots: Sequence[str] = (".",), exclude: Sequence[str] = (), out: str = ".gati"
) -> tuple[SourceSet, DiagnosticSink]:
    sink = DiagnosticSink()
    return discover_sources(root, roots, exclude, out, sink), sink


def modules(found: SourceSet) -> dict[str, tuple[str, bool]]:
    return {f.rel_path: (f.module, f.is_package) for f in found.files}


@pytest.mark.parametrize(
    ("rel", "module", "is_package"),
    [
        ("main.py", "main", False),
        ("app/__init__.py", "app", True),
        ("app/models.py", "app.models", False),
        ("app/handlers/__init__.py", "app.handlers", True),
        ("app/handlers/users.py", "app.handlers.users", False),
        ("a/b/c/d.py", "a.b.c.d", False),
    ],
)
def test_module_names_from_paths(project_dir: ProjectDir, rel: str, module: str, is_package: bool) -> None:
    found, sink = discover(project_dir({rel: "x = 1\n"}))
    assert modules(found) == {rel: (module, is_package)}
    assert sink.diagnostics == []


def test_files_that_are_not_modules_are_ignored(project_dir: ProjectDir) -> None:
    root = project_dir(
        {
            "app/ok.py": "",
            "app/not-a-module.py": "",
            "my-folder/x.py": "",
            "app/notes.txt": "",
            "app/data.pyi": "",
            "app/script.pyw": "",
        }
    )
    found, _ = discover(root)
    assert modules(found) == {"app/ok.py": ("app.ok", False)}


def test_sources_roots_are_import_roots(project_dir: ProjectDir) -> None:
    root = project_dir({"src/app/__init__.py": "", "src/app/models.py": "", "tools/gen.py": "", "top.py": ""})
    found, _ = discover(root, roots=["src"])
    assert modules(found) == {
        "src/app/__init__.py": ("app", True),
        "src/app/models.py": ("app.models", False),
    }


def test_several_roots_and_overlapping_roots(project_dir: ProjectDir) -> None:
    root = project_dir({"src/app/a.py": "", "lib/util.py": ""})
    found, _ = discover(root, roots=["src", "lib", "src"])
    assert modules(found) == {"lib/util.py": ("util", False), "src/app/a.py": ("app.a", False)}


def test_missing_root_is_left_to_config(project_dir: ProjectDir) -> None:
    found, sink = discover(project_dir({"a.py": ""}), roots=["nope", "."])
    assert [f.rel_path for f in found.files] == ["a.py"]
    assert sink.diagnostics == []


def test_excludes_are_globs_on_posix_relative_paths(project_dir: ProjectDir) -> None:
    root = project_dir(
        {
            "app/a.py": "",
            "app/tests/test_a.py": "",
            "tests/test_b.py": "",
            "app/migrations/0001.py": "",
            "app/generated_pb2.py": "",
        }
    )
    found, _ = discover(root, exclude=["tests/*", "app/tests/*", "*_pb2.py"])
    # `0001` is not an identifier, so it is never a module whatever the excludes say
    assert sorted(modules(found)) == ["app/a.py"]


@pytest.mark.parametrize("skipped", ["__pycache__", ".venv", "venv", "node_modules", ".git", ".gati", ".tox", "dist"])
def test_tool_folders_are_skipped(project_dir: ProjectDir, skipped: str) -> None:
    root = project_dir({"app/a.py": "", f"{skipped}/lib/b.py": "", f"app/{skipped}/c.py": ""})
    found, _ = discover(root)
    assert [f.rel_path for f in found.files] == ["app/a.py"]


def test_configured_out_folder_is_skipped(project_dir: ProjectDir) -> None:
    root = project_dir({"app/a.py": "", "build_out/validators/__init__.py": "", "build_out/x.py": ""})
    found, _ = discover(root, out="build_out")
    assert [f.rel_path for f in found.files] == ["app/a.py"]


def test_non_utf8_file_is_a_gati102_diagnostic_and_others_still_load(project_dir: ProjectDir) -> None:
    root = project_dir({"app/bad.py": b"x = '\xff\xfe'\n", "app/good.py": "y = 1\n"})
    found, sink = discover(root)
    assert [f.rel_path for f in found.files] == ["app/good.py"]
    [diag] = sink.diagnostics
    assert diag.code == "GATI102"
    assert diag.span.path == "app/bad.py"
    assert "byte 5" in diag.message


def test_non_utf8_file_through_the_pipeline(project: Callable[..., BuildResult]) -> None:
    result = project({"app/bad.py": b"\x80 = 1\n"})
    assert [d.code for d in result.diagnostics] == ["GATI102"]


def test_crlf_and_bom_are_normalised_but_hash_is_of_the_bytes(project_dir: ProjectDir) -> None:
    raw = "\ufeffx = 1\r\ny = 2\r\n".encode()
    root = project_dir({"app/a.py": raw})
    found, _ = discover(root)
    [src] = found.files
    assert src.text == "x = 1\ny = 2\n"
    assert src.sha256 == hashlib.sha256(raw).hexdigest()


def test_order_is_sorted_by_posix_path_whatever_the_creation_order(project_dir: ProjectDir) -> None:
    names = ["z.py", "b/__init__.py", "a/z.py", "a/b.py", "A.py", "b/a.py", "a_b.py"]
    first = discover(project_dir({n: "" for n in names}))[0]
    second = discover(project_dir({n: "" for n in reversed(names)}))[0]
    paths = [f.rel_path for f in first.files]
    assert paths == sorted(paths)
    assert paths == [f.rel_path for f in second.files]
    assert first.by_module()["b"].rel_path == "b/__init__.py"


def test_texts_are_keyed_by_relative_path(project_dir: ProjectDir) -> None:
    found, _ = discover(project_dir({"app/a.py": "x = 1\n"}))
    assert found.texts() == {"app/a.py": "x = 1\n"}


def test_entries_are_runtime_users_and_global_hook_modules(project_dir: ProjectDir) -> None:
    root = project_dir(
        {
            "app/handlers.py": "from gati_runtime_min import handler\n",
            "app/hooks.py": "def f(): ...\n",
            "app/models.py": "class X: ...\n",
        }
    )
    found, _ = discover(root)
    entries = [f.module for f in found.files if is_entry(f, ["app.hooks"])]
    assert entries == ["app.handlers", "app.hooks"]


def test_pipeline_uses_configured_sources_and_excludes(project: Callable[..., BuildResult]) -> None:
    handler = (
        "from gati_runtime_min import GlobalContext, LocalContext, Request, Response, get\n"
        '@get("/x")\n'
        "def x(req: Request[None], res: Response[None], lctx: LocalContext, gctx: GlobalContext) -> None: ...\n"
    )
    result = project(
        {"src/app/handlers.py": handler, "src/app/skip.py": handler.replace("/x", "/y").replace("def x", "def y")},
        config='sources = ["src"]\nexclude = ["src/app/skip.py"]\n',
    )
    assert result.ok, result.diagnostics
    assert result.program is not None
    assert [(h.module, h.handlerId) for h in result.program.handlers] == [("app.handlers", "x")]
    assert result.program.sourceRoots == ("src",)
    assert set(result.sources) == {"src/app/handlers.py", "pyproject.toml"}  # the config file renders in frames too


def test_a_source_folder_that_is_a_package_is_named_after_itself(project_dir: ProjectDir) -> None:
    # mypy's rule: `sources = ["clinic"]` with `clinic/__init__.py` means the package `clinic`
    root = project_dir({"clinic/__init__.py": "", "clinic/models.py": "", "clinic/api/__init__.py": "", "lib/u.py": ""})
    found, sink = discover(root, roots=["clinic", "lib"])
    assert modules(found) == {
        "clinic/__init__.py": ("clinic", True),
        "clinic/api/__init__.py": ("clinic.api", True),
        "clinic/models.py": ("clinic.models", False),
        "lib/u.py": ("u", False),
    }
    assert found.import_roots == (".", "lib")
    assert sink.diagnostics == []


def test_a_nested_package_source_climbs_to_the_first_plain_folder(project_dir: ProjectDir) -> None:
    root = project_dir({"src/shop/__init__.py": "", "src/shop/orders/__init__.py": "", "src/shop/orders/m.py": ""})
    found, _ = discover(root, roots=["src/shop/orders"])
    assert modules(found) == {
        "src/shop/orders/__init__.py": ("shop.orders", True),
        "src/shop/orders/m.py": ("shop.orders.m", False),
    }
    assert found.import_roots == ("src",)


def test_package_source_builds_and_the_manifest_names_its_import_root(project: Callable[..., BuildResult]) -> None:
    result = project(
        {
            "clinic/__init__.py": "",
            "clinic/models.py": "from typing import TypedDict\nclass Booking(TypedDict):\n    id: int\n",
            "clinic/handlers.py": (
                "from gati_runtime_min import GlobalContext, LocalContext, Request, Response, post\n"
                "from clinic.models import Booking\n"
                '@post("/bookings")\n'
                "def book(req: Request[Booking], res: Response[Booking], lctx: LocalContext, gctx: GlobalContext)"
                " -> None: ...\n"
            ),
        },
        config='sources = ["clinic"]\n',
    )
    assert result.ok, [(d.code, d.message) for d in result.diagnostics]
    assert result.program is not None
    assert [(h.module, h.handlerId) for h in result.program.handlers] == [("clinic.handlers", "book")]
    assert result.program.sourceRoots == (".",)  # the runtime imports `clinic.handlers` from the project folder
