"""What a target must have for a ``@requires-<what>`` scenario (catalog.REQUIREMENTS).

Asked of the live connection once per scenario; a scenario whose requirement is missing ends
``not supported`` with the reason this module gives, before any of its steps runs.
"""

from __future__ import annotations

from collections.abc import Callable

from kubernetes import client as k8s

from conformance.catalog import REQUIREMENTS, REQUIRES
from conformance.dataplane import ARGO
from conformance.targets import Connection


def _workflows(connection: Connection) -> str | None:
    """Runs execute only where Argo's Workflow kind is served (what KFP's backend creates);
    asked once per connection."""
    if "workflows" not in connection.probed:
        connection.probed["workflows"] = _ask_for_workflows(connection)
    return connection.probed["workflows"]


def _ask_for_workflows(connection: Connection) -> str | None:
    group, version, plural = ARGO
    try:
        resources = k8s.CustomObjectsApi(connection.kube).get_api_resources(group, version)
    except k8s.ApiException as exc:
        return f"the cluster serves no {group}/{version} ({exc.status})"
    except Exception as exc:  # no answer at all (connection refused, TLS): say so, not crash
        return f"the Kubernetes API did not answer the discovery of {group}/{version}: {exc}"
    names = {r.name for r in getattr(resources, "resources", None) or []}
    return None if plural in names else f"the cluster serves no {group}/{version} {plural}"


def _metadata(connection: Connection) -> str | None:
    if connection.mode.access == "outside":
        return None if connection.target.gateway else "no gateway to reach ML Metadata"
    return None if connection.target.metadata else \
        "the target names no metadata-envoy endpoint (dataPlane.metadata) for inside callers"


def _ui_driver(connection: Connection) -> str | None:
    """The UI driver drives the emulator's UI: a real KFP UI is another page."""
    from conformance.ui_driver import available

    if not connection.target.is_emulator:
        return "the UI driver knows the emulator's UI only"
    return available()


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
        "data-plane": lambda: _workflows(connection),
        "object-store": lambda: None if connection.target.object_store
        else "the target names no object store (dataPlane.objectStore)",
        "metadata": lambda: _metadata(connection),
        "ui-driver": lambda: _ui_driver(connection),
    }
    if requirement == "sdk":
        return None  # a harness requirement: the sdk steps skip when kfp is not installed
    if requirement not in checks:
        raise ValueError(f"unknown requirement @{REQUIRES}{requirement}; "
                         f"known: {', '.join(REQUIREMENTS)}")
    return checks[requirement]()
