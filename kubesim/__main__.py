"""``python -m kubesim --port N``: run a standalone simulated site."""

import sys

from kubesim.cli import main

sys.exit(main())
