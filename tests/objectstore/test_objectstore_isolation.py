"""Tenant credentials against each other's artifacts (isolation-bugs ISO-021).

SHARED (KFP <= 2.14): every profile namespace's Secret holds the root pair, so any tenant reads
and lists another's ``private-artifacts/<ns>/`` -- the documented limitation, present.
PER_NAMESPACE (KFP >= 2.15, SeaweedFS): each namespace's own IAM user, limited to its prefixes.
Credentials are read the way a tenant reads them: the Secret, through the Kubernetes API.
"""

from __future__ import annotations

import base64
import xml.etree.ElementTree as ET

import pytest
import requests
from botocore.client import BaseClient
from botocore.exceptions import ClientError
from kubernetes import client as k8s

from emulator.core import Emulator
from emulator.objectstore.models import ROOT_ACCESS_KEY, ROOT_SECRET_KEY
from emulator.testing import OWNER
from tests.objectstore.s3_support import SECRET, Store

BUCKET = "mlpipeline"
ALICE_KEY = "private-artifacts/alice/v2/artifacts/p/run-1/train/u1/model"
BOB_KEY = "private-artifacts/bob/v2/artifacts/p/run-2/train/u2/model"


def _denied(call: object) -> None:
    with pytest.raises(ClientError) as denied:
        call()  # type: ignore[operator]
    error = denied.value.response
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 403, error
    assert (error["Error"]["Code"], error["Error"]["Message"]) == ("AccessDenied",
                                                                   "Access Denied."), error


def _keys(s3: BaseClient, prefix: str, delimiter: str = "") -> list[str]:
    kwargs = {"Delimiter": delimiter} if delimiter else {}
    page = s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix, **kwargs)
    return [c["Key"] for c in page.get("Contents", [])] + \
        [p["Prefix"] for p in page.get("CommonPrefixes", [])]


# -- SHARED: the limitation -------------------------------------------------------------------


def test_shared_every_namespace_holds_the_root_pair(shared_store: Store) -> None:
    assert shared_store.tenant_keys("alice") == (ROOT_ACCESS_KEY, ROOT_SECRET_KEY)
    assert shared_store.tenant_keys("bob") == (ROOT_ACCESS_KEY, ROOT_SECRET_KEY)


def test_shared_bob_reads_and_lists_alices_private_artifacts(shared_store: Store) -> None:
    alice, bob = shared_store.tenant("alice"), shared_store.tenant("bob")
    alice.put_object(Bucket=BUCKET, Key=ALICE_KEY, Body=b"alice's model")
    # Positive control: the owner reads her own artifact.
    assert alice.get_object(Bucket=BUCKET, Key=ALICE_KEY)["Body"].read() == b"alice's model"
    # The limitation: bob's namespace credentials read, list and overwrite it too.
    assert bob.get_object(Bucket=BUCKET, Key=ALICE_KEY)["Body"].read() == b"alice's model"
    assert ALICE_KEY in _keys(bob, "private-artifacts/alice/")
    bob.put_object(Bucket=BUCKET, Key=ALICE_KEY, Body=b"poisoned")
    assert alice.get_object(Bucket=BUCKET, Key=ALICE_KEY)["Body"].read() == b"poisoned"


# -- PER_NAMESPACE: isolation -----------------------------------------------------------------


def test_per_namespace_users_are_distinct(per_ns_store: Store) -> None:
    alice, bob = per_ns_store.tenant_keys("alice"), per_ns_store.tenant_keys("bob")
    assert alice != bob
    assert ROOT_ACCESS_KEY not in (alice[0], bob[0])
    assert per_ns_store.emulator.object_store.credentials_for_namespace("alice") == alice


def test_per_namespace_owner_uses_her_prefix(per_ns_store: Store) -> None:
    alice = per_ns_store.tenant("alice")
    alice.put_object(Bucket=BUCKET, Key=ALICE_KEY, Body=b"mine")
    assert alice.get_object(Bucket=BUCKET, Key=ALICE_KEY)["Body"].read() == b"mine"
    assert ALICE_KEY in _keys(alice, "private-artifacts/alice/")
    alice.head_object(Bucket=BUCKET, Key=ALICE_KEY)
    alice.put_object(Bucket=BUCKET, Key="private/alice/notes", Body=b"n")
    alice.delete_object(Bucket=BUCKET, Key="private/alice/notes")
    assert _keys(alice, "private/alice/") == []


