"""Fixtures for the hostile-input suite.

``nublado`` is the end-to-end controller on a simulated site; ``config``, ``system`` and
``logs`` are the web tests' small server pieces, for tests that add routes of their own.
"""

from __future__ import annotations

from tests.e2e.conftest import nublado
from tests.web.conftest import config, logs, system

__all__ = ["config", "logs", "nublado", "system"]
