"""AWS Signature Version 4 as S3 servers check it: the Authorization header and presigned URLs.

The server rebuilds the canonical request from what it received, signs it with the secret of
the access key the request names, and compares.  Payloads: a hex SHA-256 (checked against the
body), ``UNSIGNED-PAYLOAD``, or the ``aws-chunked`` streaming bodies
(``STREAMING-AWS4-HMAC-SHA256-PAYLOAD`` with per-chunk signatures, checked in a chain from the
request's signature; ``STREAMING-UNSIGNED-PAYLOAD-TRAILER`` without).  Trailing checksums are
not verified.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from urllib.parse import quote, unquote

from emulator.objectstore import errors
from emulator.objectstore.models import Credential

ALGORITHM = "AWS4-HMAC-SHA256"
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
STREAMING_SIGNED = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
STREAMING_SIGNED_TRAILER = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
STREAMING_UNSIGNED_TRAILER = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
# How far a signed request's time may be from the server's (S3: 15 minutes).
MAX_SKEW_SECONDS = 15 * 60
MAX_PRESIGNED_EXPIRES = 7 * 24 * 3600
_HEX64 = re.compile(r"[0-9a-f]{64}\Z")

CredentialLookup = Callable[[str], Credential | None]


@dataclass
class Request:
    """What the signature covers, as received: the percent-encoded path and query string, the
    headers (any case, repeats kept) and the body bytes."""

    method: str
    raw_path: str
    raw_query: str
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        values = [v for k, v in self.headers if k.lower() == name]
        return ",".join(values) if values else None


@dataclass
class Verified:
    """The signer and the payload (an aws-chunked body decoded)."""

    credential: Credential
    body: bytes


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def signing_key(secret: str, date: str, region: str, service: str) -> bytes:
    key = _hmac(("AWS4" + secret).encode(), date)
    for part in (region, service, "aws4_request"):
        key = _hmac(key, part)
    return key


def _uri_encode(text: str, safe: str = "") -> str:
    return quote(text, safe=safe + "-_.~")


def query_pairs(raw_query: str) -> list[tuple[str, str]]:
    """The query string's (name, value) pairs, decoded (``+`` stays a plus, as S3 reads it)."""
    pairs = []
    for part in raw_query.split("&"):
        if not part:
            continue
        name, _, value = part.partition("=")
        pairs.append((unquote(name), unquote(value)))
    return pairs


def canonical_request(request: Request, signed_headers: list[str], payload_hash: str,
                      *, skip_query: str = "") -> str:
    path = _uri_encode(unquote(request.raw_path), safe="/") or "/"
    query = "&".join(f"{_uri_encode(k)}={_uri_encode(v)}" for k, v in sorted(
        (k, v) for k, v in query_pairs(request.raw_query) if k != skip_query))
    headers = "".join(
        f"{name}:{' '.join((request.header(name) or '').split())}\n" for name in signed_headers)
    return "\n".join([request.method, path, query, headers, ";".join(signed_headers),
                      payload_hash])


def _string_to_sign(amz_date: str, scope: str, canonical: str) -> str:
    return "\n".join([ALGORITHM, amz_date, scope, _sha256(canonical.encode())])


def _parse_time(amz_date: str) -> float:
    return datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc).timestamp()


@dataclass
class _Scope:
    access_key: str
    date: str
    region: str
    service: str

    @property
    def text(self) -> str:
        return f"{self.date}/{self.region}/{self.service}/aws4_request"


def _parse_scope(credential: str) -> _Scope:
    parts = credential.split("/")
    if len(parts) != 5 or parts[4] != "aws4_request" or not parts[0] or \
            not re.fullmatch(r"\d{8}", parts[1]):
        raise errors.credential_malformed()
    return _Scope(*parts[:4])


def is_signed(request: Request) -> bool:
    """Does the request carry any credentials (anonymous requests carry none)?"""
    if request.header("authorization"):
        return True
    names = {k for k, _ in query_pairs(request.raw_query)}
    return bool(names & {"X-Amz-Credential", "X-Amz-Signature", "AWSAccessKeyId", "Signature"})


def verify(request: Request, lookup: CredentialLookup, now: float, *,
           seaweedfs: bool = False) -> Verified:
    """The signer of ``request``, or the S3 error a server answers (unknown key, bad
    signature, expired URL, wrong payload hash...)."""
    authorization = request.header("authorization")
    if authorization is not None:
        return _verify_header(request, authorization, lookup, now, seaweedfs)
    query = dict(query_pairs(request.raw_query))
    if "X-Amz-Credential" in query or "X-Amz-Algorithm" in query:
        return _verify_presigned(request, query, lookup, now, seaweedfs)
    raise errors.signature_version_not_supported()


def _credential(lookup: CredentialLookup, access_key: str, seaweedfs: bool) -> Credential:
    credential = lookup(access_key)
    if credential is None:
        raise errors.invalid_access_key_id(seaweedfs)
    return credential


