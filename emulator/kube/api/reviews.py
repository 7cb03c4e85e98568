"""The review APIs (SubjectAccessReview, SelfSubjectAccessReview, SelfSubjectReview,
TokenReview) and the ServiceAccount ``token`` subresource (TokenRequest).

They answer from the same :class:`~emulator.kube.rbac.Authorizer` and
:class:`~emulator.kube.tokens.TokenAuthority` the KFP API server asks, so a review here and a
KFP decision for the same user and attributes cannot disagree.
"""

from __future__ import annotations

from typing import Any

from emulator.clock import rfc3339
from emulator.kube.api.auth import Caller
from emulator.kube.api.discovery import AUTHENTICATION_GROUP, AUTHORIZATION_GROUP
from emulator.kube.api.status import KubeError, bad_request, invalid
from emulator.kube.cluster import Cluster
from emulator.kube.rbac import Decision, ResourceAttributes
from emulator.kube.tokens import API_AUDIENCE

DEFAULT_TOKEN_SECONDS = 3600
MIN_TOKEN_SECONDS = 600
MAX_TOKEN_SECONDS = 1 << 32


def _object(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise bad_request("the request body must be a JSON object")
    return body


def _spec(body: dict[str, Any]) -> dict[str, Any]:
    spec = body.get("spec")
    if spec is None:
        return {}
    if not isinstance(spec, dict):
        raise bad_request("spec: expected an object")
    return spec


def _strings(value: Any, where: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise bad_request(f"{where}: expected a list of strings")
    return list(value)


def _text(mapping: dict[str, Any], key: str) -> str:
    value = mapping.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise bad_request(f"{key}: expected a string")
    return value


def _review_attributes(cluster: Cluster, spec: dict[str, Any], user: str,
                       groups: list[str], kind: str, check_user: bool) -> Decision:
    resource = spec.get("resourceAttributes")
    non_resource = spec.get("nonResourceAttributes")
    errors: list[tuple[str, object, str]] = []
    if resource is not None and non_resource is not None:
        errors.append(("spec.nonResourceAttributes", non_resource,
                       "cannot be specified in combination with resourceAttributes"))
    if resource is None and non_resource is None:
        errors.append(("spec.resourceAttributes", None,
                       "exactly one of nonResourceAttributes or resourceAttributes must be "
                       "specified"))
    if check_user and not user and not groups:
        errors.append(("spec.user", user, "at least one of user or group must be specified"))
    if errors:
        raise invalid(kind, AUTHORIZATION_GROUP, "", errors)
    if resource is not None:
        if not isinstance(resource, dict):
            raise bad_request("spec.resourceAttributes: expected an object")
        attrs = ResourceAttributes(
            namespace=_text(resource, "namespace"), verb=_text(resource, "verb"),
            resource=_text(resource, "resource"), group=_text(resource, "group"),
            version=_text(resource, "version"), name=_text(resource, "name"),
            subresource=_text(resource, "subresource"))
        return cluster.authorizer.review(user, attrs, groups)
    if not isinstance(non_resource, dict):
        raise bad_request("spec.nonResourceAttributes: expected an object")
    return cluster.authorizer.review_path(user, groups, _text(non_resource, "path"),
                                          _text(non_resource, "verb"))


def _access_status(decision: Decision) -> dict[str, Any]:
    status: dict[str, Any] = {"allowed": decision.allowed}
    if decision.sar_reason:
        status["reason"] = decision.sar_reason
    return status


def subject_access_review(cluster: Cluster, caller: Caller, body: Any) -> dict[str, Any]:
    body = _object(body)
    spec = _spec(body)
    user = _text(spec, "user")
    groups = _strings(spec.get("groups"), "spec.groups")
    decision = _review_attributes(cluster, spec, user, groups, "SubjectAccessReview", True)
    return {"kind": "SubjectAccessReview", "apiVersion": f"{AUTHORIZATION_GROUP}/v1",
            "metadata": {"creationTimestamp": None}, "spec": spec,
            "status": _access_status(decision)}


def self_subject_access_review(cluster: Cluster, caller: Caller, body: Any) -> dict[str, Any]:
    body = _object(body)
    spec = _spec(body)
    decision = _review_attributes(cluster, spec, caller.user, list(caller.groups),
                                  "SelfSubjectAccessReview", False)
    return {"kind": "SelfSubjectAccessReview", "apiVersion": f"{AUTHORIZATION_GROUP}/v1",
            "metadata": {"creationTimestamp": None}, "spec": spec,
            "status": _access_status(decision)}


def self_subject_review(cluster: Cluster, caller: Caller, body: Any) -> dict[str, Any]:
    """``kubectl auth whoami``."""
    _object(body)
    info: dict[str, Any] = {"username": caller.user, "groups": list(caller.groups)}
    if caller.uid:
        info["uid"] = caller.uid
    return {"kind": "SelfSubjectReview", "apiVersion": f"{AUTHENTICATION_GROUP}/v1",
            "metadata": {"creationTimestamp": None}, "status": {"userInfo": info}}


def token_review(cluster: Cluster, body: Any, now: float) -> dict[str, Any]:
    body = _object(body)
    spec = _spec(body)
    token = _text(spec, "token")
    if not token:
        raise bad_request("token is required for TokenReview in authentication")
    audiences = _strings(spec.get("audiences"), "spec.audiences")
    # No audiences asked: the API server's own (TokenReview storage, ``apiAudiences``).
    status = cluster.tokens.review(token, audiences or [API_AUDIENCE], now)
    return {"kind": "TokenReview", "apiVersion": f"{AUTHENTICATION_GROUP}/v1",
            "metadata": {"creationTimestamp": None}, "spec": spec, "status": status.to_k8s()}


def token_request(cluster: Cluster, namespace: str, name: str, body: Any,
                  now: float) -> dict[str, Any]:
    """``POST .../serviceaccounts/{name}/token``."""
    body = _object(body)
    spec = _spec(body)
    audiences = _strings(spec.get("audiences"), "spec.audiences") or [API_AUDIENCE]
    seconds = spec.get("expirationSeconds")
    if seconds is None:
        seconds = DEFAULT_TOKEN_SECONDS
    if not isinstance(seconds, int) or isinstance(seconds, bool):
        raise bad_request("spec.expirationSeconds: expected an integer")
    errors: list[tuple[str, object, str]] = []
    if seconds < MIN_TOKEN_SECONDS:
        errors.append(("spec.expirationSeconds", seconds,
                       "may not specify a duration less than 10 minutes"))
    if seconds > MAX_TOKEN_SECONDS:
        errors.append(("spec.expirationSeconds", seconds,
                       "may not specify a duration larger than 2^32 seconds"))
    if errors:
        # TokenREST.Create: NewInvalid(TokenRequest's GroupKind, "", errs).
        raise invalid("TokenRequest", AUTHENTICATION_GROUP, "", errors)
    token = cluster.mint_service_account_token(namespace, name, now, seconds, audiences)
    return {
        "kind": "TokenRequest",
        "apiVersion": f"{AUTHENTICATION_GROUP}/v1",
        "metadata": {"name": name, "namespace": namespace, "creationTimestamp": rfc3339(now)},
        "spec": {"audiences": audiences, "expirationSeconds": seconds,
                 "boundObjectRef": spec.get("boundObjectRef")},
        "status": {"token": token, "expirationTimestamp": rfc3339(now + seconds)},
    }


__all__ = ["KubeError", "self_subject_access_review", "self_subject_review",
           "subject_access_review", "token_request", "token_review"]
