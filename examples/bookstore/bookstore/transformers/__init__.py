"""Timescape transformers (see docs/timescape.md, "Transformers")."""
