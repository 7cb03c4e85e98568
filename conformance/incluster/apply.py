"""The operator's side of ``certify --in-cluster``: create the manifests (``--apply``), wait for
the Job's pod, collect the report from its log, delete what the run made (``--collect
--delete`` for a Job applied by hand).

Why the wait watches the pod and not only the Job: a pod that cannot start (an image that
cannot be pulled, a Secret that is missing) leaves the Job without a condition until its
deadline, and a classic sidecar that ignored ``/quitquitquit`` keeps the pod running until the
deadline kills it, with the report already printed.  So the suite container's own state
decides: a waiting reason that never heals ends the wait at once (exit 2), a terminated
``suite`` container is collected at once.

Why errors of the API are retried and the run is then kept: the wait lasts up to an hour, one
answer that fails (a 500, a dropped connection) must not end it, and deleting the Job on an
error of the operator's side would delete the pod and with it the only copy of the report.
"""

from __future__ import annotations

import re
import shlex
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any, Protocol, TextIO, TypeVar

from conformance.incluster.manifests import (
    CONTAINER,
    JOB_NAME,
    InClusterError,
    Plan,
    login_secret,
    login_secret_stub,
    manifests,
    runner_labels,
)
from conformance.incluster.report_archive import collect
from conformance.outcomes import EXIT_ERROR

PREFIX = "kfp-isolation certify --in-cluster"
ATTEMPTS = 5  # consecutive polls whose API calls failed before the wait gives up
# A container waiting for one of these will not start without someone changing the cluster.
STUCK_REASONS = frozenset({"ImagePullBackOff", "ErrImagePull", "InvalidImageName",
                           "CreateContainerConfigError"})
PERMANENT_STATUSES = frozenset({401, 403, 404})  # retrying changes nothing
# --collect --delete removes the runner namespace only if it came with the Job (kubectl apply
# made both within this window), never a namespace that was there before.
NAMESPACE_WINDOW = timedelta(minutes=10)
T = TypeVar("T")


class ApiTrouble(InClusterError):
    """The Kubernetes API failed for good (or too often in a row) while the Job may still run.
    ``status``: the HTTP status of the last answer (None: no answer)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


def api_errors() -> tuple[type[BaseException], ...]:
    """What a call through the official client raises when the API fails: an answer that is
    an error, or none (urllib3's own errors, the socket's)."""
    from kubernetes.client.exceptions import ApiException
    from urllib3.exceptions import HTTPError

    return ApiException, HTTPError, OSError


def describe(exc: BaseException) -> str:
    """One line for an error of the API, without the client's object reprs."""
    status = getattr(exc, "status", None)
    if isinstance(status, int) and status:
        return f"{status} {getattr(exc, 'reason', '') or ''}".rstrip()
    reason = getattr(exc, "reason", None)  # urllib3's MaxRetryError: the underlying error
    text = str(reason if isinstance(reason, BaseException) else exc) or type(exc).__name__
    return re.sub(r"^<[^>]*>: ", "", text)


def _status(exc: BaseException) -> int | None:
    status = getattr(exc, "status", None)
    return status if isinstance(status, int) and status else None


# -- the wait ---------------------------------------------------------------------------------

class BatchApi(Protocol):
    def read_namespaced_job_status(self, name: str, namespace: str) -> Any: ...


class CoreApi(Protocol):
    def list_namespaced_pod(self, namespace: str, *, label_selector: str | None = ...) -> Any:
        ...

    def read_namespaced_pod_log(self, name: str, namespace: str, *,
                                container: str | None = ...) -> Any: ...


@dataclass
class Calls:
    """The wait's API calls: an error that may heal is counted and retried at the next poll;
    ``attempts`` failed polls in a row, or an error that cannot heal, raise :class:`ApiTrouble`."""

    attempts: int = ATTEMPTS
    failures: int = 0
    failed: bool = False

    def call(self, what: str, function: Callable[[], T]) -> tuple[bool, T | None]:
        try:
            return True, function()
        except api_errors() as exc:
            if _status(exc) in PERMANENT_STATUSES or self.failures + 1 >= self.attempts:
                raise ApiTrouble(f"{what}: {describe(exc)}", _status(exc)) from None
            self.failed = True
            return False, None

    def end_poll(self) -> None:
        self.failures = self.failures + 1 if self.failed else 0
        self.failed = False


