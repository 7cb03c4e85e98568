"""The object store's S3 REST API, path-style (``/<bucket>/<key>``), as KFP's clients use it.

Served on ``Listener.OBJECT_STORE`` (``minio-service.kubeflow:9000`` up to KFP 2.14,
``seaweedfs.kubeflow:8333`` from 2.15).  Every request is signed (AWS SigV4, checked by
:mod:`emulator.objectstore.sigv4`), then authorized by :func:`emulator.objectstore.policy.
is_allowed` before the bucket or object is looked at; anonymous requests are denied.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import re
import time
import traceback
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from emulator.http.asgi import answer_lifespan
from emulator.objectstore import errors, responses, sigv4
from emulator.objectstore.errors import S3Error
from emulator.objectstore.listing import list_page
from emulator.objectstore.models import Credential, ObjectStore
from emulator.objectstore.policy import Action, is_allowed

if TYPE_CHECKING:
    from emulator.core import Emulator

log = logging.getLogger("kfp_isolation.emulator.objectstore")

# Sub-resources of a bucket or object this emulator does not serve (ACLs, policies,
# versioning, tagging, multipart uploads...): NotImplemented, never a wrong answer.
_UNSERVED = frozenset({
    "acl", "accelerate", "analytics", "cors", "encryption", "intelligent-tiering", "inventory",
    "lifecycle", "logging", "metrics", "notification", "object-lock", "ownershipControls",
    "policy", "policyStatus", "publicAccessBlock", "replication", "requestPayment",
    "restore", "retention", "legal-hold", "select", "tagging", "torrent", "uploads",
    "uploadId", "partNumber", "versioning", "versions", "versionId", "website", "attributes",
})
MAX_DELETE_KEYS = 1000
MAX_LIST_KEYS = 1000


@dataclass
class _Call:
    """One parsed request: who signed it, where it goes, with what."""

    method: str
    path: str
    bucket: str
    key: str
    query: dict[str, str]
    headers: sigv4.Request
    credential: Credential
    body: bytes


class S3App:
    """ASGI app of the S3 API over ``emulator.object_store``."""

    def __init__(self, emulator: Emulator, wall_clock: Callable[[], float] = time.time) -> None:
        self.emulator = emulator
        # Clients sign with their own (wall) clock, not the emulator's virtual one.
        self.wall_clock = wall_clock

    @property
    def store(self) -> ObjectStore:
        return self.emulator.object_store

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await answer_lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        request = Request(scope, receive)
        body = await request.body()
        head = request.method == "HEAD"
        try:
            response = self.handle(scope, body)
        except S3Error as error:
            response = responses.error_response(error, scope["path"], head=head)
        except Exception:
            log.error("unhandled error on %s %s\n%s", request.method, scope["path"],
                      traceback.format_exc())
            response = responses.error_response(errors.internal_error(), scope["path"],
                                                head=head)
        await response(scope, receive, send)

    # -- dispatch --------------------------------------------------------------------------------

    def handle(self, scope: Scope, body: bytes) -> Response:
        raw_path = (scope.get("raw_path") or scope["path"].encode()).decode("utf-8", "replace")
        signed = sigv4.Request(
            method=scope["method"], raw_path=raw_path,
            raw_query=scope.get("query_string", b"").decode("utf-8", "replace"),
            headers=[(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]],
            body=body)
        path = scope["path"]
        bucket, _, key = path.lstrip("/").partition("/")
        query = dict(sigv4.query_pairs(signed.raw_query))
        with self.emulator.kfp.state.lock:
            if not sigv4.is_signed(signed):
                raise errors.access_denied()
            verified = sigv4.verify(signed, self.store.credential, self.wall_clock(),
                                    seaweedfs=self.store.seaweedfs)
            call = _Call(signed.method, path, bucket, key, query, signed, verified.credential,
                         verified.body)
            if not bucket:
                return self._service(call)
            if not key:
                return self._bucket(call)
            return self._object(call)

    def _allow(self, call: _Call, action: Action, key: str = "", delimiter: str = "") -> None:
        if not is_allowed(call.credential, action, call.bucket, key, delimiter):
            raise errors.access_denied()

    def _require_bucket(self, call: _Call) -> None:
        if self.store.bucket(call.bucket) is None:
            raise errors.no_such_bucket()

    def _service(self, call: _Call) -> Response:
        if call.method != "GET":
            raise errors.method_not_allowed()
        visible = [bucket for name, bucket in sorted(self.store.buckets.items())
                   if is_allowed(call.credential, Action.LIST_ALL_MY_BUCKETS, name)]
        return responses.list_buckets(visible, call.credential.username)

    def _bucket(self, call: _Call) -> Response:
        if _UNSERVED & set(call.query):
            raise errors.not_implemented()
        method = call.method
        if method == "PUT":
            return self._create_bucket(call)
        self._require_bucket(call)
        if method == "HEAD":
            self._allow(call, Action.HEAD_BUCKET)
            return Response(b"", 200, headers={"x-amz-request-id": responses.request_id()})
        if method == "GET" and "location" in call.query:
            self._allow(call, Action.GET_BUCKET_LOCATION)
            return responses.bucket_location()
        if method == "GET":
            return self._list(call)
        if method == "POST" and "delete" in call.query:
            return self._delete_objects(call)
        if method == "DELETE":
            self._allow(call, Action.DELETE_BUCKET)
            if not self.store.delete_bucket(call.bucket):
                raise errors.bucket_not_empty()
            return Response(b"", 204, headers={"x-amz-request-id": responses.request_id()})
        raise errors.method_not_allowed()

    def _object(self, call: _Call) -> Response:
        if _UNSERVED & set(call.query) or call.headers.header("x-amz-copy-source"):
            raise errors.not_implemented()
        method = call.method
        if method not in ("GET", "HEAD", "PUT", "DELETE"):
            raise errors.method_not_allowed()
        self._require_bucket(call)
        if len(call.key.encode()) > 1024:
            raise errors.key_too_long()
        if method == "PUT":
            return self._put(call)
        if method == "DELETE":
            self._allow(call, Action.DELETE_OBJECT, call.key)
            self.store.delete_object(call.bucket, call.key)
            return Response(b"", 204, headers={"x-amz-request-id": responses.request_id()})
        self._allow(call, Action.GET_OBJECT, call.key)
        obj = self.store.get_object(call.bucket, call.key)
        if obj is None:
            raise errors.no_such_key()
        headers = responses.object_headers(obj)
        data = obj.data
        status = 200
        selected = _range(call.headers.header("range"), len(data))
        if selected is not None:
            start, end = selected
            headers["Content-Range"] = f"bytes {start}-{end}/{len(data)}"
            data, status = data[start:end + 1], 206
        if method == "HEAD":
            headers["Content-Length"] = str(len(data))
            return Response(b"", status, headers=headers)
        return Response(data, status, headers=headers)

    # -- operations ------------------------------------------------------------------------------

    def _create_bucket(self, call: _Call) -> Response:
        self._allow(call, Action.CREATE_BUCKET)
        if not _valid_bucket_name(call.bucket):
            raise errors.invalid_bucket_name()
        if self.store.bucket(call.bucket) is not None:
            raise errors.bucket_already_owned_by_you()
        self.store.create_bucket(call.bucket)
        return Response(b"", 200, headers={"Location": f"/{call.bucket}",
                                           "x-amz-request-id": responses.request_id()})

    def _put(self, call: _Call) -> Response:
        self._allow(call, Action.PUT_OBJECT, call.key)
        md5 = call.headers.header("content-md5")
        if md5 is not None and md5 != base64.b64encode(
                hashlib.md5(call.body, usedforsecurity=False).digest()).decode():
            raise S3Error("BadDigest",
                          "The Content-MD5 you specified did not match what we received.", 400)
        content_type = call.headers.header("content-type") or "binary/octet-stream"
        obj = self.store.put_object(call.bucket, call.key, call.body, content_type)
        return Response(b"", 200, headers={"ETag": responses.quoted_etag(obj),
                                           "x-amz-request-id": responses.request_id()})

    def _list(self, call: _Call) -> Response:
        query = call.query
        prefix = query.get("prefix", "")
        delimiter = query.get("delimiter", "")
        encoding_type = query.get("encoding-type", "")
        if encoding_type and encoding_type != "url":
            raise S3Error("InvalidArgument", "Invalid Encoding Method specified in Request", 400)
        try:
            max_keys = int(query.get("max-keys", str(MAX_LIST_KEYS)))
        except ValueError:
            raise errors.invalid_max_keys() from None
        if max_keys < 0:
            raise errors.invalid_max_keys()
        max_keys = min(max_keys, MAX_LIST_KEYS)
        self._allow(call, Action.LIST_BUCKET, prefix, delimiter)
        objects = self.store.list_objects(call.bucket, prefix)
        if query.get("list-type") == "2":
            token = query.get("continuation-token")
            start_after = query.get("start-after", "")
            after = start_after
            if token is not None:
                after = _decode_token(token)
            page = list_page(objects, prefix, delimiter, after, max_keys)
            return responses.list_objects_v2(
                call.bucket, page, prefix=prefix, delimiter=delimiter, max_keys=max_keys,
                continuation_token=token, next_token=_encode_token(page.last),
                start_after=start_after, encoding_type=encoding_type)
        marker = query.get("marker", "")
        page = list_page(objects, prefix, delimiter, marker, max_keys)
        return responses.list_objects_v1(call.bucket, page, prefix=prefix, delimiter=delimiter,
                                         max_keys=max_keys, marker=marker,
                                         encoding_type=encoding_type)

    def _delete_objects(self, call: _Call) -> Response:
        try:
            root = ET.fromstring(call.body)
        except ET.ParseError:
            raise errors.malformed_xml() from None
        namespace = root.tag[:root.tag.index("}") + 1] if root.tag.startswith("{") else ""
        if root.tag != f"{namespace}Delete":
            raise errors.malformed_xml()
        quiet = (root.findtext(f"{namespace}Quiet") or "").strip().lower() == "true"
        keys = [obj.findtext(f"{namespace}Key") or "" for obj in root.findall(f"{namespace}Object")]
        if not keys or len(keys) > MAX_DELETE_KEYS or not all(keys):
            raise errors.malformed_xml()
        deleted: list[str] = []
        failed: list[tuple[str, S3Error]] = []
        for key in keys:
            if is_allowed(call.credential, Action.DELETE_OBJECT, call.bucket, key):
                self.store.delete_object(call.bucket, key)
                deleted.append(key)
            else:
                failed.append((key, errors.access_denied()))
        return responses.delete_result(deleted, failed, quiet)


def _encode_token(last: str) -> str:
    return base64.urlsafe_b64encode(last.encode()).decode()


def _decode_token(token: str) -> str:
    try:
        return base64.urlsafe_b64decode(token.encode()).decode()
    except (ValueError, UnicodeDecodeError):
        raise S3Error("InvalidArgument", "The continuation token provided is incorrect",
                      400) from None


def _range(header: str | None, size: int) -> tuple[int, int] | None:
    """The (first, last) byte of a single ``bytes=`` range; None serves the whole object (no
    header, a malformed one, or several ranges, as S3 does); unsatisfiable raises."""
    if not header or not header.startswith("bytes=") or "," in header:
        return None
    first_text, sep, last_text = header[len("bytes="):].strip().partition("-")
    if not sep:
        return None
    try:
        if not first_text:  # suffix: the last N bytes
            count = int(last_text)
            if count <= 0:
                raise errors.invalid_range()
            return max(0, size - count), size - 1
        first = int(first_text)
        last = int(last_text) if last_text else size - 1
    except ValueError:
        return None
    if first < 0 or last < first:
        return None
    if first >= size:
        raise errors.invalid_range()
    return first, min(last, size - 1)


def _valid_bucket_name(name: str) -> bool:
    """S3's rules: 3-63 of lower-case letters, digits, dots and hyphens, starting and ending
    with a letter or digit."""
    return bool(re.fullmatch(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]", name)) and ".." not in name


def build_s3_app(emulator: Emulator) -> S3App:
    return S3App(emulator)
