"""kube-apiserver's ServiceAccount admission of a run's pods.

A pod names its ServiceAccount by name only; the account is looked up in the pod's own
namespace, so a run can never borrow another namespace's account.  This is the one place that
decides it (isolation bug switches that would weaken it belong here).
"""

from __future__ import annotations

from emulator.kube.cluster import Cluster


def service_account_refusal(cluster: Cluster, namespace: str, service_account: str,
                            pod_name: str) -> str | None:
    """None when the pod may be created; else the admission plugin's Forbidden message."""
    if service_account in cluster.service_accounts.get(namespace, {}):
        return None
    return (f'pods "{pod_name}" is forbidden: error looking up service account '
            f'{namespace}/{service_account}: serviceaccount "{service_account}" not found')
