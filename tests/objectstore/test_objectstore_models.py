"""The object store's model, policy, listing and signature checks without HTTP."""

from __future__ import annotations

import calendar

import pytest

from emulator.objectstore import errors, sigv4
from emulator.objectstore.errors import S3Error
from emulator.objectstore.listing import list_page
from emulator.objectstore.models import (
    DEFAULT_BUCKET,
    ROOT,
    ArtifactCredentials,
    Credential,
    ObjectStore,
    StoredObject,
)
from emulator.objectstore.policy import Action, is_allowed

ALICE = Credential("AK-ALICE", "secret", username="alice", namespace="alice")


def test_store_basics() -> None:
    store = ObjectStore(lambda: 100.0)
    assert list(store.buckets) == [DEFAULT_BUCKET]
    stored = store.put_object(DEFAULT_BUCKET, "a/b", b"abc")
    assert (stored.etag, stored.last_modified, stored.content_type) == (
        "900150983cd24fb0d6963f7d28e17f72", 100.0, "application/octet-stream")
    store.put_object(DEFAULT_BUCKET, "a/a", b"")
    assert [o.key for o in store.list_objects(DEFAULT_BUCKET, "a/")] == ["a/a", "a/b"]
    assert store.delete_object(DEFAULT_BUCKET, "a/b") and not store.delete_object(
        DEFAULT_BUCKET, "a/b")
    with pytest.raises(KeyError):
        store.put_object("nope", "k", b"")
    with pytest.raises(ValueError):
        store.put_object(DEFAULT_BUCKET, "k" * 1025, b"")
    store.clear()
    assert store.list_objects(DEFAULT_BUCKET) == []


def test_credentials_per_mode() -> None:
    shared = ObjectStore(lambda: 0.0)
    assert shared.credentials_for_namespace("alice") == ("minio", "minio123")
    per_ns = ObjectStore(lambda: 0.0, ArtifactCredentials.PER_NAMESPACE)
    alice = per_ns.credentials_for_namespace("alice")
    assert per_ns.credentials_for_namespace("alice") == alice  # stable
    assert per_ns.credentials_for_namespace("bob") != alice
    user = per_ns.credential(alice[0])
    assert user is not None and (user.username, user.admin) == ("alice", False)
    assert per_ns.credential("minio") is ROOT
    per_ns.forget_namespace("alice")
    assert per_ns.credential(alice[0]) is None


@pytest.mark.parametrize(("action", "key", "delimiter", "allowed"), [
    (Action.GET_OBJECT, "private-artifacts/alice/x", "", True),
    (Action.PUT_OBJECT, "private/alice/x", "", True),
    (Action.DELETE_OBJECT, "shared/x", "", True),
    (Action.GET_OBJECT, "artifacts/wf/2024/01/01/pod/main.log", "", True),
    (Action.GET_OBJECT, "private-artifacts/bob/x", "", False),
    (Action.PUT_OBJECT, "private-artifacts/alicex/x", "", False),  # not a prefix match
    (Action.GET_OBJECT, "private-artifacts/alice", "", False),  # the folder name itself
    (Action.GET_OBJECT, "v2/artifacts/x", "", False),
    (Action.LIST_BUCKET, "private-artifacts/alice/", "", True),
    (Action.LIST_BUCKET, "private-artifacts/alice/v2/", "/", True),
    (Action.LIST_BUCKET, "private-artifacts/bob/", "", False),
    (Action.LIST_BUCKET, "private-artifacts/", "/", False),  # explicit deny
    (Action.LIST_BUCKET, "private/bob/", "", False),
    (Action.LIST_BUCKET, "shared/", "", True),
    (Action.LIST_BUCKET, "", "/", True),  # top-level browse
    (Action.LIST_BUCKET, "", "", False),  # the whole bucket, recursively
    (Action.LIST_BUCKET, "pipelines/", "/", False),
    (Action.HEAD_BUCKET, "", "", True),
    (Action.CREATE_BUCKET, "", "", False),
    (Action.LIST_ALL_MY_BUCKETS, "", "", False),
])
def test_namespace_user_policy(action: Action, key: str, delimiter: str, allowed: bool) -> None:
    assert is_allowed(ALICE, action, DEFAULT_BUCKET, key, delimiter) is allowed
    assert is_allowed(ROOT, action, DEFAULT_BUCKET, key, delimiter) is True


