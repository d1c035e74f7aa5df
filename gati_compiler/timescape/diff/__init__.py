"""Timescape's diff engine: two `ApiContract`s in, classified `Finding`s out (no I/O)."""

from gati_compiler.timescape.diff.model import RULES, Category, Finding, Level, Rule
from gati_compiler.timescape.diff.operations import diff_contracts

__all__ = ["RULES", "Category", "Finding", "Level", "Rule", "diff_contracts"]