def test_per_namespace_other_tenants_prefix_is_denied(per_ns_store: Store) -> None:
    root, alice, bob = (per_ns_store.boto(), per_ns_store.tenant("alice"),
                        per_ns_store.tenant("bob"))
    bob.put_object(Bucket=BUCKET, Key=BOB_KEY, Body=b"bob's model")
    # Positive control: bob reads and lists his own artifact.
    assert bob.get_object(Bucket=BUCKET, Key=BOB_KEY)["Body"].read() == b"bob's model"
    assert BOB_KEY in _keys(bob, "private-artifacts/bob/")
    _denied(lambda: alice.get_object(Bucket=BUCKET, Key=BOB_KEY))
    _denied(lambda: alice.put_object(Bucket=BUCKET, Key=BOB_KEY, Body=b"poisoned"))
    _denied(lambda: alice.delete_object(Bucket=BUCKET, Key=BOB_KEY))
    _denied(lambda: alice.list_objects_v2(Bucket=BUCKET, Prefix="private-artifacts/bob/"))
    _denied(lambda: alice.list_objects(Bucket=BUCKET, Prefix="private-artifacts/bob/"))
    # Listing every namespace's folder, or the whole bucket, would show bob's keys: denied.
    _denied(lambda: alice.list_objects_v2(Bucket=BUCKET, Prefix="private-artifacts/"))
    _denied(lambda: alice.list_objects_v2(Bucket=BUCKET))
    # A not-yet-existing key of bob's is denied too (no existence oracle).
    _denied(lambda: alice.get_object(Bucket=BUCKET, Key="private-artifacts/bob/none"))
    assert root.get_object(Bucket=BUCKET, Key=BOB_KEY)["Body"].read() == b"bob's model"


def test_per_namespace_multi_delete_skips_the_other_tenants_keys(per_ns_store: Store) -> None:
    alice, bob = per_ns_store.tenant("alice"), per_ns_store.tenant("bob")
    own = "private-artifacts/alice/tmp/x"
    alice.put_object(Bucket=BUCKET, Key=own, Body=b"1")
    bob.put_object(Bucket=BUCKET, Key="private-artifacts/bob/tmp/y", Body=b"2")
    result = alice.delete_objects(Bucket=BUCKET, Delete={"Objects": [
        {"Key": own}, {"Key": "private-artifacts/bob/tmp/y"}]})
    assert [d["Key"] for d in result["Deleted"]] == [own]
    assert [(e["Key"], e["Code"]) for e in result["Errors"]] == [
        ("private-artifacts/bob/tmp/y", "AccessDenied")]
    assert bob.get_object(Bucket=BUCKET, Key="private-artifacts/bob/tmp/y")["Body"].read() == b"2"


def test_per_namespace_shared_and_legacy_prefixes_are_common(per_ns_store: Store) -> None:
    alice, bob = per_ns_store.tenant("alice"), per_ns_store.tenant("bob")
    for prefix in ("shared/", "artifacts/"):
        alice.put_object(Bucket=BUCKET, Key=prefix + "from-alice", Body=b"hi")
        assert bob.get_object(Bucket=BUCKET, Key=prefix + "from-alice")["Body"].read() == b"hi"
        assert prefix + "from-alice" in _keys(bob, prefix)
        bob.put_object(Bucket=BUCKET, Key=prefix + "from-bob", Body=b"yo")
        assert alice.get_object(Bucket=BUCKET, Key=prefix + "from-bob")["Body"].read() == b"yo"


def test_per_namespace_top_level_browse_and_elsewhere(per_ns_store: Store) -> None:
    alice = per_ns_store.tenant("alice")
    per_ns_store.boto().put_object(Bucket=BUCKET, Key="pipelines/some-spec", Body=b"{}")
    top = _keys(alice, "", delimiter="/")  # the allowed top-level folder view
    assert "pipelines/" in top
    _denied(lambda: alice.get_object(Bucket=BUCKET, Key="pipelines/some-spec"))
    _denied(lambda: alice.list_objects_v2(Bucket=BUCKET, Prefix="pipelines/"))
    _denied(lambda: alice.create_bucket(Bucket="alices-own"))
    alice.head_bucket(Bucket=BUCKET)


def test_per_namespace_minio_client(per_ns_store: Store) -> None:
    import io

    from minio.error import S3Error as MinioError

    client = per_ns_store.minio(*per_ns_store.tenant_keys("alice"))
    client.put_object(BUCKET, "private-artifacts/alice/m/x", io.BytesIO(b"x"), 1)
    assert client.get_object(BUCKET, "private-artifacts/alice/m/x").read() == b"x"
    with pytest.raises(MinioError) as denied:
        client.get_object(BUCKET, BOB_KEY)
    assert denied.value.code == "AccessDenied"


