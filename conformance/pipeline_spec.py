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
