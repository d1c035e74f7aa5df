"""The code registry: well-formed, unique, and documented in docs/diagnostics.md (griffe's inventory test)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from gati_compiler.diagnostics import codes
from gati_compiler.diagnostics.codes import REGISTRY, DiagnosticCode, get_code
from gati_compiler.diagnostics.model import Severity

DOCS = Path(__file__).resolve().parents[3] / "docs" / "diagnostics.md"
_RANGES = {"0", "1", "2", "3", "4", "5", "7", "9"}


def documented_sections() -> list[str]:
    return re.findall(r"^## (gati\d{3})$", DOCS.read_text(encoding="utf-8"), flags=re.MULTILINE)


def test_registry_is_not_empty_and_matches_module_constants() -> None:
    constants = [v for v in vars(codes).values() if isinstance(v, DiagnosticCode)]
    assert constants
    assert sorted(c.id for c in constants) == sorted(REGISTRY)


@pytest.mark.parametrize("code_id", sorted(REGISTRY))
def test_code_is_well_formed(code_id: str) -> None:
    code = get_code(code_id)
    assert re.fullmatch(r"GATI\d{3}", code.id)
    assert code.id[4] in _RANGES
    assert re.fullmatch(r"[a-z][a-z0-9]*(-[a-z0-9]+)*", code.name)
    assert code.summary and code.summary[0].islower() and not code.summary.endswith(".")
    assert isinstance(code.default_severity, Severity)
    assert code.url.endswith("#" + code.id.lower())


def test_names_are_unique() -> None:
    names = [c.name for c in REGISTRY.values()]
    assert len(names) == len(set(names))


def test_registering_a_code_twice_fails() -> None:
    with pytest.raises(ValueError, match="registered twice"):
        DiagnosticCode("GATI001", "again", "a duplicate")


@pytest.mark.parametrize("code_id", sorted(REGISTRY))
def test_every_code_has_a_docs_section(code_id: str) -> None:
    assert code_id.lower() in documented_sections(), f"add a `## {code_id.lower()}` section to docs/diagnostics.md"


def test_docs_sections_are_unique_known_and_ordered() -> None:
    sections = documented_sections()
    assert len(sections) == len(set(sections))
    assert sorted(sections) == sections
    assert set(sections) <= {c.lower() for c in REGISTRY}


@pytest.mark.parametrize("code_id", sorted(REGISTRY))
def test_docs_section_names_the_code(code_id: str) -> None:
    text = DOCS.read_text(encoding="utf-8")
    section = text.split(f"## {code_id.lower()}\n", 1)[1].split("\n## ", 1)[0]
    assert f"**{REGISTRY[code_id].name}**" in section
    assert "Fix:" in section
