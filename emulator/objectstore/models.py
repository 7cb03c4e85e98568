"""The object store's state: buckets, objects and the credentials that may use them (no HTTP).

KFP keeps every artifact in one bucket, ``mlpipeline``.  Who may read what depends on the
deployment (docs/upstream/kfp-data-plane.md section 2.3):

- ``SHARED`` (KFP <= 2.14, MinIO): every profile namespace gets the root pair
  ``minio``/``minio123`` -- the documented limitation (isolation-bugs ISO-021);
- ``PER_NAMESPACE`` (KFP >= 2.15, SeaweedFS): the profile controller creates an IAM user named
  after the namespace, with its own generated keys and a policy limited to its prefixes
  (:mod:`emulator.objectstore.policy`).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import secrets
import string
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Protocol

from emulator.snapshot_fields import number as _number
from emulator.snapshot_fields import text as _text

DEFAULT_BUCKET = "mlpipeline"
# The API server's ObjectStoreConfig and the MinIO manifests' defaults.
ROOT_ACCESS_KEY = "minio"
ROOT_SECRET_KEY = "minio123"
# S3 limits a key to 1024 bytes of UTF-8.
MAX_KEY_BYTES = 1024


class ArtifactCredentials(str, Enum):
    """What the profile controller puts into a namespace's ``mlpipeline-minio-artifact``."""

    SHARED = "shared"
    PER_NAMESPACE = "per-namespace"


class Recipe(Protocol):
    """How to make an object's bytes on read: small, deterministic, immutable once stored."""

    def render(self) -> bytes: ...


class StoredObject:
    """One object; ``etag`` is the hex MD5 of ``data`` (the wire form adds the quotes).

    Its bytes are either kept (whatever a client uploads) or made on every read from a
    ``recipe`` (what the execution engine writes: a task's artifacts and logs), which gives the
    same bytes each time, hence the same size and ETag: a finished run then costs its keys and
    a few small records, not kilobytes of simulated content."""

    __slots__ = ("_data", "_etag", "_recipe", "bucket", "content_type", "key", "last_modified")

    def __init__(self, bucket: str, key: str, data: bytes | None, content_type: str,
                 last_modified: float, etag: str = "", recipe: Recipe | None = None) -> None:
        if data is None and recipe is None:
            raise ValueError("an object needs its data or a recipe")
        self.bucket = bucket
        self.key = key
        self.content_type = content_type
        self.last_modified = last_modified
        self._data = data
        self._etag = etag
        self._recipe = recipe

    @property
    def data(self) -> bytes:
        if self._data is not None:
            return self._data
        assert self._recipe is not None
        return self._recipe.render()

    @property
    def etag(self) -> str:
        return self._etag or hashlib.md5(self.data, usedforsecurity=False).hexdigest()

    @property
    def size(self) -> int:
        return len(self.data)

    @property
    def generated(self) -> bool:
        """Made on read from a recipe (never uploaded)."""
        return self._data is None

    def __repr__(self) -> str:
        return (f"StoredObject(bucket={self.bucket!r}, key={self.key!r}, size={self.size}, "
                f"content_type={self.content_type!r}, etag={self.etag!r})")


@dataclass(frozen=True)
class Credential:
    """An access key pair and whose it is: the root user (admin) or a namespace's IAM user."""

    access_key: str
    secret_key: str
    username: str
    admin: bool = False
    # The profile namespace an IAM user was made for ("" for the root user).
    namespace: str = ""


@dataclass
class Bucket:
    name: str
    created_at: float
    objects: dict[str, StoredObject] = field(default_factory=dict)


ROOT = Credential(ROOT_ACCESS_KEY, ROOT_SECRET_KEY, ROOT_ACCESS_KEY, admin=True)


def _generated_key(length: int, alphabet: str) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(length))


