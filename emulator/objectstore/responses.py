"""The S3 wire format: XML documents and headers of the answers (no state, no routing)."""

from __future__ import annotations

import itertools
import os
import xml.etree.ElementTree as ET
from collections.abc import Callable
from datetime import datetime, timezone
from email.utils import formatdate
from urllib.parse import quote

from starlette.responses import Response

from emulator.objectstore.errors import S3Error
from emulator.objectstore.listing import ListingPage
from emulator.objectstore.models import Bucket, StoredObject

S3_NS = "http://s3.amazonaws.com/doc/2006-03-01/"
XML_TYPE = "application/xml"
Encoder = Callable[[str], str]
_request_ids = itertools.count(int.from_bytes(os.urandom(4), "big") << 24)


def request_id() -> str:
    """MinIO-style request ids: 16 upper-case hex digits, increasing."""
    return f"{next(_request_ids) & 0xFFFFFFFFFFFFFFFF:016X}"


def iso8601(seconds: float) -> str:
    """``2024-01-02T03:04:05.678Z``, as listings write times."""
    moment = datetime.fromtimestamp(seconds, timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def http_date(seconds: float) -> str:
    return formatdate(seconds, usegmt=True)


def quoted_etag(obj: StoredObject) -> str:
    return f'"{obj.etag}"'


def _document(root: ET.Element) -> bytes:
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="utf-8",
                                                                     xml_declaration=False)


def _add(parent: ET.Element, tag: str, text: str | None = None) -> ET.Element:
    child = ET.SubElement(parent, tag)
    if text is not None:
        child.text = text
    return child


def xml_response(root: ET.Element, status: int = 200, rid: str = "") -> Response:
    return Response(_document(root), status, media_type=XML_TYPE,
                    headers={"x-amz-request-id": rid or request_id()})


def error_response(error: S3Error, resource: str, *, head: bool = False,
                   rid: str = "") -> Response:
    """``<Error>`` with Code, Message, Resource and RequestId; a HEAD answer has no body."""
    rid = rid or request_id()
    if head:
        return Response(b"", error.status, headers={"x-amz-request-id": rid})
    root = ET.Element("Error")
    _add(root, "Code", error.code)
    _add(root, "Message", error.message)
    _add(root, "Resource", resource)
    _add(root, "RequestId", rid)
    return xml_response(root, error.status, rid)


def list_buckets(buckets: list[Bucket], owner: str) -> Response:
    root = ET.Element("ListAllMyBucketsResult", xmlns=S3_NS)
    owner_element = _add(root, "Owner")
    _add(owner_element, "ID", owner)
    _add(owner_element, "DisplayName", owner)
    listed = _add(root, "Buckets")
    for bucket in buckets:
        entry = _add(listed, "Bucket")
        _add(entry, "Name", bucket.name)
        _add(entry, "CreationDate", iso8601(bucket.created_at))
    return xml_response(root)


def bucket_location() -> Response:
    """The default region (us-east-1) is written as an empty constraint."""
    return xml_response(ET.Element("LocationConstraint", xmlns=S3_NS))


def _encoder(encoding_type: str) -> Encoder:
    """``encoding-type=url`` asks for keys and prefixes URL-encoded in the answer."""
    if encoding_type == "url":
        return lambda text: quote(text, safe="/")
    return lambda text: text


def _contents(root: ET.Element, page: ListingPage, encode: Encoder) -> None:
    for obj in page.contents:
        entry = _add(root, "Contents")
        _add(entry, "Key", encode(obj.key))
        _add(entry, "LastModified", iso8601(obj.last_modified))
        _add(entry, "ETag", quoted_etag(obj))
        _add(entry, "Size", str(obj.size))
        _add(entry, "StorageClass", "STANDARD")
    for prefix in page.common_prefixes:
        _add(_add(root, "CommonPrefixes"), "Prefix", encode(prefix))


def list_objects_v2(bucket: str, page: ListingPage, *, prefix: str, delimiter: str,
                    max_keys: int, continuation_token: str | None, next_token: str,
                    start_after: str, encoding_type: str) -> Response:
    encode = _encoder(encoding_type)
    root = ET.Element("ListBucketResult", xmlns=S3_NS)
    _add(root, "Name", bucket)
    _add(root, "Prefix", encode(prefix))
    if start_after:
        _add(root, "StartAfter", encode(start_after))
    if continuation_token is not None:
        _add(root, "ContinuationToken", continuation_token)
    if page.is_truncated:
        _add(root, "NextContinuationToken", next_token)
    _add(root, "KeyCount", str(len(page.contents) + len(page.common_prefixes)))
    _add(root, "MaxKeys", str(max_keys))
    if delimiter:
        _add(root, "Delimiter", encode(delimiter))
    if encoding_type:
        _add(root, "EncodingType", encoding_type)
    _add(root, "IsTruncated", "true" if page.is_truncated else "false")
    _contents(root, page, encode)
    return xml_response(root)


def list_objects_v1(bucket: str, page: ListingPage, *, prefix: str, delimiter: str,
                    max_keys: int, marker: str, encoding_type: str) -> Response:
    encode = _encoder(encoding_type)
    root = ET.Element("ListBucketResult", xmlns=S3_NS)
    _add(root, "Name", bucket)
    _add(root, "Prefix", encode(prefix))
    _add(root, "Marker", encode(marker))
    if page.is_truncated and delimiter:  # S3 writes NextMarker only with a delimiter
        _add(root, "NextMarker", encode(page.last))
    _add(root, "MaxKeys", str(max_keys))
    if delimiter:
        _add(root, "Delimiter", encode(delimiter))
    if encoding_type:
        _add(root, "EncodingType", encoding_type)
    _add(root, "IsTruncated", "true" if page.is_truncated else "false")
    _contents(root, page, encode)
    return xml_response(root)


def delete_result(deleted: list[str], failed: list[tuple[str, S3Error]], quiet: bool) -> Response:
    root = ET.Element("DeleteResult", xmlns=S3_NS)
    if not quiet:
        for key in deleted:
            _add(_add(root, "Deleted"), "Key", key)
    for key, error in failed:
        entry = _add(root, "Error")
        _add(entry, "Key", key)
        _add(entry, "Code", error.code)
        _add(entry, "Message", error.message)
    return xml_response(root)


def object_headers(obj: StoredObject) -> dict[str, str]:
    return {"ETag": quoted_etag(obj), "Last-Modified": http_date(obj.last_modified),
            "Content-Type": obj.content_type, "Accept-Ranges": "bytes",
            "x-amz-request-id": request_id()}
