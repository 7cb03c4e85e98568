"""The v1 ``AuthService.Authorize`` endpoint the UI uses to check ``viewers`` (spec 3.6)."""

from __future__ import annotations

from emulator.errors import KfpError, invalid_input
from emulator.kfp import messages
from emulator.kfp.access import Credentials
from emulator.kfp.state import KfpState
from emulator.kube.rbac import KUBEFLOW_GROUP, ResourceAttributes

AUTH_RESOURCES = messages.Enum("Resources", ("UNASSIGNED_RESOURCES", "VIEWERS"))
AUTH_VERBS = messages.Enum("Verb", ("UNASSIGNED_VERB", "CREATE", "GET", "DELETE"))


def authorize_viewers(state: KfpState, creds: Credentials, namespace: str, resources: str,
                      verb: str) -> None:
    if not state.config.multiuser:
        return
    try:
        if not namespace:
            raise invalid_input("Namespace is empty. Please specify a valid namespace")
        if resources == AUTH_RESOURCES.values[0]:
            raise invalid_input("Resources not specified. Please specify a valid resources")
        if verb == AUTH_VERBS.values[0]:
            raise invalid_input("Verb not specified. Please specify a valid verb")
    except KfpError as error:
        raise error.wrap("Authorize request is not valid") from None
    try:
        state.access.authorize(creds, ResourceAttributes(
            namespace=namespace.lower(), verb=verb.lower(), group=KUBEFLOW_GROUP,
            resource=resources.lower()))
    except KfpError as error:
        raise error.wrap("Failed to authorize the request") from None
