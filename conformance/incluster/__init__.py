"""``kfp-isolation certify --in-cluster``: the suite as a Kubernetes Job inside the cluster.

* :mod:`.manifests` — what the Job and its objects are, and why (the long story);
* :mod:`.report_archive` — the report at the end of the pod's log, and unpacking it safely;
* :mod:`.apply` — create, wait for the pod, collect, delete (``--apply``, ``--collect``);
* :mod:`.command` — the command line's entry.
"""

from conformance.incluster.apply import (
    Applied,
    Finished,
    apply,
    collect_applied,
    create,
    delete,
    delete_applied,
    finish,
)
from conformance.incluster.command import next_steps, plan_from, run
from conformance.incluster.manifests import (
    CONTAINER,
    DEFAULT_TIMEOUT,
    DIRECT_URL,
    GATEWAY_URL,
    JOB_NAME,
    LOGIN_SECRET,
    OBJECT_STORE_URL,
    RUNNER_ACCOUNT,
    RUNNER_NAMESPACE,
    TARGET_CONFIG_MAP,
    InClusterError,
    Plan,
    image_of,
    in_cluster_target,
    job,
    login_secret,
    manifests,
    yaml_stream,
)
from conformance.incluster.report_archive import (
    BEGIN,
    END,
    MAX_MEMBERS,
    Collected,
    collect,
    emit_archive,
    quit_sidecar,
    unpack,
)

__all__ = [
    "BEGIN", "CONTAINER", "DEFAULT_TIMEOUT", "DIRECT_URL", "END", "GATEWAY_URL", "JOB_NAME",
    "LOGIN_SECRET", "MAX_MEMBERS", "OBJECT_STORE_URL", "RUNNER_ACCOUNT", "RUNNER_NAMESPACE",
    "TARGET_CONFIG_MAP", "Applied", "Collected", "Finished", "InClusterError", "Plan", "apply",
    "collect", "collect_applied", "create", "delete", "delete_applied", "emit_archive",
    "finish", "image_of", "in_cluster_target", "job", "login_secret", "manifests",
    "next_steps", "plan_from", "quit_sidecar", "run", "unpack", "yaml_stream",
]
