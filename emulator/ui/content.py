"""What the UI server makes of an object's bytes (minio-helper.ts, utils.ts): gunzip and take a
tarball's first record when asked to extract, cut to ``peek`` bytes, summarize or pack a
"directory" (a key prefix)."""

from __future__ import annotations

import gzip
import io
import math
import re
import tarfile
import zlib
from collections.abc import Sequence
from typing import Protocol
from urllib.parse import quote

SUMMARY_MAX_KEYS = 50  # summarizeDirectoryUnderPrefix: one capped ListObjectsV2 call


class ObjectLike(Protocol):
    key: str
    data: bytes


def parse_peek(value: str | None) -> float:
    """``parsePeekValue``: ``Number(value)`` when finite and positive, else 0 (everything)."""
    if not value:
        return 0
    text = value.strip()
    try:
        number = float(int(text, 16)) if re.fullmatch(r"0[xX][0-9a-fA-F]+", text) \
            else float(text) if text else 0.0
    except ValueError:
        return 0
    return number if math.isfinite(number) and number > 0 else 0


def preview(data: bytes, peek: float) -> bytes:
    """``PreviewStream``: the first ``peek`` bytes (``Buffer.slice`` truncates a fraction)."""
    return data[:math.floor(peek)] if peek > 0 else data


def _gunzip_maybe(data: bytes) -> bytes:
    if data[:2] == b"\x1f\x8b":
        return gzip.decompress(data)
    if len(data) > 1 and data[0] == 0x78 and data[1] in (0x01, 0x5E, 0x9C, 0xDA):
        return zlib.decompress(data)
    return data


def _is_tarball(data: bytes) -> bool:
    return len(data) >= 264 and data[257:265] in (b"ustar\x0000", b"ustar  \x00")


def extract(data: bytes) -> bytes:
    """``getObjectStream`` with ``tryExtract``: gunzip (or inflate) when compressed, then the
    first record of a tarball; anything else as it is.  Raises ``ValueError`` for a corrupt
    archive (the stream's error)."""
    try:
        data = _gunzip_maybe(data)
        if not _is_tarball(data):
            return data
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as archive:
            first = archive.next()
            if first is None:
                return b""
            member = archive.extractfile(first)
            return member.read() if member is not None else b""
    except (OSError, EOFError, zlib.error, tarfile.TarError) as error:
        raise ValueError(str(error) or type(error).__name__) from error


def directory_summary(key: str, objects: Sequence[ObjectLike]) -> str:
    """The preview of a prefix (``previewDirectorySummary``)."""
    count = min(len(objects), SUMMARY_MAX_KEYS)
    label = f"{count}{'+' if len(objects) > SUMMARY_MAX_KEYS else ''}"
    return (f'Directory artifact "{_base_name(key)}" \u2014 {label} file(s). '
            "Download to view contents.\n")


def _base_name(key: str) -> str:
    return key.rstrip("/").split("/")[-1] or "artifact"


def _tar_entry_name(name: str) -> str | None:
    segments = [s for s in name.split("/") if s not in ("", ".", "..")]
    return "/".join(segments) if segments else None


def directory_tarball(key: str, prefix: str, objects: Sequence[ObjectLike]) -> bytes:
    """``streamDirectoryAsTarGz``: the objects under ``prefix`` as a .tar.gz, named relative
    to it, with no path that could climb out of the extraction directory."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz", format=tarfile.USTAR_FORMAT) as archive:
        for obj in objects:
            relative = obj.key[len(prefix):] if obj.key.startswith(prefix) else obj.key
            name = _tar_entry_name(relative)
            if name is None:
                continue
            info = tarfile.TarInfo(name)
            info.size = len(obj.data)
            archive.addfile(info, io.BytesIO(obj.data))
    return buffer.getvalue()


def attachment_disposition(filename: str) -> str:
    """``buildAttachmentDisposition``: an ASCII fallback plus the RFC 5987 UTF-8 name."""
    stripped = re.sub(r"[/\\]+", "_", filename)
    fallback = re.sub(r"[^A-Za-z0-9._-]", "_", stripped) or "artifact"
    encoded = quote(stripped, safe="-_.!~'()*")
    encoded = re.sub(r"['()*]", lambda m: f"%{ord(m.group(0)):X}", encoded)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{encoded}"


def tarball_name(key: str) -> str:
    return f"{_base_name(key)}.tar.gz"
