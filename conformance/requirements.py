"""What a target must have for a ``@requires-<what>`` scenario (catalog.REQUIREMENTS).

Asked of the live connection once per scenario; a scenario whose requirement is missing ends
``not supported`` with the reason this module gives, before any of its steps runs.
"""

from __future__ import annotations

from collections.abc import Callable

from conformance.catalog import REQUIREMENTS, REQUIRES
from conformance.targets import Connection


def missing(connection: Connection, requirement: str) -> str | None:
    """Why the target cannot run a ``@requires-<requirement>`` scenario (None: it can)."""
    mode = connection.mode
    checks: dict[str, Callable[[], str | None]] = {
        "multiuser": lambda: None if mode.multiuser else f"a {mode.value} deployment",
        "standalone": lambda: None if not mode.multiuser else f"a {mode.value} deployment",
        "gateway": lambda: None if connection.target.kfp_gateway and mode.multiuser
        else f"no gateway with a login proxy ({mode.value})",
        "emulator-controls": lambda: None if connection.target.is_emulator
        else "not an emulator",
        "data-plane": lambda: "this release of the suite does not reach the data plane "
                              "(object store, ML Metadata) yet",
    }
    if requirement == "sdk":
        return None  # a harness requirement: the sdk steps skip when kfp is not installed
    if requirement not in checks:
        raise ValueError(f"unknown requirement @{REQUIRES}{requirement}; "
                         f"known: {', '.join(REQUIREMENTS)}")
    return checks[requirement]()
