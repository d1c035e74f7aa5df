"""A plain project module."""

VERSION = "1"
