"""How a build backend's environment is checked (bundler.sources.confined_build); the
builds themselves run in tests/functional/sources and tests/integration/sources."""

from __future__ import annotations

import pytest

from bundler.core.errors import ProjectError
from bundler.sources import confined_build
from bundler.sources.lock import Pin


def test_what_the_backend_asks_for_is_checked_against_the_environment() -> None:
    pins = [Pin("setuptools", "75.1.0", ()), Pin("wheel", "0.44.0", ())]
    asked = ["setuptools>=40.8", "wheel", "six; python_version < '3'", "cython>=3", "wheel<0.40"]
    assert confined_build.unmet_requirements(asked, pins) == ["cython>=3", "wheel<0.40"]
    # The caller's error: an sdist's build fails locking, the function's own its loading.
    with pytest.raises(ProjectError, match="'not a req!', which is not a req"):
        confined_build.unmet_requirements(["not a req!"], pins, ProjectError)