class ObjectStore:
    """Buckets of objects and the access keys that sign requests to them."""

    def __init__(self, now: Callable[[], float],
                 credentials: ArtifactCredentials = ArtifactCredentials.SHARED) -> None:
        self.now = now
        self.artifact_credentials = ArtifactCredentials(credentials)
        self.buckets: dict[str, Bucket] = {}
        # IAM users of PER_NAMESPACE mode, by namespace.
        self._users: dict[str, Credential] = {}
        self.clear()

    @property
    def seaweedfs(self) -> bool:
        """Per-namespace users are SeaweedFS's; the shared root pair is MinIO's."""
        return self.artifact_credentials is ArtifactCredentials.PER_NAMESPACE

    def clear(self) -> None:
        """Back to a fresh store: only ``mlpipeline``, empty; no IAM users."""
        self.buckets = {DEFAULT_BUCKET: Bucket(DEFAULT_BUCKET, self.now())}
        self._users = {}

    # -- buckets ---------------------------------------------------------------------------------

    def bucket(self, name: str) -> Bucket | None:
        return self.buckets.get(name)

    def create_bucket(self, name: str) -> Bucket:
        """A new empty bucket; an existing one is returned as it is."""
        existing = self.buckets.get(name)
        if existing is not None:
            return existing
        bucket = Bucket(name, self.now())
        self.buckets[name] = bucket
        return bucket

    def delete_bucket(self, name: str) -> bool:
        """Remove an empty bucket other than ``mlpipeline`` (which always exists)."""
        bucket = self.buckets.get(name)
        if bucket is None or bucket.objects or name == DEFAULT_BUCKET:
            return False
        del self.buckets[name]
        return True

    # -- objects ---------------------------------------------------------------------------------

    def put_object(self, bucket: str, key: str, data: bytes,
                   content_type: str = "application/octet-stream") -> StoredObject:
        """Store ``data`` under ``key`` (replacing what was there); a missing bucket or a key
        S3 would refuse raises ``KeyError``/``ValueError``."""
        target = self._target(bucket, key)
        stored = StoredObject(bucket, key, bytes(data), content_type or
                              "application/octet-stream", self.now(),
                              hashlib.md5(data, usedforsecurity=False).hexdigest())
        target.objects[key] = stored
        return stored

    def put_generated(self, bucket: str, key: str, recipe: Recipe,
                      content_type: str = "application/octet-stream") -> StoredObject:
        """Store an object whose bytes ``recipe`` makes on each read (see StoredObject);
        checks and replacement as ``put_object``."""
        target = self._target(bucket, key)
        stored = StoredObject(bucket, key, None, content_type or "application/octet-stream",
                              self.now(), recipe=recipe)
        target.objects[key] = stored
        return stored

    def _target(self, bucket: str, key: str) -> Bucket:
        target = self.buckets.get(bucket)
        if target is None:
            raise KeyError(f"no bucket {bucket}")
        if not key or len(key.encode()) > MAX_KEY_BYTES:
            raise ValueError(f"object key must be 1 to {MAX_KEY_BYTES} bytes")
        return target

    def get_object(self, bucket: str, key: str) -> StoredObject | None:
        target = self.buckets.get(bucket)
        return None if target is None else target.objects.get(key)

    def list_objects(self, bucket: str, prefix: str = "") -> list[StoredObject]:
        """Objects whose key starts with ``prefix``, in key (UTF-8 byte) order, as S3 lists."""
        target = self.buckets.get(bucket)
        if target is None:
            return []
        found = [obj for key, obj in target.objects.items() if key.startswith(prefix)]
        return sorted(found, key=lambda obj: obj.key.encode())

    def delete_object(self, bucket: str, key: str) -> bool:
        target = self.buckets.get(bucket)
        return target is not None and target.objects.pop(key, None) is not None

    # -- credentials -----------------------------------------------------------------------------

    def credentials_for_namespace(self, namespace: str) -> tuple[str, str]:
        """The (access key, secret key) the profile controller hands ``namespace``: the root
        pair when SHARED, the namespace's own IAM user (made on first use) when
        PER_NAMESPACE."""
        if self.artifact_credentials is ArtifactCredentials.SHARED:
            return ROOT.access_key, ROOT.secret_key
        user = self._users.get(namespace)
        if user is None:
            user = Credential(
                # The shapes of AWS-style keys: 20 upper-case alphanumerics, 40 of base64.
                _generated_key(20, string.ascii_uppercase + string.digits),
                _generated_key(40, string.ascii_letters + string.digits + "+/"),
                username=namespace, namespace=namespace)
            self._users[namespace] = user
        return user.access_key, user.secret_key

    def forget_namespace(self, namespace: str) -> None:
        """The namespace is gone: its IAM user goes with it (its objects stay, as in S3)."""
        self._users.pop(namespace, None)

    def credential(self, access_key: str) -> Credential | None:
        """Who signs with ``access_key``: the root user is always known."""
        if access_key == ROOT.access_key:
            return ROOT
        return next((user for user in self._users.values() if user.access_key == access_key),
                    None)

    def namespace_users(self) -> dict[str, Credential]:
        return dict(self._users)

    # -- snapshot (emulator/snapshot.py) ---------------------------------------------------------

    def export(self) -> dict[str, Any]:
        """Buckets with every object's bytes (a generated one rendered: a restored object is
        plain data with the same bytes, size and ETag) and the IAM users with their keys, which
        the namespaces' Secrets hold too."""
        return {
            "buckets": [{"name": b.name, "created_at": b.created_at,
                         "objects": [_object_json(o) for o in b.objects.values()]}
                        for b in self.buckets.values()],
            "users": [{"namespace": namespace, "username": user.username,
                       "access_key": user.access_key, "secret_key": user.secret_key}
                      for namespace, user in self._users.items()],
        }

    def restorer(self, data: Any) -> Callable[[], None]:
        """Read an :meth:`export` (``ValueError``/``KeyError``/``TypeError`` when malformed);
        the returned call replaces the store's buckets and users with it.  ``mlpipeline``
        exists afterwards whatever the snapshot says."""
        buckets: dict[str, Bucket] = {}
        for entry in data["buckets"]:
            name = _text(entry["name"])
            if not name or name in buckets:
                raise ValueError(f"bucket {name!r} is unnamed or listed twice")
            bucket = Bucket(name, _number(entry.get("created_at", 0.0)))
            for item in entry["objects"]:
                stored = _object_from(name, item)
                if not stored.key or len(stored.key.encode()) > MAX_KEY_BYTES:
                    raise ValueError(f"object key must be 1 to {MAX_KEY_BYTES} bytes")
                bucket.objects[stored.key] = stored
            buckets[name] = bucket
        users: dict[str, Credential] = {}
        for entry in data.get("users", []):
            namespace = _text(entry["namespace"])
            if namespace in users or any(u.access_key == _text(entry["access_key"])
                                         for u in users.values()):
                raise ValueError(f"object-store user of {namespace!r} is listed twice or "
                                 "shares another user's access key")
            users[namespace] = Credential(_text(entry["access_key"]),
                                          _text(entry["secret_key"]),
                                          _text(entry.get("username", namespace)),
                                          namespace=namespace)

        def install() -> None:
            self.clear()
            self.buckets.update(buckets)
            self._users = users
        return install


def _object_json(stored: StoredObject) -> dict[str, Any]:
    """Text content as text (readable in a bug report), anything else as base64."""
    data = stored.data
    out: dict[str, Any] = {"key": stored.key, "size": len(data),
                           "etag": stored._etag or hashlib.md5(data,
                                                               usedforsecurity=False).hexdigest(),
                           "content_type": stored.content_type,
                           "last_modified": stored.last_modified}
    try:
        out["text"] = data.decode("utf-8")
    except UnicodeDecodeError:
        out["base64"] = base64.b64encode(data).decode("ascii")
    return out


def _object_from(bucket: str, entry: dict[str, Any]) -> StoredObject:
    if "text" in entry:
        data = _text(entry["text"]).encode("utf-8")
    else:
        try:
            data = base64.b64decode(_text(entry["base64"]), validate=True)
        except binascii.Error:
            raise ValueError(f"object {entry.get('key')!r}: content is not base64") from None
    return StoredObject(bucket, _text(entry["key"]), data,
                        _text(entry.get("content_type", "application/octet-stream")),
                        _number(entry.get("last_modified", 0.0)),
                        hashlib.md5(data, usedforsecurity=False).hexdigest())
