"""The S3 API with real clients (boto3, minio) as the root user: objects, listings, errors,
signatures and presigned URLs."""

from __future__ import annotations

import hashlib
import io
import uuid
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta, timezone
from unittest import mock

import pytest
import requests
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError
from minio.error import S3Error as MinioError

from tests.objectstore.s3_support import Store

BUCKET = "mlpipeline"


def _prefix() -> str:
    return f"t-{uuid.uuid4().hex[:8]}/"


def _error(exc: ClientError) -> tuple[int, str, str]:
    response = exc.response
    return (response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Code"],
            response["Error"].get("Message", ""))


def _signed(store: Store, method: str, path: str, secret: str = "minio123",
            access_key: str = "minio", body: bytes = b"") -> requests.Response:
    """A request signed by botocore's own SigV4 signer, sent with requests (for raw bodies)."""
    request = AWSRequest(method=method, url=store.url + path, data=body)
    S3SigV4Auth(Credentials(access_key, secret), "s3", "us-east-1").add_auth(request)
    return requests.request(method, request.url, headers=dict(request.headers), data=body,
                            timeout=10)


def test_put_get_head_delete_round_trip(shared_store: Store) -> None:
    s3 = shared_store.boto()
    key = _prefix() + "dir/hello world+~.txt"
    put = s3.put_object(Bucket=BUCKET, Key=key, Body=b"hello artifacts", ContentType="text/plain")
    got = s3.get_object(Bucket=BUCKET, Key=key)
    assert got["Body"].read() == b"hello artifacts"
    assert got["ContentType"] == "text/plain"
    assert got["ETag"] == put["ETag"] == f'"{hashlib.md5(b"hello artifacts").hexdigest()}"'
    head = s3.head_object(Bucket=BUCKET, Key=key)
    assert head["ContentLength"] == len(b"hello artifacts")
    s3.delete_object(Bucket=BUCKET, Key=key)
    with pytest.raises(ClientError) as missing:
        s3.get_object(Bucket=BUCKET, Key=key)
    assert _error(missing.value) == (404, "NoSuchKey", "The specified key does not exist.")
    with pytest.raises(ClientError) as missing_head:
        s3.head_object(Bucket=BUCKET, Key=key)
    assert missing_head.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_ranges(shared_store: Store) -> None:
    s3 = shared_store.boto()
    key = _prefix() + "digits"
    s3.put_object(Bucket=BUCKET, Key=key, Body=b"0123456789")
    middle = s3.get_object(Bucket=BUCKET, Key=key, Range="bytes=2-4")
    assert middle["Body"].read() == b"234"
    assert middle["ContentRange"] == "bytes 2-4/10"
    assert s3.get_object(Bucket=BUCKET, Key=key, Range="bytes=7-")["Body"].read() == b"789"
    assert s3.get_object(Bucket=BUCKET, Key=key, Range="bytes=-3")["Body"].read() == b"789"
    assert s3.get_object(Bucket=BUCKET, Key=key, Range="bytes=8-99")["Body"].read() == b"89"
    with pytest.raises(ClientError) as beyond:
        s3.get_object(Bucket=BUCKET, Key=key, Range="bytes=10-12")
    assert _error(beyond.value)[:2] == (416, "InvalidRange")


def test_prefix_delimiter_and_pagination(shared_store: Store) -> None:
    s3 = shared_store.boto()
    root = _prefix()
    keys = [f"{root}a/1", f"{root}a/2", f"{root}b/1", f"{root}c", f"{root}d", f"{root}e/x/y"]
    for key in keys:
        s3.put_object(Bucket=BUCKET, Key=key, Body=key.encode())
    top = s3.list_objects_v2(Bucket=BUCKET, Prefix=root, Delimiter="/")
    assert [c["Key"] for c in top["Contents"]] == [f"{root}c", f"{root}d"]
    assert [p["Prefix"] for p in top["CommonPrefixes"]] == [f"{root}a/", f"{root}b/", f"{root}e/"]
    assert top["KeyCount"] == 5 and top["IsTruncated"] is False
    # Pages of two: common prefixes count as one entry each; no entry twice, none lost.
    pages = list(s3.get_paginator("list_objects_v2").paginate(
        Bucket=BUCKET, Prefix=root, Delimiter="/", PaginationConfig={"PageSize": 2}))
    assert [p["KeyCount"] for p in pages] == [2, 2, 1]
    seen = [e.get("Key") or e.get("Prefix") for p in pages
            for e in p.get("CommonPrefixes", []) + p.get("Contents", [])]
    assert sorted(seen) == sorted([f"{root}a/", f"{root}b/", f"{root}e/", f"{root}c", f"{root}d"])
    flat = list(s3.get_paginator("list_objects_v2").paginate(
        Bucket=BUCKET, Prefix=root, PaginationConfig={"PageSize": 4}))
    assert [c["Key"] for p in flat for c in p["Contents"]] == sorted(keys)
    # ListObjects V1 with marker paging, and V2 StartAfter.
    v1 = list(s3.get_paginator("list_objects").paginate(
        Bucket=BUCKET, Prefix=root, PaginationConfig={"PageSize": 5}))
    assert [c["Key"] for p in v1 for c in p["Contents"]] == sorted(keys)
    after = s3.list_objects_v2(Bucket=BUCKET, Prefix=root, StartAfter=f"{root}b/1")
    assert [c["Key"] for c in after["Contents"]] == [f"{root}c", f"{root}d", f"{root}e/x/y"]
    assert s3.list_objects_v2(Bucket=BUCKET, Prefix=root + "zzz")["KeyCount"] == 0


