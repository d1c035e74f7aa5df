"""Gati compiler: static analysis of typed handler modules and generation of their artifacts.

The public surface is small: `build` and `check` run the pipeline; `BuildResult` is what they
return; `Diagnostic` and `Severity` describe what they report; `GatiError` is a failure of gati
itself. Diagnostic codes and JSON keys are API; message texts are not.
"""

from gati_compiler.diagnostics.model import Diagnostic, Severity
from gati_compiler.pipeline import BuildResult, GatiError, build, check
from gati_compiler.version import __version__

__all__ = ["BuildResult", "Diagnostic", "GatiError", "Severity", "__version__", "build", "check"]