def test_per_namespace_invalid_key_messages_are_seaweedfs(per_ns_store: Store) -> None:
    with pytest.raises(ClientError) as denied:
        per_ns_store.boto("NOSUCHUSER", "x").list_objects_v2(Bucket=BUCKET)
    assert (denied.value.response["Error"]["Code"], denied.value.response["Error"]["Message"]) \
        == ("InvalidAccessKeyId", "The access key ID you provided does not exist in our records.")


# -- provisioning -----------------------------------------------------------------------------


def _admin_kube(store: Store) -> k8s.ApiClient:
    store.emulator.make_cluster_admin("admin@example.com")
    return store.kube_as("admin@example.com")


def test_profile_made_through_the_kubernetes_api_gets_working_credentials(
        fresh_per_ns_store: Store) -> None:
    store = fresh_per_ns_store
    with _admin_kube(store) as api:
        k8s.CustomObjectsApi(api).create_cluster_custom_object(
            "kubeflow.org", "v1", "profiles", {
                "apiVersion": "kubeflow.org/v1", "kind": "Profile",
                "metadata": {"name": "carol"},
                "spec": {"owner": {"kind": "User", "name": "carol@example.com"}}})
        secret = k8s.CoreV1Api(api).read_namespaced_secret(SECRET, "carol")
    keys = (base64.b64decode(secret.data["accesskey"]).decode(),
            base64.b64decode(secret.data["secretkey"]).decode())
    carol = store.boto(*keys)
    carol.put_object(Bucket=BUCKET, Key="private-artifacts/carol/a", Body=b"c")
    assert carol.get_object(Bucket=BUCKET, Key="private-artifacts/carol/a")["Body"].read() == b"c"
    _denied(lambda: carol.get_object(Bucket=BUCKET, Key=ALICE_KEY))


def test_deleting_the_profile_forgets_its_user(fresh_per_ns_store: Store) -> None:
    store = fresh_per_ns_store
    keys = store.tenant_keys("bob")
    store.boto(*keys).list_objects_v2(Bucket=BUCKET, Prefix="private-artifacts/bob/")
    with _admin_kube(store) as api:
        k8s.CustomObjectsApi(api).delete_cluster_custom_object("kubeflow.org", "v1",
                                                               "profiles", "bob")
    with pytest.raises(ClientError) as gone:
        store.boto(*keys).list_objects_v2(Bucket=BUCKET, Prefix="private-artifacts/bob/")
    assert gone.value.response["Error"]["Code"] == "InvalidAccessKeyId"


def test_existing_secret_is_reused(fresh_per_ns_store: Store) -> None:
    store = fresh_per_ns_store
    emulator: Emulator = store.emulator
    before = store.tenant_keys("alice")
    with emulator.kfp.state.lock:
        emulator.cluster._reconcile(emulator.cluster.profiles["alice"])
    assert store.tenant_keys("alice") == before


def test_reset_clears_the_store_and_reprovisions(fresh_per_ns_store: Store) -> None:
    store = fresh_per_ns_store
    old = store.tenant_keys("alice")
    store.tenant("alice").put_object(Bucket=BUCKET, Key=ALICE_KEY, Body=b"old")
    store.emulator.reset()
    new = store.tenant_keys("alice")
    assert new != old
    alice = store.boto(*new)
    with pytest.raises(ClientError) as missing:
        alice.get_object(Bucket=BUCKET, Key=ALICE_KEY)
    assert missing.value.response["Error"]["Code"] == "NoSuchKey"
    alice.put_object(Bucket=BUCKET, Key=ALICE_KEY, Body=b"new")
    with pytest.raises(ClientError) as stale:
        store.boto(*old).get_object(Bucket=BUCKET, Key=ALICE_KEY)
    assert stale.value.response["Error"]["Code"] == "InvalidAccessKeyId"


def test_anonymous_cannot_reach_tenant_artifacts(per_ns_store: Store) -> None:
    response = requests.get(f"{per_ns_store.url}/{BUCKET}/{ALICE_KEY}", timeout=10)
    assert response.status_code == 403
    assert ET.fromstring(response.content).findtext("Code") == "AccessDenied"


def test_tenant_cannot_read_the_other_namespaces_secret(per_ns_store: Store) -> None:
    # Positive control: bob reads his own Secret (tenant_keys does it through the API).
    assert per_ns_store.tenant_keys("bob")
    with per_ns_store.kube_as(OWNER) as api, pytest.raises(k8s.ApiException) as denied:
        k8s.CoreV1Api(api).read_namespaced_secret(SECRET, "bob")
    assert denied.value.status == 403
