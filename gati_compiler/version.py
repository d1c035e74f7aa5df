"""The compiler version, recorded in every build."""

from typing import Final

__version__: Final = "0.1.0"

# Where the documentation of this exact release lives: diagnostics' `url`/`helpUri` and generated
# READMEs link here. A tag per release, so a link never points at docs of another version.
REPOSITORY_URL: Final = "https://github.com/gati-dev/gati-python"
DOCS_BASE_URL: Final = f"{REPOSITORY_URL}/blob/v{__version__}/docs/"