def _verify_header(request: Request, authorization: str, lookup: CredentialLookup, now: float,
                   seaweedfs: bool) -> Verified:
    algorithm, _, rest = authorization.strip().partition(" ")
    if algorithm != ALGORITHM:
        raise errors.signature_version_not_supported()
    fields = {}
    for part in rest.split(","):
        name, _, value = part.strip().partition("=")
        fields[name] = value
    if "Credential" not in fields:
        raise errors.credential_malformed()
    if not fields.get("SignedHeaders"):
        raise errors.missing_signed_headers()
    if not fields.get("Signature"):
        raise errors.signature_does_not_match()
    scope = _parse_scope(fields["Credential"])
    credential = _credential(lookup, scope.access_key, seaweedfs)
    amz_date = request.header("x-amz-date") or ""
    try:
        signed_at = _parse_time(amz_date)
    except ValueError:
        raise errors.malformed_date() from None
    if abs(now - signed_at) > MAX_SKEW_SECONDS:
        raise errors.request_time_too_skewed()
    payload_hash = request.header("x-amz-content-sha256") or _sha256(request.body)
    signed_headers = fields["SignedHeaders"].split(";")
    key = signing_key(credential.secret_key, scope.date, scope.region, scope.service)
    canonical = canonical_request(request, signed_headers, payload_hash)
    expected = hmac.new(key, _string_to_sign(amz_date, scope.text, canonical).encode(),
                        hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, fields["Signature"]):
        raise errors.signature_does_not_match()
    if payload_hash in (STREAMING_SIGNED, STREAMING_SIGNED_TRAILER):
        body = decode_chunked(request.body, key, amz_date, scope.text, expected)
    elif payload_hash == STREAMING_UNSIGNED_TRAILER:
        body = decode_chunked(request.body)
    elif payload_hash == UNSIGNED_PAYLOAD:
        body = request.body
    elif _HEX64.match(payload_hash):
        if not hmac.compare_digest(payload_hash, _sha256(request.body)):
            raise errors.content_sha256_mismatch()
        body = request.body
    else:
        raise errors.content_sha256_mismatch()
    return Verified(credential, body)


def _verify_presigned(request: Request, query: dict[str, str], lookup: CredentialLookup,
                      now: float, seaweedfs: bool) -> Verified:
    required = ("X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Signature", "X-Amz-Date",
                "X-Amz-SignedHeaders", "X-Amz-Expires")
    if any(name not in query for name in required):
        raise errors.invalid_query_params()
    if query["X-Amz-Algorithm"] != ALGORITHM:
        raise errors.S3Error("AuthorizationQueryParametersError",
                             'X-Amz-Algorithm only supports "AWS4-HMAC-SHA256".', 400)
    scope = _parse_scope(query["X-Amz-Credential"])
    credential = _credential(lookup, scope.access_key, seaweedfs)
    try:
        signed_at = _parse_time(query["X-Amz-Date"])
    except ValueError:
        raise errors.S3Error("AuthorizationQueryParametersError",
                             "X-Amz-Date must be in the ISO8601 Long Format "
                             "\"yyyyMMdd'T'HHmmss'Z'\"", 400) from None
    try:
        expires = int(query["X-Amz-Expires"])
    except ValueError:
        raise errors.malformed_expires() from None
    if expires < 0:
        raise errors.S3Error("AuthorizationQueryParametersError",
                             "X-Amz-Expires must be non-negative", 400)
    if expires > MAX_PRESIGNED_EXPIRES:
        raise errors.maximum_expires()
    if signed_at - now > MAX_SKEW_SECONDS:
        raise errors.request_not_ready()
    if now > signed_at + expires:
        raise errors.expired_presigned_request()
    key = signing_key(credential.secret_key, scope.date, scope.region, scope.service)
    payload_hash = query.get("X-Amz-Content-Sha256", UNSIGNED_PAYLOAD)
    canonical = canonical_request(request, query["X-Amz-SignedHeaders"].split(";"),
                                  payload_hash, skip_query="X-Amz-Signature")
    expected = hmac.new(key, _string_to_sign(query["X-Amz-Date"], scope.text,
                                             canonical).encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, query["X-Amz-Signature"]):
        raise errors.signature_does_not_match()
    return Verified(credential, request.body)


def decode_chunked(body: bytes, key: bytes | None = None, amz_date: str = "",
                   scope: str = "", seed_signature: str = "") -> bytes:
    """The payload of an ``aws-chunked`` body.  With a signing ``key``, each chunk's
    ``chunk-signature`` must chain from ``seed_signature`` (the request's own signature)."""
    out = bytearray()
    position = 0
    previous = seed_signature
    while True:
        line_end = body.find(b"\r\n", position)
        if line_end < 0:
            raise errors.incomplete_body()
        header = body[position:line_end].decode("latin-1")
        size_text, _, extension = header.partition(";")
        try:
            size = int(size_text.strip(), 16)
        except ValueError:
            raise errors.incomplete_body() from None
        data_start = line_end + 2
        data = body[data_start:data_start + size]
        if len(data) != size:
            raise errors.incomplete_body()
        if key is not None:
            name, _, signature = extension.partition("=")
            to_sign = "\n".join(["AWS4-HMAC-SHA256-PAYLOAD", amz_date, scope, previous,
                                 EMPTY_SHA256, _sha256(data)])
            expected = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
            if name.strip() != "chunk-signature" or \
                    not hmac.compare_digest(expected, signature.strip()):
                raise errors.signature_does_not_match()
            previous = expected
        out += data
        if size == 0:
            return bytes(out)  # what follows is trailers (checksums), not payload
        position = data_start + size
        if body[position:position + 2] != b"\r\n":
            raise errors.incomplete_body()
        position += 2
