"""Running the conformance features in-process from the project's tests (pytester)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

FEATURES = Path(__file__).resolve().parents[2] / "features"


def run_features(pytester: pytest.Pytester, features: Sequence[str] | None,
                 *args: str) -> dict[str, tuple[str, set[str]]]:
    """Run ``features`` (names in features/ with or without ``.feature``, or paths; None: the
    whole folder through its own collector) with the plugin; each scenario's final
    kfp-isolation outcome and its tags (pytest keywords)."""
    if features is None:
        recorder = pytester.inline_run(str(FEATURES), "-p", "no:cacheprovider", *args)
    else:
        paths = [name if "/" in name else
                 str(FEATURES / (name if name.endswith(".feature") else f"{name}.feature"))
                 for name in features]
        pytester.makepyfile(test_selected=(
            "from pytest_bdd import scenarios\n"
            "import steps\n"
            "globals().update(steps.definitions())\n"
            f"scenarios(*{paths!r})\n"))
        recorder = pytester.inline_run("-p", "no:cacheprovider", *args)
    collected = [r for r in recorder.getreports("pytest_collectreport") if r.failed]
    assert not collected, collected
    return {report.nodeid: (report.kfp_outcome, set(report.keywords))
            for report in recorder.getreports("pytest_runtest_logreport")
            if hasattr(report, "kfp_outcome")}


def outcomes(pytester: pytest.Pytester, features: Sequence[str] | None,
             *args: str) -> dict[str, str]:
    return {node: outcome for node, (outcome, _) in run_features(pytester, features,
                                                                   *args).items()}


def failed(found: dict[str, str]) -> list[str]:
    return sorted(node for node, outcome in found.items() if outcome == "fail")
