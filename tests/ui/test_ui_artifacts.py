"""ml-pipeline-ui's artifact endpoints in multi-user mode, through the gateway as a signed-in
user: the middleware's checks in upstream's order and texts, then the handler, which reads
with the UI's own admin credentials (so only the checks keep tenants apart)."""

from __future__ import annotations

import gzip
import io
import tarfile

import requests

from emulator.testing import OWNER, STRANGER
from tests.gateway.conftest import Gateway
from tests.ui.conftest import BUCKET, call_app, ui_app

ALICE_KEY = "private-artifacts/alice/v2/artifacts/p/run-1/task/u1/model"
BOB_KEY = "private-artifacts/bob/v2/artifacts/p/run-2/task/u2/model"
FORBIDDEN_KEY_TEXT = "Artifact does not belong to the requested namespace"


def put(gw: Gateway, key: str, data: bytes) -> None:
    with gw.emulator.kfp.state.lock:
        gw.emulator.object_store.put_object(BUCKET, key, data)


def get(session: requests.Session, gw: Gateway, **query: str) -> requests.Response:
    return session.get(f"{gw.pipeline_url}/artifacts/get", params=query)


def query(key: str, namespace: str | None = None, **extra: str) -> dict[str, str]:
    values = {"source": "minio", "bucket": BUCKET, "key": key, **extra}
    if namespace is not None:
        values["namespace"] = namespace
    return values


def record_in_mlmd(gw: Gateway, key: str, run_namespace: str) -> None:
    """KFP's v2 launcher's record: the artifact in the run's system.PipelineRun context."""
    store = gw.emulator.metadata
    with gw.emulator.kfp.state.lock:
        context = store.put_context("system.PipelineRun", f"run-of-{run_namespace}",
                                    {"namespace": run_namespace})
        store.put_artifact("system.Model", f"minio://{BUCKET}/{key}", {}, [context])


def test_the_owner_reads_her_artifact_and_nobody_else_through_her_namespace(
        gw: Gateway) -> None:
    put(gw, ALICE_KEY, b"alice's model")
    put(gw, BOB_KEY, b"bob's model")
    alice = gw.signed_in(OWNER)
    own = get(alice, gw, **query(ALICE_KEY, "alice"))
    assert (own.status_code, own.content) == (200, b"alice's model")
    # Bob's namespace: the SubjectAccessReview says no; the text quotes the API server's answer
    # to the same question (GET /apis/v1beta1/auth) verbatim.
    auth = alice.get(f"{gw.pipeline_url}/apis/v1beta1/auth",
                     params={"namespace": "bob", "resources": "VIEWERS", "verb": "GET"})
    assert auth.status_code == 403
    denied = get(alice, gw, **query(BOB_KEY, "bob"))
    assert denied.status_code == 403
    assert denied.text == f"User is not authorized to GET VIEWERS in namespace bob: {auth.text}"
    assert b"bob's model" not in denied.content
    # The same object for its owner.
    assert get(gw.signed_in(STRANGER), gw, **query(BOB_KEY, "bob")).content == b"bob's model"


def test_the_namespace_is_required_and_must_be_a_name(gw: Gateway) -> None:
    put(gw, ALICE_KEY, b"x")
    alice = gw.signed_in(OWNER)
    assert get(alice, gw, **query(ALICE_KEY, "alice")).status_code == 200
    for namespace in (None, ""):
        missing = get(alice, gw, **query(ALICE_KEY, namespace))
        assert (missing.status_code, missing.text) == (
            400, "Namespace parameter is required when authentication is enabled")
    for bad in ("Alice", "alice_", "-alice", "a" * 64, "alice.bob"):
        invalid = get(alice, gw, **query(ALICE_KEY, bad))
        assert (invalid.status_code, invalid.text) == (400, "Invalid namespace format"), bad


def test_a_repeated_parameter_is_refused_before_anything_else(gw: Gateway) -> None:
    put(gw, ALICE_KEY, b"x")
    alice = gw.signed_in(OWNER)
    base = f"{gw.pipeline_url}/artifacts/get?source=minio&bucket={BUCKET}&key={ALICE_KEY}"
    assert alice.get(base + "&namespace=alice").status_code == 200
    twice = alice.get(base + "&namespace=alice&namespace=alice")
    assert (twice.status_code, twice.text) == (400, "namespace must be a single string value")
    key_twice = alice.get(base + f"&key={BOB_KEY}&namespace=alice")
    assert (key_twice.status_code, key_twice.text) == (400, "key must be a single string value")
    peek_twice = alice.get(base + "&peek=1&peek=2&namespace=alice")
    assert (peek_twice.status_code, peek_twice.text) == (400, "peek must be a single string value")
    # Before the identity check too.
    anonymous = call_app(ui_app(gw.emulator), "/artifacts/get", "namespace=a&namespace=b")
    assert (anonymous.status, anonymous.text) == (400, "namespace must be a single string value")


