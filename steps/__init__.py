"""The conformance suite's step vocabulary (pytest-bdd step definitions).

pytest-bdd keeps each step definition as a fixture in the module that defines it; a module that
collects scenarios makes them visible with ``globals().update(steps.definitions())``.
"""

from __future__ import annotations

from types import ModuleType

STEP_FIXTURE_PREFIX = "pytestbdd_stepdef_"


def modules() -> list[ModuleType]:
    from steps import experiments, generic

    return [generic, experiments]


def definitions() -> dict[str, object]:
    """Every step definition of the vocabulary, by its fixture name."""
    found: dict[str, object] = {}
    for module in modules():
        found.update({name: value for name, value in vars(module).items()
                      if name.startswith(STEP_FIXTURE_PREFIX)})
    return found