def test_namespace_user_has_nothing_in_other_buckets() -> None:
    assert not is_allowed(ALICE, Action.GET_OBJECT, "other", "shared/x")
    assert not is_allowed(ALICE, Action.HEAD_BUCKET, "other")


def _objects(*keys: str) -> list[StoredObject]:
    store = ObjectStore(lambda: 0.0)
    for key in keys:
        store.put_object(DEFAULT_BUCKET, key, b"")
    return store.list_objects(DEFAULT_BUCKET)


def test_listing_pages_roll_up_and_resume() -> None:
    objects = _objects("a/1", "a/2", "b", "c/1", "d")
    first = list_page(objects, "", "/", "", 2)
    assert ([o.key for o in first.contents], first.common_prefixes, first.is_truncated,
            first.last) == (["b"], ["a/"], True, "b")
    second = list_page(objects, "", "/", first.last, 2)
    assert ([o.key for o in second.contents], second.common_prefixes,
            second.is_truncated) == (["d"], ["c/"], False)
    # Resuming after a common prefix skips all of its keys.
    assert [o.key for o in list_page(objects, "", "/", "a/", 10).contents] == ["b", "d"]
    assert list_page(objects, "", "", "", 0).is_truncated is False


# AWS's published example of a STREAMING-AWS4-HMAC-SHA256-PAYLOAD upload (66560 bytes of 'a'
# in chunks of 64 KiB and 1 KiB), with its documented seed and chunk signatures.
EXAMPLE = Credential("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "x")
SEED = "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"
CHUNK_SIGNATURES = ["ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648",
                    "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497",
                    "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9"]


def _streaming_request(signatures: list[str]) -> sigv4.Request:
    body = b"".join(f"{size:x};chunk-signature={sig}\r\n".encode() + b"a" * size + b"\r\n"
                    for size, sig in zip((65536, 1024, 0), signatures, strict=True))
    headers = [
        ("Host", "s3.amazonaws.com"), ("x-amz-date", "20130524T000000Z"),
        ("x-amz-storage-class", "REDUCED_REDUNDANCY"),
        ("Authorization", "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/"
         "s3/aws4_request,SignedHeaders=content-encoding;content-length;host;"
         f"x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class,"
         f"Signature={SEED}"),
        ("x-amz-content-sha256", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"),
        ("Content-Encoding", "aws-chunked"), ("x-amz-decoded-content-length", "66560"),
        ("Content-Length", str(len(body)))]
    return sigv4.Request("PUT", "/examplebucket/chunkObject.txt", "", headers, body)


def _lookup(access_key: str) -> Credential | None:
    return EXAMPLE if access_key == EXAMPLE.access_key else None


SIGNED_AT = calendar.timegm((2013, 5, 24, 0, 0, 0))


def test_streaming_upload_of_the_aws_example_verifies() -> None:
    verified = sigv4.verify(_streaming_request(CHUNK_SIGNATURES), _lookup, SIGNED_AT)
    assert verified.body == b"a" * 66560


def test_streaming_upload_with_a_forged_chunk_is_refused() -> None:
    forged = [CHUNK_SIGNATURES[0], "0" * 64, CHUNK_SIGNATURES[2]]
    with pytest.raises(S3Error) as refused:
        sigv4.verify(_streaming_request(forged), _lookup, SIGNED_AT)
    assert refused.value.code == "SignatureDoesNotMatch"


def test_signature_time_window() -> None:
    with pytest.raises(S3Error) as skewed:
        sigv4.verify(_streaming_request(CHUNK_SIGNATURES), _lookup, SIGNED_AT + 3600)
    assert skewed.value.code == "RequestTimeTooSkewed"


def test_unsigned_trailer_body_decodes() -> None:
    body = b"5\r\nhello\r\n6\r\n world\r\n0\r\nx-amz-checksum-crc32:DUoRhQ==\r\n\r\n"
    assert sigv4.decode_chunked(body) == b"hello world"
    with pytest.raises(S3Error) as short:
        sigv4.decode_chunked(b"5\r\nhel")
    assert short.value.code == errors.incomplete_body().code
