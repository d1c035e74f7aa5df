"""Every template is used by some emitter, and every template an emitter names exists.

Emitters declare what they render in a module-level registry: `TEMPLATES` (a tuple of names),
`TEMPLATE` (one name) or `TEMPLATE_DIR` (a folder rendered whole). Templates reached through
`{% include %}`/`{% import %}`/`{% extends %}` from a registered one count as used.
"""

from __future__ import annotations

import ast
import importlib
from collections.abc import Iterator
from pathlib import Path
from typing import Final

import jinja2
from jinja2 import meta

from gati_compiler.emit.render import make_environment, template_root

REPO: Final = Path(__file__).resolve().parents[3]
PACKAGE: Final = REPO / "gati_compiler"
REGISTRY_NAMES: Final = ("TEMPLATES", "TEMPLATE", "TEMPLATE_DIR")


def _module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _registry_modules() -> Iterator[tuple[str, ast.Module]]:
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        targets = {
            t.id
            for node in tree.body
            if isinstance(node, (ast.Assign, ast.AnnAssign))
            for t in (node.targets if isinstance(node, ast.Assign) else [node.target])
            if isinstance(t, ast.Name)
        }
        if targets & set(REGISTRY_NAMES):
            yield _module_name(path), tree


def all_templates() -> set[str]:
    root = template_root()
    return {p.relative_to(root).as_posix() for p in root.rglob("*.j2")}


def registered() -> dict[str, set[str]]:
    """Module name -> the template names it declares (folders expanded)."""
    existing = all_templates()
    out: dict[str, set[str]] = {}
    for name, _tree in _registry_modules():
        module = importlib.import_module(name)
        names: set[str] = set()
        templates = getattr(module, "TEMPLATES", ())
        names.update(templates)
        single = getattr(module, "TEMPLATE", None)
        if isinstance(single, str):
            names.add(single)
        folder = getattr(module, "TEMPLATE_DIR", None)
        if isinstance(folder, str):
            inside = {t for t in existing if t.startswith(folder.rstrip("/") + "/")}
            assert inside, f"{name}.TEMPLATE_DIR = {folder!r} holds no templates"
            names.update(inside)
        out[name] = names
    return out


def _referenced(env: jinja2.Environment, name: str) -> set[str]:
    source = env.loader.get_source(env, name)[0] if env.loader else ""
    return {ref for ref in meta.find_referenced_templates(env.parse(source)) if ref is not None}


def used_templates() -> set[str]:
    env = make_environment()
    todo = sorted(set().union(*registered().values()))
    seen: set[str] = set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        todo.extend(sorted(_referenced(env, name) - seen))
    return seen


def test_emitters_declare_templates() -> None:
    found = registered()
    assert "gati_compiler.emit.sdk_python" in found
    assert "gati_compiler.emit.sdk_ts" in found


def test_every_named_template_exists() -> None:
    existing = all_templates()
    missing = {module: sorted(names - existing) for module, names in registered().items() if names - existing}
    assert not missing, f"emitters name templates that do not exist: {missing}"


def test_every_template_is_used() -> None:
    unused = sorted(all_templates() - used_templates())
    assert not unused, f"templates no emitter renders (add them to a TEMPLATES registry or delete them): {unused}"


def test_template_literals_in_code_are_registered() -> None:
    """A `.j2` name written anywhere in an emitter's code must be in that module's registry."""
    for module, tree in _registry_modules():
        declared = registered()[module]
        literals = {
            node.value
            for node in ast.walk(tree)
            if isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            # a template name (`family/file.ext.j2`), not a bare suffix used to build names
            and node.value.endswith(".j2")
            and "/" in node.value
        }
        assert literals <= declared, f"{module} renders unregistered templates: {sorted(literals - declared)}"


def test_every_template_parses() -> None:
    env = make_environment()
    for name in sorted(all_templates()):
        env.get_template(name)