def test_multi_delete(shared_store: Store) -> None:
    s3 = shared_store.boto()
    root = _prefix()
    for name in ("x", "y"):
        s3.put_object(Bucket=BUCKET, Key=root + name, Body=b"1")
    result = s3.delete_objects(Bucket=BUCKET, Delete={"Objects": [
        {"Key": root + "x"}, {"Key": root + "y"}, {"Key": root + "never-there"}]})
    assert sorted(d["Key"] for d in result["Deleted"]) == [root + "never-there", root + "x",
                                                          root + "y"]
    assert s3.list_objects_v2(Bucket=BUCKET, Prefix=root)["KeyCount"] == 0


def test_buckets(shared_store: Store) -> None:
    s3 = shared_store.boto()
    assert BUCKET in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    s3.head_bucket(Bucket=BUCKET)
    assert s3.get_bucket_location(Bucket=BUCKET)["LocationConstraint"] is None
    name = f"extra-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=name)
    assert name in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    with pytest.raises(ClientError) as again:
        s3.create_bucket(Bucket=name)
    assert _error(again.value)[:2] == (409, "BucketAlreadyOwnedByYou")
    with pytest.raises(ClientError) as missing:
        s3.list_objects_v2(Bucket="no-such-bucket")
    assert _error(missing.value) == (404, "NoSuchBucket", "The specified bucket does not exist")
    with pytest.raises(ClientError) as bad_name:
        s3.create_bucket(Bucket="Bad_Name")
    assert _error(bad_name.value)[:2] == (400, "InvalidBucketName")


def test_minio_client(shared_store: Store) -> None:
    client = shared_store.minio()
    root = _prefix()
    client.put_object(BUCKET, root + "k y.txt", io.BytesIO(b"from minio"), 10,
                      content_type="text/plain")
    client.put_object(BUCKET, root + "sub/z", io.BytesIO(b"z"), 1)
    assert client.get_object(BUCKET, root + "k y.txt").read() == b"from minio"
    assert client.get_object(BUCKET, root + "k y.txt", offset=5, length=3).read() == b"min"
    listed = list(client.list_objects(BUCKET, prefix=root))
    assert [(o.object_name, o.is_dir) for o in listed] == [(root + "k y.txt", False),
                                                            (root + "sub/", True)]
    assert [o.object_name for o in client.list_objects(BUCKET, prefix=root, recursive=True)] \
        == [root + "k y.txt", root + "sub/z"]
    assert client.stat_object(BUCKET, root + "sub/z").size == 1
    client.remove_object(BUCKET, root + "sub/z")
    with pytest.raises(MinioError) as missing:
        client.stat_object(BUCKET, root + "sub/z")
    assert missing.value.code == "NoSuchKey"


def test_wrong_secret_is_signature_does_not_match(shared_store: Store) -> None:
    shared_store.boto().list_objects_v2(Bucket=BUCKET)  # positive control: the right secret
    with pytest.raises(ClientError) as denied:
        shared_store.boto(secret_key="not-the-secret").list_objects_v2(Bucket=BUCKET)
    assert _error(denied.value) == (
        403, "SignatureDoesNotMatch", "The request signature we calculated does not match the "
        "signature you provided. Check your key and signing method.")
    with pytest.raises(MinioError) as minio_denied:
        shared_store.minio(secret_key="not-the-secret").get_object(BUCKET, "x")
    assert minio_denied.value.code == "SignatureDoesNotMatch"


