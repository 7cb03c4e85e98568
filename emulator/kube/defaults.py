"""The RBAC objects a fresh cluster with multi-user Kubeflow Pipelines already holds.

Three layers, each as its installer creates it:

- Kubernetes bootstrap policy: ``cluster-admin`` (bound to the group ``system:masters``),
  discovery and public-info roles for authenticated and anonymous callers, ``system:basic-user``;
- Kubeflow's roles (``kubeflow-admin`` ⊇ ``kubeflow-edit`` ⊇ ``kubeflow-view`` by label
  aggregation, with the pipelines and Kubernetes roles aggregating into them; spec section 10);
- KFP's system accounts: the API server may create SubjectAccessReviews and TokenReviews, the
  persistence agent may report workflows cluster-wide.
"""

from __future__ import annotations

from dataclasses import dataclass

from emulator.kube.rbac import (
    KUBEFLOW_GROUP,
    PIPELINES_GROUP,
    ClusterRole,
    ClusterRoleBinding,
    PolicyRule,
    RoleRef,
    Subject,
)

CLUSTER_ADMIN = "cluster-admin"
MASTERS_GROUP = "system:masters"
AUTHENTICATED_GROUP = "system:authenticated"
UNAUTHENTICATED_GROUP = "system:unauthenticated"
API_SERVER_SA = "ml-pipeline"
API_SERVER_ROLE = "ml-pipeline"
PERSISTENCE_AGENT_SA = "ml-pipeline-persistenceagent"
PERSISTENCE_AGENT_ROLE = "ml-pipeline-persistenceagent-role"
_AGG = "rbac.authorization.kubeflow.org/aggregate-to-"

ALL_VERBS = ("get", "list", "watch", "create", "update", "patch", "delete", "deletecollection")
READ_VERBS = ("get", "list", "watch")


@dataclass(frozen=True)
class SystemAccount:
    """A ServiceAccount of the KFP installation and the ClusterRole it is bound to."""

    name: str
    role: ClusterRole


def _binding(name: str, role: str, *subjects: Subject) -> ClusterRoleBinding:
    return ClusterRoleBinding(name, RoleRef("ClusterRole", role), list(subjects))


def bootstrap_policy() -> tuple[list[ClusterRole], list[ClusterRoleBinding]]:
    """The slice of Kubernetes' bootstrap RBAC policy that callers of this cluster meet."""
    roles = [
        ClusterRole(CLUSTER_ADMIN, [PolicyRule(("*",), ("*",), ("*",)),
                                    PolicyRule((), (), ("*",), non_resource_urls=("*",))]),
        ClusterRole("system:discovery", [PolicyRule((), (), ("get",), non_resource_urls=(
            "/api", "/api/*", "/apis", "/apis/*", "/healthz", "/livez", "/openapi",
            "/openapi/*", "/readyz", "/version", "/version/"))]),
        ClusterRole("system:public-info-viewer", [PolicyRule((), (), ("get",), non_resource_urls=(
            "/healthz", "/livez", "/readyz", "/version", "/version/"))]),
        ClusterRole("system:basic-user", [
            PolicyRule(("authorization.k8s.io",),
                       ("selfsubjectaccessreviews", "selfsubjectrulesreviews"), ("create",)),
            # Since Kubernetes 1.28 (``kubectl auth whoami``).
            PolicyRule(("authentication.k8s.io",), ("selfsubjectreviews",), ("create",))]),
    ]
    authenticated = Subject("Group", AUTHENTICATED_GROUP)
    bindings = [
        _binding(CLUSTER_ADMIN, CLUSTER_ADMIN, Subject("Group", MASTERS_GROUP)),
        _binding("system:discovery", "system:discovery", authenticated),
        _binding("system:public-info-viewer", "system:public-info-viewer", authenticated,
                 Subject("Group", UNAUTHENTICATED_GROUP)),
        _binding("system:basic-user", "system:basic-user", authenticated),
    ]
    return roles, bindings


