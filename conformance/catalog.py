"""The suite's named profiles, features and requirements: what a Gherkin tag means.

Like the Gateway API conformance suite, scenarios are grouped by named *features* (one per
``.feature`` file, tagged on its ``Feature:`` line) and named *profiles* (a set of guarantees an
operator certifies against: tagged on features, scenarios or example tables).  A
``@requires-<what>`` tag names something the target must have; without it the scenario ends
``not supported``.  This module is the one place those names are defined: the pytest plugin
registers them as markers and the reports describe them with these texts.
"""

from __future__ import annotations

from emulator.bugs import BUGS

PROFILES = {
    "core": "Core multi-user isolation: experiments, runs, recurring runs and lists belong to a "
            "namespace; owners, strangers, anonymous callers and service accounts",
    "roles": "Extended: contributors (edit, view) and custom Roles with a partial verb set",
    "trust-boundary": "Identity and the trust boundary: the gateway, forged headers, tokens, "
                      "revocation",
    "limitations": "Documented limitations: reported as present or lifted, never a failure",
    "standalone": "Standalone KFP: what a single-user deployment documents",
    "data-plane": "Runs execute in their namespace; the UI shows and serves a namespace's data "
                  "only to that namespace's users",
}

FEATURES = {
    "experiments": "Experiments belong to a namespace",
    "runs": "Runs belong to their experiment's namespace",
    "recurring-runs": "Recurring runs belong to their experiment's namespace",
    "pipelines": "Namespaced pipelines belong to their namespace",
    "lists": "Lists never leak another tenant's objects",
    "access-changes": "Access changes take effect on the next request",
    "namespace-input": "The REST API's namespace input and its 400 answers",
    "sdk": "The kfp SDK's namespace handling",
    "identity": "Who is calling: no identity is refused, forged headers are ignored",
    "deployment-mode": "The deployment mode is detected and only its scenarios run",
    "api-matrix": "Every authorized operation of both API versions, for every identity kind",
    "execution": "Runs execute in their namespace, with its service accounts and secrets",
    "artifact-access": "The UI server serves a run's artifacts and logs only to its namespace",
    "ui": "The UI shows a user only the namespace they chose",
    "shared-pipelines": "Limitation: pipeline definitions are shared",
    "shared-metadata": "Limitation: ML Metadata is shared",
    "shared-artifacts": "Limitation: the object store holding run artifacts is shared",
}

REQUIREMENTS = {
    "multiuser": "a multi-user (full Kubeflow) deployment",
    "standalone": "a standalone (single-user) deployment",
    "gateway": "the ingress gateway with its login proxy (full Kubeflow)",
    "emulator-controls": "the emulator's controls (its clock): the emulator only",
    "data-plane": "runs that execute: Argo Workflows and their pods on the Kubernetes API",
    "object-store": "the S3 endpoint holding the run artifacts (target dataPlane.objectStore)",
    "metadata": "ML Metadata over gRPC-web: through the gateway (outside) or metadata-envoy "
                "(target dataPlane.metadata, inside)",
    "ui-driver": "a browser driving the UI (the emulator's UI; Chromium and Playwright where "
                 "the suite runs)",
    "sdk": "the kfp SDK installed where the suite runs",
}

# A scenario of an extension profile is not part of the profile it extends, whatever level the
# tags sit at (a contributor's example row in a core feature is certified under roles only).
EXTENDS = {"roles": "core"}

LIMITATION_TAG = "limitations"  # also the profile: a limitation scenario never fails
REQUIRES = "requires-"


def profiles_of(tags: set[str] | list[str]) -> list[str]:
    """The profiles a scenario with these tags belongs to."""
    found = {tag for tag in tags if tag in PROFILES}
    found -= {base for extension, base in EXTENDS.items() if extension in found}
    return [name for name in PROFILES if name in found]


def markers() -> dict[str, str]:
    """Every tag the features may use, as pytest marker name -> description."""
    found = {name: f"profile: {text}" for name, text in PROFILES.items()}
    found.update({name: f"feature: {text}" for name, text in FEATURES.items()})
    found.update({REQUIRES + name: f"needs {text}" for name, text in REQUIREMENTS.items()})
    found.update({bug.id: f"detects {bug.id}: {bug.title}" for bug in BUGS.values()})
    return found


def bugs_of(tags: set[str] | list[str]) -> list[str]:
    """The catalog bugs (``ISO-xxx``) a scenario with these tags detects."""
    return sorted(tag for tag in tags if tag in BUGS)
