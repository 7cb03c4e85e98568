"""The cast of the acceptance scenario, provisioned with :mod:`conformance.provisioning`.

That module is written against the official ``kubernetes`` client only: the same code provisions
a real Kubeflow cluster or the emulator's Kubernetes API.
"""

from __future__ import annotations

from kubernetes import client as k8s

from conformance.provisioning import (
    EDITOR_SA,
    KFP_AUDIENCE,
    PIPELINES_GROUP,
    PROFILE_GROUP,
    PROFILE_PLURAL,
    PROFILE_VERSION,
    CustomRole,
    Provisioned,
    Tenant,
    add_contributor,
    kfam_binding_name,
    provision,
    request_token,
)

ANN, ANN_NS = "ann@example.com", "ann"
BEN, BEN_NS = "ben@example.com", "ben"
EVE = "eve@example.com"  # edit contributor in ann
VAL = "val@example.com"  # view contributor in ann
RITA = "rita@example.com"  # custom Role experiment-reader in ann
READER = CustomRole("experiment-reader", ("experiments",), ("get", "list"), (RITA,))
READER_ROLE = READER.name
READER_BINDING = READER.binding_name

TENANTS = (
    Tenant(ANN_NS, ANN, contributors=((EVE, "edit"), (VAL, "view")), roles=(READER,)),
    Tenant(BEN_NS, BEN),
)


def provision_tenants(api: k8s.ApiClient) -> Provisioned:
    """Two Profiles, ann's contributors and custom reader, and both editors' tokens."""
    return provision(api, TENANTS)


__all__ = [
    "ANN", "ANN_NS", "BEN", "BEN_NS", "EDITOR_SA", "EVE", "KFP_AUDIENCE", "PIPELINES_GROUP",
    "PROFILE_GROUP", "PROFILE_PLURAL", "PROFILE_VERSION", "READER_BINDING", "READER_ROLE", "RITA",
    "TENANTS", "VAL", "Provisioned", "add_contributor", "kfam_binding_name",
    "provision_tenants", "request_token",
]
