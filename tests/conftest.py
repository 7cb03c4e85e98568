"""Make ``tests.support`` importable however pytest is launched (``pytest`` or ``python -m``)."""

from __future__ import annotations

import sys
from pathlib import Path

_ROOT = str(Path(__file__).resolve().parents[1])
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

# Feature runs in-process (tests/conformance) need pytester, whichever test file runs alone.
pytest_plugins = ["pytester"]
