"""The report of the in-cluster run, carried by the pod's log.

The pod's side (:func:`emit_archive`) prints the report folder as a base64 tar.gz between two
marker lines at the end of its log, then lets a classic Istio sidecar exit
(:func:`quit_sidecar`); the operator's side (:func:`collect`) reads it back from the log, checks
size and checksum, and unpacks regular files only, inside the report folder, after checking
every member first (:func:`unpack`): the log is the only channel that needs no volume, no
object store and no permission beyond reading a pod's log.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import os
import re
import tarfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TextIO

from conformance.incluster.manifests import InClusterError
from conformance.outcomes import EXIT_ERROR, EXIT_FAIL, EXIT_PASS

BEGIN = "----- KFP-ISOLATION REPORT ARCHIVE BEGIN v1"
END = "----- KFP-ISOLATION REPORT ARCHIVE END v1"
MAX_ARCHIVE_BYTES = 64 * 1024 * 1024  # unpacked, all members together
MAX_MEMBERS = 10_000


def pack(report_dir: Path) -> bytes:
    """The report folder as a tar.gz (regular files and folders only, relative names)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        if report_dir.is_dir():
            for path in sorted(report_dir.rglob("*")):
                if path.is_file() and not path.is_symlink():
                    archive.add(path, arcname=path.relative_to(report_dir).as_posix(),
                                recursive=False)
    return buffer.getvalue()


def emit_archive(report_dir: Path, code: int, out: TextIO) -> None:
    """Print the report folder between the two marker lines (the last thing in the log)."""
    data = pack(report_dir)
    text = base64.b64encode(data).decode()
    out.write(f"\n{BEGIN} exit={code} bytes={len(data)} "
              f"sha256={hashlib.sha256(data).hexdigest()}\n")
    for start in range(0, len(text), 76):
        out.write(text[start:start + 76] + "\n")
    out.write(f"{END}\n")
    out.flush()


def quit_sidecar(environ: dict[str, str] | None = None) -> None:
    """Ask a classic Istio sidecar to exit, so that the Job's pod can end (best effort: with a
    native sidecar, or none, there is nothing to do)."""
    url = (os.environ if environ is None else environ).get("KFP_ISOLATION_QUIT_SIDECAR")
    if not url:
        return
    with contextlib.suppress(OSError):
        urllib.request.urlopen(urllib.request.Request(url, method="POST"), timeout=5).close()


# -- the operator's side: read the log back --------------------------------------------------

_BEGIN = re.compile(re.escape(BEGIN) + r" exit=(\d+) bytes=(\d+) sha256=([0-9a-f]{64})$")


@dataclass(frozen=True)
class Collected:
    code: int
    files: tuple[str, ...] = ()
    problem: str = ""  # why there is no report (code 2)


def collect(log: str, report_dir: Path) -> Collected:
    """Unpack the report archive of a pod's log into ``report_dir``; the pod's exit code."""
    lines = log.splitlines()
    begins = [i for i, line in enumerate(lines) if line.startswith(BEGIN)]
    if not begins:
        return Collected(EXIT_ERROR, problem="the pod's log has no report archive")
    start = begins[-1]
    match = _BEGIN.match(lines[start].rstrip())
    if not match:
        return Collected(EXIT_ERROR, problem="the report archive's first marker is malformed")
    try:
        end = lines.index(END, start + 1)
    except ValueError:
        return Collected(EXIT_ERROR, problem="the report archive is truncated (no end marker)")
    try:
        data = base64.b64decode("".join(lines[start + 1:end]), validate=True)
    except ValueError:
        return Collected(EXIT_ERROR, problem="the report archive is not valid base64")
    if len(data) != int(match.group(2)) or \
            hashlib.sha256(data).hexdigest() != match.group(3):
        return Collected(EXIT_ERROR, problem="the report archive is corrupt (size or checksum)")
    try:
        files = unpack(data, report_dir)
    except InClusterError as exc:
        return Collected(EXIT_ERROR, problem=str(exc))
    code = int(match.group(1))
    return Collected(code if code in (EXIT_PASS, EXIT_FAIL, EXIT_ERROR) else EXIT_ERROR,
                     tuple(files))


def unpack(data: bytes, report_dir: Path, limit: int = MAX_ARCHIVE_BYTES,
           max_members: int = MAX_MEMBERS) -> list[str]:
    """Extract regular files only, each under ``report_dir``, at most ``limit`` bytes and
    ``max_members`` members in all; checked before anything is written."""
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
            members = archive.getmembers()
            _check_members(members, limit, max_members)
            return _extract(archive, members, report_dir)
    except (tarfile.TarError, EOFError) as exc:
        raise InClusterError(f"the report archive cannot be read: {exc}") from None


def _outside(name: str) -> InClusterError:
    return InClusterError(f"the report archive names a path outside the report folder: "
                          f"{name!r}")


def _check_members(members: list[tarfile.TarInfo], limit: int, max_members: int) -> None:
    if len(members) > max_members:
        raise InClusterError(f"the report archive has more than {max_members} members")
    total = 0
    for member in members:
        name = PurePosixPath(member.name)
        if name.is_absolute() or ".." in name.parts or not name.parts:
            raise _outside(member.name)
        if not (member.isfile() or member.isdir()):
            raise InClusterError(f"the report archive holds a link or device: {member.name!r}")
        total += member.size
        if total > limit:
            raise InClusterError(f"the report archive unpacks to more than {limit} bytes")


def _extract(archive: tarfile.TarFile, members: list[tarfile.TarInfo],
             report_dir: Path) -> list[str]:
    root = report_dir.resolve()
    root.mkdir(parents=True, exist_ok=True)
    written = []
    for member in members:
        destination = (root / member.name).resolve()
        if root not in destination.parents:
            raise _outside(member.name)
        if member.isdir():
            destination.mkdir(parents=True, exist_ok=True)
            continue
        source = archive.extractfile(member)
        if source is None:
            continue
        destination.parent.mkdir(parents=True, exist_ok=True)
        destination.write_bytes(source.read(member.size))
        written.append(member.name)
    return written