def test_no_identity_at_the_ui_server_is_401(gw: Gateway) -> None:
    put(gw, ALICE_KEY, b"x")
    app = ui_app(gw.emulator)
    with_user = call_app(app, "/pipeline/artifacts/get", query(ALICE_KEY, "alice"),
                         {"kubeflow-userid": OWNER})
    assert (with_user.status, with_user.body) == (200, b"x")
    for path in ("/pipeline/artifacts/get", "/artifacts/get"):
        anonymous = call_app(app, path, query(ALICE_KEY, "alice"))
        assert (anonymous.status, anonymous.text) == (
            401, "Authentication required for artifact access")
    empty = call_app(app, "/artifacts/get", query(ALICE_KEY, "alice"), {"kubeflow-userid": ""})
    assert empty.status == 401


def test_an_authorized_namespace_does_not_open_another_namespaces_key(gw: Gateway) -> None:
    """ISO-015: alice may view alice, but a key under private-artifacts/bob/ (MLMD has no
    record of it) is bob's; with the objects' owner the same request passes."""
    put(gw, ALICE_KEY, b"alice's")
    put(gw, BOB_KEY, b"bob's")
    alice = gw.signed_in(OWNER)
    assert get(alice, gw, **query(ALICE_KEY, "alice")).status_code == 200
    idor = get(alice, gw, **query(BOB_KEY, "alice"))
    assert (idor.status_code, idor.text) == (403, FORBIDDEN_KEY_TEXT)
    path_form = alice.get(f"{gw.pipeline_url}/artifacts/minio/{BUCKET}/{BOB_KEY}",
                          params={"namespace": "alice"})
    assert (path_form.status_code, path_form.text) == (403, FORBIDDEN_KEY_TEXT)
    # Keys MLMD does not know must carry the owner's prefix, normalized.
    for key in ("v2/artifacts/p/run/task/u/model", "artifacts/wf/2026/01/01/pod/main.log",
                "shared/x", "private-artifacts/alice/../bob/v2/x",
                "private-artifacts/alice//x", "x/private-artifacts/alice/y"):
        put(gw, key.replace("/../", "/dots/").replace("//", "/e/"), b"x")
        answer = get(alice, gw, **query(key, "alice"))
        assert (answer.status_code, answer.text) == (403, FORBIDDEN_KEY_TEXT), key


def test_mlmd_evidence_decides_before_the_key_prefix(gw: Gateway) -> None:
    """An artifact MLMD links to a run of bob is bob's wherever its key is; one linked to a run
    of alice is hers even outside her prefix (a custom pipeline root)."""
    custom_root_key = "team-roots/project/model"
    put(gw, custom_root_key, b"bob's custom-root model")
    alice, bob = gw.signed_in(OWNER), gw.signed_in(STRANGER)
    # Not in MLMD yet: the prefix rule denies both.
    assert get(bob, gw, **query(custom_root_key, "bob")).status_code == 403
    record_in_mlmd(gw, custom_root_key, "bob")
    assert get(bob, gw, **query(custom_root_key, "bob")).content == b"bob's custom-root model"
    denied = get(alice, gw, **query(custom_root_key, "alice"))
    assert (denied.status_code, denied.text) == (403, FORBIDDEN_KEY_TEXT)
    # Evidence beats the prefix: a key under alice's prefix that MLMD says is bob's.
    put(gw, ALICE_KEY, b"recorded for bob")
    assert get(alice, gw, **query(ALICE_KEY, "alice")).status_code == 200
    record_in_mlmd(gw, ALICE_KEY, "bob")
    moved = get(alice, gw, **query(ALICE_KEY, "alice"))
    assert (moved.status_code, moved.text) == (403, FORBIDDEN_KEY_TEXT)


def test_mlmd_without_namespace_evidence_allows(gw: Gateway) -> None:
    """An artifact MLMD tracks in no PipelineRun with a namespace: no evidence, allowed (even
    outside the prefix), as upstream's validator answers."""
    key = "elsewhere/model"
    put(gw, key, b"untracked owner")
    alice = gw.signed_in(OWNER)
    assert get(alice, gw, **query(key, "alice")).status_code == 403
    store = gw.emulator.metadata
    with gw.emulator.kfp.state.lock:
        context = store.put_context("system.Pipeline", "p", {"namespace": "bob"})
        store.put_artifact("system.Model", f"minio://{BUCKET}/{key}", {}, [context])
    assert get(alice, gw, **query(key, "alice")).content == b"untracked owner"


