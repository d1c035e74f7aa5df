"""Hypothesis profiles for the property tests: `ci` (quick, default) and `fuzz` (long), and the
`served` fixture: the property app of `propapp.py`, built by the compiler and served in-process.

Select the profile with the environment variable GATI_HYPOTHESIS_PROFILE.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, settings

from gati_runtime_min import GatiApp
from tests.property.propapp import API_KEYS_ENV, JWT_SECRET, JWT_SECRET_ENV, Served, api_keys_spec, build_app

settings.register_profile(
    "ci",
    max_examples=40,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
)
settings.register_profile(
    "fuzz",
    max_examples=2000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
)
settings.load_profile(os.environ.get("GATI_HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """The property app (tests/property/propapp.py), built by the compiler and loaded by `GatiApp`.

    Authentication is configured from the environment at load time: an API key for every subset of
    the roles (`api_keys_spec`) and an HS256 secret.
    """
    built = build_app(tmp_path_factory.mktemp("propapp") / "app")
    spec, keys = api_keys_spec()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(API_KEYS_ENV, spec)
        mp.setenv(JWT_SECRET_ENV, JWT_SECRET)
        app = GatiApp(built.build_dir)
    try:
        yield Served(built, app, keys)
    finally:
        built.forget()
