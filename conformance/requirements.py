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

_served: dict[int, str | None] = {}  # per Kubernetes client: asked once per certification


def _workflows(connection: Connection) -> str | None:
    """Runs execute only where Argo's Workflow kind is served (what KFP's backend creates)."""
    key = id(connection.kube)
    if key not in _served:
        group, version, plural = ARGO
        try:
            resources = k8s.CustomObjectsApi(connection.kube).api_client.call_api(
                f"/apis/{group}/{version}", "GET", response_type="object",
                auth_settings=["BearerToken"], _return_http_data_only=True)
        except k8s.ApiException as exc:
            _served[key] = f"the cluster serves no {group}/{version} ({exc.status})"
        else:
            names = {r.get("name") for r in (resources or {}).get("resources") or []}
            _served[key] = None if plural in names else \
                f"the cluster serves no {group}/{version} {plural}"
    return _served[key]


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
