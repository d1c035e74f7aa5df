"""The compiler version, recorded in every build."""

from typing import Final

__version__: Final = "0.1.0"
