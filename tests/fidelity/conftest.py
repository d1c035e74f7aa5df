"""The unit tests' in-memory project fixture, shared with the fidelity tests."""

from tests.unit.conftest import project

__all__ = ["project"]
