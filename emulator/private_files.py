"""Files that hold a credential (kubeconfigs, target files with passwords, TLS keys)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_private(path: Path, data: str | bytes) -> Path:
    """Write ``data`` readable by its owner only, and atomically: the content goes to a new
    owner-only file beside ``path`` that then replaces it, so a file that existed with a wider
    mode does not keep it, and a reader polling for ``path`` never sees it half written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)  # mode 0600
    try:
        payload = data.encode() if isinstance(data, str) else data
        view = memoryview(payload)
        while view:
            view = view[os.write(fd, view):]
        os.close(fd)
        fd = -1
        os.replace(temporary, path)
    except BaseException:
        if fd >= 0:
            os.close(fd)
        Path(temporary).unlink(missing_ok=True)
        raise
    return path
