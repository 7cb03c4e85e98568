"""The conformance suite's step vocabulary (pytest-bdd step definitions).

pytest-bdd keeps each step definition as a fixture in the module that defines it; a module that
collects scenarios makes them visible with ``globals().update(steps.definitions())``.  Every
module of this package is part of the vocabulary: a new module needs no registration.
"""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType

STEP_FIXTURE_PREFIX = "pytestbdd_stepdef_"


def modules() -> list[ModuleType]:
    return [importlib.import_module(f"{__name__}.{info.name}")
            for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name)]


def definitions() -> dict[str, object]:
    """Every step definition of the vocabulary, by its fixture name."""
    found: dict[str, object] = {}
    for module in modules():
        found.update({name: value for name, value in vars(module).items()
                      if name.startswith(STEP_FIXTURE_PREFIX)})
    return found
