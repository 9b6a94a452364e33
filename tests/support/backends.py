"""What a test does when a real backend (redis-server, PostgreSQL) is not installed.

On a developer's machine it skips with the command that installs it; under CI (``CI``
set to 1/true/yes, which ``.ci/run`` exports) it fails, so a missing package can never
turn a suite into silent skips.
"""

from __future__ import annotations

import os
from typing import NoReturn

import pytest


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def missing_backend(what: str) -> NoReturn:
    message = f"{what} is not installed (run scripts/system-deps.sh)"
    if in_ci():
        pytest.fail(message, pytrace=False)
    pytest.skip(message)
