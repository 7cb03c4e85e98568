"""Files that hold a credential (kubeconfigs, target files with passwords, TLS keys)."""

from __future__ import annotations

import os
from pathlib import Path


def write_private(path: Path, data: str | bytes) -> Path:
    """Write ``data`` readable by its owner only, also when ``path`` existed with a wider mode
    (``os.open``'s mode applies only to a file it creates, so the mode is set on the open file
    before anything is written)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)
        payload = data.encode() if isinstance(data, str) else data
        view = memoryview(payload)
        while view:
            view = view[os.write(fd, view):]
    finally:
        os.close(fd)
    return path