def test_peek_and_extraction(gw: Gateway) -> None:
    text = b"0123456789" * 10
    packed = io.BytesIO()
    with tarfile.open(fileobj=packed, mode="w:gz") as archive:
        info = tarfile.TarInfo("data")
        info.size = len(text)
        archive.addfile(info, io.BytesIO(text))
    tgz_key = "private-artifacts/alice/wf/2026/01/02/pod/out.tgz"
    gz_key = "private-artifacts/alice/v2/artifacts/p/r/t/u/log"
    put(gw, tgz_key, packed.getvalue())
    put(gw, gz_key, gzip.compress(text))
    alice = gw.signed_in(OWNER)
    # The query form extracts the first tar record / gunzips; peek cuts the result.
    assert get(alice, gw, **query(tgz_key, "alice")).content == text
    assert get(alice, gw, **query(gz_key, "alice")).content == text
    assert get(alice, gw, **query(tgz_key, "alice", peek="12")).content == text[:12]
    for whole in ("0", "-3", "abc", ""):
        assert get(alice, gw, **query(gz_key, "alice", peek=whole)).content == text, whole
    # The path form downloads minio objects as they are.
    raw = alice.get(f"{gw.pipeline_url}/artifacts/minio/{BUCKET}/{tgz_key}",
                    params={"namespace": "alice"})
    assert (raw.status_code, raw.content) == (200, packed.getvalue())
    assert "content-type" not in {k.lower() for k in raw.headers}
    # ... at the root as well as under /pipeline.
    app = ui_app(gw.emulator)
    root = call_app(app, f"/artifacts/minio/{BUCKET}/{tgz_key}", {"namespace": "alice"},
                    {"kubeflow-userid": OWNER})
    assert (root.status, root.body) == (200, packed.getvalue())


def test_a_directory_artifact(gw: Gateway) -> None:
    prefix = "private-artifacts/alice/v2/artifacts/p/r/t/u/dataset"
    put(gw, f"{prefix}/part-0", b"zero")
    put(gw, f"{prefix}/sub/part-1", b"one")
    put(gw, f"{prefix}-sibling", b"not inside")
    alice = gw.signed_in(OWNER)
    summary = get(alice, gw, **query(prefix, "alice", peek="256"))
    assert summary.status_code == 200
    assert summary.text == ('Directory artifact "dataset" \u2014 2 file(s). '
                            "Download to view contents.\n")
    assert summary.headers["content-type"] == "text/plain; charset=utf-8"
    whole = get(alice, gw, **query(prefix, "alice"))
    assert whole.status_code == 200
    assert whole.headers["content-type"] == "application/gzip"
    assert 'filename="dataset.tar.gz"' in whole.headers["content-disposition"]
    with tarfile.open(fileobj=io.BytesIO(whole.content), mode="r:gz") as archive:
        contents = {m.name: archive.extractfile(m).read()  # type: ignore[union-attr]
                    for m in archive.getmembers()}
    assert contents == {"part-0": b"zero", "sub/part-1": b"one"}
    empty = get(alice, gw, **query(prefix + "-none", "alice"))
    assert (empty.status_code, empty.text) == (404, f"No objects found at {BUCKET}/{prefix}-none")


def test_the_handlers_500s_for_a_bad_source_bucket_or_key(gw: Gateway) -> None:
    put(gw, ALICE_KEY, b"x")
    alice = gw.signed_in(OWNER)
    assert get(alice, gw, **query(ALICE_KEY, "alice")).status_code == 200
    cases = [
        ({"bucket": BUCKET, "key": ALICE_KEY}, "Storage source is missing from artifact request"),
        ({"source": "ftp", "bucket": BUCKET, "key": ALICE_KEY}, "Unknown storage source"),
        ({"source": "minio", "key": ALICE_KEY}, "Storage bucket is missing from artifact request"),
        ({"source": "minio", "bucket": BUCKET}, "Storage key is missing from artifact request"),
        ({"source": "minio", "bucket": "Bad_Bucket", "key": ALICE_KEY}, "Invalid bucket name"),
        ({"source": "minio", "bucket": BUCKET, "key": "private-artifacts/alice/" + "k" * 1001},
         "Object key too long"),
        ({"source": "minio", "bucket": "other-bucket", "key": ALICE_KEY},
         "Failed to get object in bucket: S3Error: The specified bucket does not exist"),
    ]
    for params, text in cases:
        answer = get(alice, gw, namespace="alice", **params)
        assert (answer.status_code, answer.text) == (500, text), params
    path_form = alice.get(f"{gw.pipeline_url}/artifacts/ftp/{BUCKET}/{ALICE_KEY}",
                          params={"namespace": "alice"})
    assert (path_form.status_code, path_form.text) == (500, "Unknown storage source")
    http = get(alice, gw, namespace="alice", source="https", bucket="example",
               key="private-artifacts/alice/x")
    assert (http.status_code, http.text) == (400, "HTTP artifact base URL is not configured")


def test_malformed_percent_encoding_in_the_path_form(gw: Gateway) -> None:
    alice = gw.signed_in(OWNER)
    app = ui_app(gw.emulator)  # HTTP clients re-encode a stray "%": send the raw path directly
    for tail in ("private-artifacts/alice/%E0%A4%A", "private-artifacts/alice/%ZZ",
                 "private-artifacts/alice/%FF"):
        answer = call_app(app, f"/pipeline/artifacts/minio/{BUCKET}/{tail}",
                          {"namespace": "alice"}, {"kubeflow-userid": OWNER})
        assert (answer.status, answer.text) == (
            400, "Malformed URL encoding in artifact path"), tail
    put(gw, "private-artifacts/alice/a b", b"spaced")
    encoded = alice.get(f"{gw.pipeline_url}/artifacts/minio/{BUCKET}/private-artifacts/alice/"
                        "a%20b?namespace=alice")
    assert (encoded.status_code, encoded.content) == (200, b"spaced")