@dataclass
class Waited:
    state: str  # Complete | Failed | Terminated (the suite container) | stuck | timeout
    reason: str = ""


def newest_pod(pods: Iterable[Any]) -> Any | None:
    """The Job's newest pod (the one a retry or a replacement made last)."""
    return max(pods, key=lambda p: str(p.metadata.creation_timestamp or ""), default=None)


def _container_statuses(pod: Any) -> list[Any]:
    status = getattr(pod, "status", None)
    return [*(getattr(status, "init_container_statuses", None) or []),
            *(getattr(status, "container_statuses", None) or [])]


def stuck(pod: Any) -> str:
    """Why a container of the pod will never start ("" when none is stuck)."""
    for container in _container_statuses(pod):
        waiting = getattr(getattr(container, "state", None), "waiting", None)
        if waiting is not None and waiting.reason in STUCK_REASONS:
            return f"container {container.name}: {waiting.reason}: {waiting.message or ''}"
    return ""


def suite_exit(pod: Any) -> int | None:
    """The suite container's exit code once it terminated (its report printed), else None."""
    for container in _container_statuses(pod):
        terminated = getattr(getattr(container, "state", None), "terminated", None)
        if container.name == CONTAINER and terminated is not None:
            return int(terminated.exit_code)
    return None


def wait_for_job(batch: BatchApi, core: CoreApi, name: str, namespace: str, timeout: float,
                 calls: Calls, interval: float = 5.0,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> Waited:
    """Until the Job is Complete or Failed, its suite container terminated, a container of its
    pod is stuck, or ``timeout`` seconds passed."""
    deadline = clock() + timeout
    while True:
        ok, job = calls.call(f"reading Job {namespace}/{name}",
                             lambda: batch.read_namespaced_job_status(name, namespace))
        if ok and job is not None:
            for condition in (getattr(job.status, "conditions", None) or []):
                if condition.type in ("Complete", "Failed") and condition.status == "True":
                    return Waited(condition.type, condition.reason or condition.message or "")
        ok, pods = calls.call(f"listing the pods of Job {namespace}/{name}",
                              lambda: core.list_namespaced_pod(
                                  namespace, label_selector=f"job-name={name}"))
        pod = newest_pod(pods.items) if ok and pods is not None else None
        if pod is not None:
            if reason := stuck(pod):
                return Waited("stuck", reason)
            code = suite_exit(pod)
            if code is not None:
                return Waited("Terminated", f"the suite container exited {code}")
        calls.end_poll()
        if clock() >= deadline:
            return Waited("timeout")
        sleep(interval)


def job_log(core: CoreApi, name: str, namespace: str, calls: Calls, interval: float = 5.0,
            sleep: Callable[[float], None] = time.sleep) -> str | None:
    """The log of the Job's newest pod, its suite container; None: no pod."""
    while True:
        ok, pods = calls.call(f"listing the pods of Job {namespace}/{name}",
                              lambda: core.list_namespaced_pod(
                                  namespace, label_selector=f"job-name={name}"))
        if ok and pods is not None:
            pod = newest_pod(pods.items)
            if pod is None:
                return None
            pod_name = str(pod.metadata.name)
            ok, log = calls.call(f"reading the log of pod {namespace}/{pod_name}",
                                 partial(core.read_namespaced_pod_log, pod_name, namespace,
                                         container=CONTAINER))
            if ok:
                return str(log)
        calls.end_poll()
        sleep(interval)


@dataclass(frozen=True)
class Finished:
    code: int
    retain: bool = False  # the Job may still hold the report: do not delete it


def finish(batch: BatchApi, core: CoreApi, namespace: str, report_dir: Path, timeout: float,
           err: TextIO, interval: float = 5.0,
           clock: Callable[[], float] = time.monotonic,
           sleep: Callable[[float], None] = time.sleep,
           attempts: int = ATTEMPTS) -> Finished:
    """Wait for the Job, collect its report: the certify exit code it reported (2: none)."""
    calls = Calls(attempts)
    try:
        waited = wait_for_job(batch, core, JOB_NAME, namespace, timeout, calls, interval,
                              clock, sleep)
        if waited.state == "timeout":
            err.write(f"{PREFIX}: the Job {namespace}/{JOB_NAME} did not finish within "
                      f"{timeout:.0f}s (harness error)\n")
            return Finished(EXIT_ERROR, retain=True)
        if waited.state == "stuck":
            err.write(f"{PREFIX}: the pod of Job {namespace}/{JOB_NAME} cannot start: "
                      f"{waited.reason} (harness error)\n")
            return Finished(EXIT_ERROR)
        log = job_log(core, JOB_NAME, namespace, calls, interval, sleep)
    except ApiTrouble as exc:
        if exc.status == 404:
            err.write(f"{PREFIX}: {exc}: the Job or its pod is gone (harness error)\n")
            return Finished(EXIT_ERROR)
        err.write(f"{PREFIX}: the Kubernetes API failed while waiting for the Job: {exc} "
                  "(harness error)\n")
        return Finished(EXIT_ERROR, retain=True)
    if log is None:
        err.write(f"{PREFIX}: the Job ended {waited.state} "
                  f"({waited.reason or 'no reason given'}) and has no pod to read a report "
                  "from (harness error)\n")
        return Finished(EXIT_ERROR)
    collected = collect(log, report_dir)
    if collected.problem:
        err.write(f"{PREFIX}: the Job ended {waited.state}"
                  f"{' (' + waited.reason + ')' if waited.reason else ''} without a usable "
                  f"report: {collected.problem} (harness error)\n")
        return Finished(EXIT_ERROR)
    err.write(f"{PREFIX}: the Job ended {waited.state}; {len(collected.files)} report files in "
              f"{report_dir.resolve()}/, exit {collected.code}\n")
    return Finished(collected.code)


# -- create and delete ------------------------------------------------------------------------

@dataclass
class Applied:
    """What ``--apply`` created, to delete it afterwards (never a namespace it found)."""

    objects: list[dict[str, Any]] = field(default_factory=list)


def _already_exists(exc: BaseException) -> bool:
    return _status(exc) == 409


AUTHORIZATION_POLICIES = "authorizationpolicies"
Operation = Callable[[dict[str, Any]], object]


def _operations(api_client: Any) -> dict[str, tuple[Operation, Operation]]:
    """(create, delete) through the official client for each kind the manifests hold."""
    from kubernetes import client as k8s

    # Typed as Any: the client sends a manifest dict as the body as it is, while its type
    # hints (kubernetes >= 31) name only its models.
    core: Any = k8s.CoreV1Api(api_client)
    rbac: Any = k8s.RbacAuthorizationV1Api(api_client)
    batch: Any = k8s.BatchV1Api(api_client)
    custom: Any = k8s.CustomObjectsApi(api_client)

    def name(obj: dict[str, Any]) -> str:
        return str(obj["metadata"]["name"])

    def namespace(obj: dict[str, Any]) -> str:
        return str(obj["metadata"].get("namespace", ""))

    def group(obj: dict[str, Any]) -> str:
        return str(obj["apiVersion"]).split("/")[0]

    def version(obj: dict[str, Any]) -> str:
        return str(obj["apiVersion"]).split("/")[1]

    return {
        "Namespace": (core.create_namespace, lambda o: core.delete_namespace(name(o))),
        "ServiceAccount": (
            lambda o: core.create_namespaced_service_account(namespace(o), o),
            lambda o: core.delete_namespaced_service_account(name(o), namespace(o))),
        "ConfigMap": (
            lambda o: core.create_namespaced_config_map(namespace(o), o),
            lambda o: core.delete_namespaced_config_map(name(o), namespace(o))),
        "Secret": (
            lambda o: core.create_namespaced_secret(namespace(o), o),
            lambda o: core.delete_namespaced_secret(name(o), namespace(o))),
        "ClusterRoleBinding": (
            rbac.create_cluster_role_binding,
            lambda o: rbac.delete_cluster_role_binding(name(o))),
        "Job": (
            lambda o: batch.create_namespaced_job(namespace(o), o),
            lambda o: batch.delete_namespaced_job(name(o), namespace(o),
                                                  propagation_policy="Background")),
        "AuthorizationPolicy": (
            lambda o: custom.create_namespaced_custom_object(
                group(o), version(o), namespace(o), AUTHORIZATION_POLICIES, o),
            lambda o: custom.delete_namespaced_custom_object(
                group(o), version(o), namespace(o), AUTHORIZATION_POLICIES, name(o))),
    }


def _where(obj: dict[str, Any]) -> str:
    namespace = obj["metadata"].get("namespace", "")
    return f"{obj['kind']} {namespace + '/' if namespace else ''}{obj['metadata']['name']}"


def _api_host(api_client: Any) -> str:
    return str(getattr(getattr(api_client, "configuration", None), "host", "") or "?")


def create(api_client: Any, objects: Iterable[dict[str, Any]], applied: Applied) -> None:
    """Create each object with the official client; a namespace that exists is used as is."""
    operations = _operations(api_client)
    for obj in objects:
        kind = obj["kind"]
        if kind not in operations:
            raise InClusterError(f"cannot create a {kind}")
        try:
            operations[kind][0](obj)
        except api_errors() as exc:
            if kind == "Namespace" and _already_exists(exc):
                continue  # someone else's: used, never deleted
            hint = (" (left by an earlier run with --keep? delete it first)"
                    if _already_exists(exc) else "")
            if _status(exc) is None:
                hint = f" (the Kubernetes API at {_api_host(api_client)} cannot be reached)"
            raise InClusterError(f"cannot create {_where(obj)}: {describe(exc)}{hint}") \
                from None
        applied.objects.append(obj)


def delete(api_client: Any, objects: Iterable[dict[str, Any]], err: TextIO) -> None:
    """Delete the objects, newest first; one already gone is fine, others are reported."""
    operations = _operations(api_client)
    for obj in reversed(list(objects)):
        try:
            operations[obj["kind"]][1](obj)
        except api_errors() as exc:
            if _status(exc) != 404:
                err.write(f"{PREFIX}: could not delete {_where(obj)}: {describe(exc)}\n")


def collect_command(plan: Plan, target_file: Path | None, report_dir: Path) -> str:
    """The command that collects a Job that was left running and deletes the run's objects."""
    return shlex.join(["kfp-isolation", "certify", "--in-cluster", "--collect", "--delete",
                       "--namespace", plan.namespace,
                       "--target-file", str(target_file) if target_file else "FILE",
                       "--report-dir", str(report_dir),
                       *([] if plan.multiuser else ["--mode", "standalone-inside"])])


def apply(api_client: Any, plan: Plan, report_dir: Path, keep: bool, err: TextIO,
          wait_timeout: float | None = None, interval: float = 5.0,
          target_file: Path | None = None, clock: Callable[[], float] = time.monotonic,
          sleep: Callable[[float], None] = time.sleep) -> int:
    """Create the manifests (and the login Secret), wait for the Job, collect, clean up; keep
    everything when the Job may still hold the report and the wait could not get it."""
    try:
        secret = login_secret(plan)  # before anything is created
    except InClusterError as exc:
        err.write(f"{PREFIX}: {exc}\n")
        return EXIT_ERROR
    from kubernetes import client as k8s

    applied = Applied()
    objects = manifests(plan)
    if secret is not None:
        objects.insert(len(objects) - 1, secret)
    retain = False
    try:
        create(api_client, objects, applied)
        err.write(f"{PREFIX}: Job {plan.namespace}/{JOB_NAME} created ({plan.image}); waiting "
                  f"up to {plan.timeout}s\n")
        finished = finish(k8s.BatchV1Api(api_client), k8s.CoreV1Api(api_client),
                          plan.namespace, report_dir,
                          plan.timeout + 300 if wait_timeout is None else wait_timeout,
                          err, interval, clock, sleep)
        retain = finished.retain
        return finished.code
    except InClusterError as exc:
        err.write(f"{PREFIX}: {exc} (harness error)\n")
        return EXIT_ERROR
    finally:
        left = ", ".join(_where(o) for o in applied.objects)
        if retain and not keep:
            err.write(f"{PREFIX}: kept {left}: the Job's pod may still hold the report; "
                      f"collect it and delete them with: "
                      f"{collect_command(plan, target_file, report_dir)}\n")
        elif keep:
            err.write(f"{PREFIX}: --keep: left {left}\n")
        else:
            delete(api_client, applied.objects, err)


# -- a Job applied by hand -----------------------------------------------------------------

def runner_objects(plan: Plan) -> list[dict[str, Any]]:
    """What the printed manifests (and the hand-made login Secret) put in the cluster, in the
    order they were created."""
    objects = manifests(plan)
    if plan.multiuser:
        objects.insert(len(objects) - 1, login_secret_stub(plan))
    return objects


def _ours(namespace: Any, job_created: datetime | None, labels: dict[str, str]) -> bool:
    """A namespace made with the Job (our labels, no owner such as a Profile, created shortly
    before the Job), not one that was there and got our labels from ``kubectl apply``."""
    meta = namespace.metadata
    if meta is None:
        return False
    created = meta.creation_timestamp
    return (job_created is not None and isinstance(created, datetime)
            and all((meta.labels or {}).get(k) == v for k, v in labels.items())
            and not meta.owner_references
            and job_created - NAMESPACE_WINDOW <= created <= job_created)


def delete_applied(api_client: Any, plan: Plan, err: TextIO) -> None:
    """Remove what the printed manifests made: the Job, the login Secret, the ConfigMap, the
    AuthorizationPolicy, the ClusterRoleBinding, the ServiceAccount, and the namespace if it
    came with them."""
    from kubernetes import client as k8s

    core, batch = k8s.CoreV1Api(api_client), k8s.BatchV1Api(api_client)
    objects = runner_objects(plan)
    namespace_object = objects.pop(0)
    job_created = namespace = None
    try:
        job_meta = batch.read_namespaced_job(JOB_NAME, plan.namespace).metadata
        job_created = getattr(job_meta, "creation_timestamp", None)
        namespace = core.read_namespace(plan.namespace)
    except api_errors() as exc:
        if _status(exc) != 404:
            err.write(f"{PREFIX}: could not read Job or Namespace {plan.namespace}: "
                      f"{describe(exc)}\n")
    delete(api_client, objects, err)
    if namespace is not None and _ours(namespace, job_created, runner_labels()):
        delete(api_client, [namespace_object], err)
    else:
        err.write(f"{PREFIX}: Namespace {plan.namespace} left in place (it was there before "
                  "the Job, or it is gone)\n")
    err.write(f"{PREFIX}: removed (those that were there) "
              + ", ".join(_where(o) for o in objects) + "\n")


def collect_applied(api_client: Any, plan: Plan, report_dir: Path, remove: bool, err: TextIO,
                    wait_timeout: float | None = None, interval: float = 5.0,
                    clock: Callable[[], float] = time.monotonic,
                    sleep: Callable[[float], None] = time.sleep) -> int:
    """``--collect [--delete]``: wait for a Job applied by hand, collect its report; delete
    the run's objects unless the Job may still hold the report."""
    from kubernetes import client as k8s

    finished = finish(k8s.BatchV1Api(api_client), k8s.CoreV1Api(api_client), plan.namespace,
                      report_dir, plan.timeout + 300 if wait_timeout is None else wait_timeout,
                      err, interval, clock, sleep)
    if remove and finished.retain:
        err.write(f"{PREFIX}: nothing deleted: the Job's pod may still hold the report; run "
                  "this again\n")
    elif remove:
        delete_applied(api_client, plan, err)
    return finished.code