def kubeflow_cluster_roles() -> list[ClusterRole]:
    """Kubeflow's ClusterRoles with the ``pipelines.kubeflow.org`` verbs of spec section 10,
    built with the manifests' aggregation labels."""
    view_rules = [
        PolicyRule((PIPELINES_GROUP,), ("pipelines", "pipelines/versions", "pipelineversions",
                                        "experiments", "jobs"), ("get", "list")),
        PolicyRule((PIPELINES_GROUP,), ("runs",), ("get", "list", "readArtifact")),
        PolicyRule((PIPELINES_GROUP,), ("visualizations",), ("create",)),
        PolicyRule((KUBEFLOW_GROUP,), ("viewers",), ("create", "get", "delete")),
    ]
    edit_rules = [
        PolicyRule((PIPELINES_GROUP,), ("pipelines", "pipelines/versions", "pipelineversions"),
                   ("create", "delete", "update")),
        PolicyRule((PIPELINES_GROUP,), ("experiments",),
                   ("archive", "create", "delete", "unarchive")),
        PolicyRule((PIPELINES_GROUP,), ("runs",),
                   ("archive", "create", "delete", "retry", "terminate", "unarchive",
                    "reportMetrics")),
        PolicyRule((PIPELINES_GROUP,), ("jobs",), ("create", "delete", "disable", "enable")),
        PolicyRule((KUBEFLOW_GROUP,), ("scheduledworkflows",), ("*",)),
        PolicyRule(("argoproj.io",), ("workflows", "cronworkflows", "workflowtemplates"), ("*",)),
    ]
    # kubeflow/manifests common/kubeflow-roles (core group only; the emulator serves no other
    # Kubernetes workload APIs): view reads everything but secrets, edit adds secrets and writes.
    core_view = PolicyRule(("",), ("configmaps", "endpoints", "persistentvolumeclaims", "pods",
                                   "pods/log", "pods/status", "serviceaccounts", "services",
                                   "events", "namespaces", "namespaces/status", "resourcequotas",
                                   "limitranges"), READ_VERBS)
    core_edit_read = PolicyRule(("",), ("secrets", "pods/attach", "pods/exec",
                                        "pods/portforward", "pods/proxy", "services/proxy"),
                                READ_VERBS)
    core_edit_write = PolicyRule(("",), ("configmaps", "endpoints", "persistentvolumeclaims",
                                         "pods", "secrets", "serviceaccounts", "services"),
                                 ("create", "delete", "deletecollection", "patch", "update"))
    kubernetes_admin = [
        PolicyRule(("rbac.authorization.k8s.io",), ("roles", "rolebindings"), ALL_VERBS),
        PolicyRule(("authorization.k8s.io",), ("localsubjectaccessreviews",), ("create",)),
    ]
    return [
        ClusterRole("kubeflow-admin", [],
                    aggregate_from=[{_AGG + "kubeflow-admin": "true"}]),
        ClusterRole("kubeflow-edit", [], labels={_AGG + "kubeflow-admin": "true"},
                    aggregate_from=[{_AGG + "kubeflow-edit": "true"}]),
        ClusterRole("kubeflow-view", [], labels={_AGG + "kubeflow-edit": "true"},
                    aggregate_from=[{_AGG + "kubeflow-view": "true"}]),
        ClusterRole("kubeflow-kubernetes-admin", kubernetes_admin,
                    labels={_AGG + "kubeflow-admin": "true"}),
        ClusterRole("kubeflow-kubernetes-edit", [core_edit_read, core_edit_write],
                    labels={_AGG + "kubeflow-edit": "true"}),
        ClusterRole("kubeflow-kubernetes-view", [core_view],
                    labels={_AGG + "kubeflow-view": "true"}),
        ClusterRole("kubeflow-pipelines-edit", edit_rules,
                    labels={_AGG + "kubeflow-edit": "true"},
                    aggregate_from=[{_AGG + "kubeflow-pipelines-edit": "true"}]),
        ClusterRole("kubeflow-pipelines-view", view_rules,
                    labels={_AGG + "kubeflow-view": "true",
                            _AGG + "kubeflow-pipelines-edit": "true"},
                    aggregate_from=[{_AGG + "kubeflow-pipelines-view": "true"}]),
    ]


def kfp_system_accounts() -> list[SystemAccount]:
    """The KFP components that call the cluster with their own ServiceAccount."""
    return [
        SystemAccount(API_SERVER_SA, ClusterRole(API_SERVER_ROLE, [
            PolicyRule(("authorization.k8s.io",), ("subjectaccessreviews",), ("create",)),
            PolicyRule(("authentication.k8s.io",), ("tokenreviews",), ("create",)),
        ])),
        SystemAccount(PERSISTENCE_AGENT_SA, ClusterRole(PERSISTENCE_AGENT_ROLE, [
            PolicyRule((PIPELINES_GROUP,), ("workflows", "scheduledworkflows"), ("report",)),
            PolicyRule((PIPELINES_GROUP,), ("runs",), ("reportMetrics", "readArtifact")),
        ])),
    ]
