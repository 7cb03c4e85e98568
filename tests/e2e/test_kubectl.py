"""kubectl, with the kubeconfig the server writes, sees the tenants provisioned through the API.

kubectl is a real Go client (client-go discovery, server-side tables), unlike the Python client.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.e2e.provisioning import ANN_NS, BEN_NS
from tests.e2e.support import Platform

KUBECTL = shutil.which("kubectl")


@pytest.mark.skipif(KUBECTL is None, reason="kubectl is not on PATH")
@pytest.mark.parametrize(("resource", "columns"), [
    ("namespaces", ["NAME", "STATUS", "AGE"]),
    # The Profile CRD has no additionalPrinterColumns: NAME and AGE only
    # (docs/upstream/kubeflow-platform.md 7.1).
    ("profiles", ["NAME", "AGE"]),
])
def test_kubectl_get_lists_both_tenants(platform: Platform, tmp_path: Path, resource: str,
                                        columns: list[str]) -> None:
    assert KUBECTL is not None
    env = {**os.environ, "HOME": str(tmp_path), "KUBECONFIG": ""}
    result = subprocess.run(
        [KUBECTL, "--kubeconfig", str(platform.kubeconfig), "--cache-dir",
         str(tmp_path / "cache"), "get", resource],
        capture_output=True, text=True, timeout=60, env=env, check=False)
    assert result.returncode == 0, result.stderr
    header, *rows = result.stdout.splitlines()
    assert header.split() == columns, result.stdout
    names = {row.split()[0] for row in rows}
    if resource == "profiles":
        assert names == {ANN_NS, BEN_NS}, result.stdout
    else:
        assert {ANN_NS, BEN_NS} <= names, result.stdout