def test_unknown_access_key(shared_store: Store) -> None:
    with pytest.raises(ClientError) as denied:
        shared_store.boto(access_key="NOBODY", secret_key="x").list_objects_v2(Bucket=BUCKET)
    assert _error(denied.value) == (
        403, "InvalidAccessKeyId", "The Access Key Id you provided does not exist in our records.")


def test_error_body_is_s3_xml(shared_store: Store) -> None:
    response = _signed(shared_store, "GET", f"/{BUCKET}/no/such/key")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/xml")
    root = ET.fromstring(response.content)
    assert root.tag == "Error"
    assert [child.tag for child in root] == ["Code", "Message", "Resource", "RequestId"]
    assert root.findtext("Code") == "NoSuchKey"
    assert root.findtext("Resource") == f"/{BUCKET}/no/such/key"
    assert root.findtext("RequestId") == response.headers["x-amz-request-id"]
    bad = _signed(shared_store, "GET", f"/{BUCKET}", secret="wrong")
    assert bad.status_code == 403
    assert ET.fromstring(bad.content).findtext("Code") == "SignatureDoesNotMatch"


def test_tampered_body_is_refused(shared_store: Store) -> None:
    request = AWSRequest(method="PUT", url=f"{shared_store.url}/{BUCKET}/tampered", data=b"good")
    S3SigV4Auth(Credentials("minio", "minio123"), "s3", "us-east-1").add_auth(request)
    response = requests.put(request.url, headers=dict(request.headers), data=b"evil",
                            timeout=10)
    assert response.status_code == 400
    assert ET.fromstring(response.content).findtext("Code") == "XAmzContentSHA256Mismatch"
    assert shared_store.emulator.object_store.get_object(BUCKET, "tampered") is None


def test_anonymous_is_denied(shared_store: Store) -> None:
    shared_store.boto().put_object(Bucket=BUCKET, Key="public?/x", Body=b"1")
    for method, path in (("GET", "/"), ("GET", f"/{BUCKET}"), ("GET", f"/{BUCKET}/public%3F/x"),
                         ("PUT", f"/{BUCKET}/anon")):
        response = requests.request(method, shared_store.url + path, data=b"x", timeout=10)
        assert response.status_code == 403, (method, path)
        root = ET.fromstring(response.content)
        assert (root.findtext("Code"), root.findtext("Message")) == ("AccessDenied",
                                                                     "Access Denied.")
    assert shared_store.emulator.object_store.get_object(BUCKET, "anon") is None


def test_presigned_urls(shared_store: Store) -> None:
    s3 = shared_store.boto(signature_version="s3v4")
    key = _prefix() + "shared link.txt"
    upload = s3.generate_presigned_url("put_object", Params={"Bucket": BUCKET, "Key": key},
                                       ExpiresIn=300)
    assert "X-Amz-Signature=" in upload
    assert requests.put(upload, data=b"via presigned put", timeout=10).status_code == 200
    download = s3.generate_presigned_url("get_object", Params={"Bucket": BUCKET, "Key": key},
                                         ExpiresIn=300)
    got = requests.get(download, timeout=10)
    assert (got.status_code, got.content) == (200, b"via presigned put")
    tampered = download.replace("X-Amz-Expires=300", "X-Amz-Expires=301")
    refused = requests.get(tampered, timeout=10)
    assert refused.status_code == 403
    assert ET.fromstring(refused.content).findtext("Code") == "SignatureDoesNotMatch"


def test_expired_presigned_url(shared_store: Store) -> None:
    s3 = shared_store.boto(signature_version="s3v4")
    shared_store.boto().put_object(Bucket=BUCKET, Key="old-link", Body=b"1")
    an_hour_ago = datetime.now(timezone.utc) - timedelta(hours=1)
    with mock.patch("botocore.auth.get_current_datetime", return_value=an_hour_ago):
        url = s3.generate_presigned_url("get_object", Params={"Bucket": BUCKET, "Key": "old-link"},
                                        ExpiresIn=60)
    response = requests.get(url, timeout=10)
    assert response.status_code == 403
    root = ET.fromstring(response.content)
    assert (root.findtext("Code"), root.findtext("Message")) == ("AccessDenied",
                                                                 "Request has expired")


def test_unserved_operations_say_so(shared_store: Store) -> None:
    s3 = shared_store.boto()
    with pytest.raises(ClientError) as versioning:
        s3.get_bucket_versioning(Bucket=BUCKET)
    assert _error(versioning.value)[:2] == (501, "NotImplemented")
    response = _signed(shared_store, "POST", "/")
    assert response.status_code == 405
    assert ET.fromstring(response.content).findtext("Code") == "MethodNotAllowed"
