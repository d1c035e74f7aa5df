# -*- coding: latin-1 -*-
"""Saved as Latin-1: café."""

from gati_runtime_min import get
