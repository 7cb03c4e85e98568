"""The smallest pipeline a KFP server accepts, in every form the suite sends it.

The suite never needs a pipeline that does anything: runs, recurring runs and pipeline versions
only need a valid KFP v2 IR document (an empty DAG).  One definition, three forms: inline
(``pipeline_spec`` of v2 runs), text (v1 ``pipeline_manifest`` and multipart uploads) and a
``data:`` URL (``package_url``; a real server that cannot fetch it answers 400 after
authorization, which the matrix accepts as "allowed").
"""

from __future__ import annotations

import base64
import json
from typing import Any

MINIMAL_PIPELINE_SPEC: dict[str, Any] = {
    "pipelineInfo": {"name": "kfp-isolation-probe"},
    "root": {"dag": {"tasks": {}}},
    "schemaVersion": "2.1.0",
    "sdkVersion": "kfp-2.7.0",
    "components": {},
}
MINIMAL_PIPELINE_TEXT = json.dumps(MINIMAL_PIPELINE_SPEC)
MINIMAL_PIPELINE_URL = ("data:application/json;base64,"
                        + base64.b64encode(MINIMAL_PIPELINE_TEXT.encode()).decode())


# -- pipelines that do something: the data-plane scenarios --------------------------------------
# A container component (no SDK at run time, any image with a POSIX shell): it writes its
# ``message`` input into its output artifact ``data``.  A real deployment really runs it; the
# emulator simulates it from the same IR.
PRODUCER_PIPELINE_NAME = "kfp-isolation-producer"
PRODUCER_TASK = "produce"
PRODUCER_OUTPUT = "data"
PRODUCER_IMAGE = "busybox:1.36"


def producer_pipeline_spec(name: str = PRODUCER_PIPELINE_NAME,
                           env_from_secret: str = "") -> dict[str, Any]:
    """A one-task v2 IR: ``produce`` writes its input into the Dataset ``data``.

    With ``env_from_secret`` the task also reads ``$TOKEN`` (only its length goes into the
    output, never the value): the pipeline then needs that Secret in the run's namespace.
    """
    script = 'mkdir -p "$(dirname "$0")" && printf "%s" "$1" > "$0"'
    if env_from_secret:
        script += ' && printf " token-length=%s" "${#TOKEN}" >> "$0"'
    return {
        "pipelineInfo": {"name": name},
        "schemaVersion": "2.1.0",
        "sdkVersion": "kfp-2.17.3",
        "components": {
            "comp-produce": {
                "executorLabel": "exec-produce",
                "inputDefinitions": {"parameters": {"message": {"parameterType": "STRING"}}},
                "outputDefinitions": {"artifacts": {PRODUCER_OUTPUT: {"artifactType": {
                    "schemaTitle": "system.Dataset", "schemaVersion": "0.0.1"}}}},
            },
        },
        "deploymentSpec": {"executors": {"exec-produce": {"container": {
            "image": PRODUCER_IMAGE,
            "command": ["sh", "-c", script],
            "args": [f"{{{{$.outputs.artifacts['{PRODUCER_OUTPUT}'].path}}}}",
                     "{{$.inputs.parameters['message']}}"],
        }}}},
        "root": {
            "dag": {"tasks": {PRODUCER_TASK: {
                "cachingOptions": {},
                "componentRef": {"name": "comp-produce"},
                "inputs": {"parameters": {"message": {"componentInputParameter": "message"}}},
                "taskInfo": {"name": PRODUCER_TASK},
            }}},
            "inputDefinitions": {"parameters": {"message": {
                "defaultValue": "kfp-isolation", "isOptional": True,
                "parameterType": "STRING"}}},
        },
    }


def secret_platform_spec(secret: str, key: str = "token") -> dict[str, Any]:
    """kfp-kubernetes' ``use_secret_as_env`` for the producer task: ``$TOKEN`` from ``secret``."""
    return {"platforms": {"kubernetes": {"deploymentSpec": {"executors": {"exec-produce": {
        "secretAsEnv": [{
            "secretName": secret,
            "secretNameParameter": {"runtimeValue": {"constant": secret}},
            "keyToEnv": [{"secretKey": key, "envVar": "TOKEN"}],
            "optional": False,
        }],
    }}}}}}


def run_pipeline_field(spec: dict[str, Any],
                       platform: dict[str, Any] | None = None) -> dict[str, Any]:
    """A v2beta1 run's ``pipeline_spec``: the IR alone, or with its platform spec in the
    API server's struct form (``{"pipeline_spec": ..., "platform_spec": ...}``)."""
    if platform is None:
        return spec
    return {"pipeline_spec": spec, "platform_spec": platform}
