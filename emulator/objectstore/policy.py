"""What a credential may do in the object store: the one place that decides it.

The root user (``minio``) may do everything.  A namespace's IAM user (PER_NAMESPACE mode) has
what the pipelines-profile-controller gives it (sync.py, KFP >= 2.17; see
docs/upstream/kfp-data-plane.md section 2.3):

- its user policy: ``s3:Put*``, ``s3:Get*``, ``s3:List*`` and ``s3:DeleteObject`` on the
  objects ``mlpipeline/artifacts/*``, ``mlpipeline/private-artifacts/<ns>/*``,
  ``mlpipeline/private/<ns>/*`` and ``mlpipeline/shared/*``;
- the bucket policy on ``s3:ListBucket``: allowed for the prefixes ``private-artifacts/<user>/*``,
  ``private/<user>/*``, ``artifacts/*`` and ``shared/*``, for HEAD (HeadBucket), and for a
  top-level listing (no prefix, delimiter ``/``); denied for any other ``private-artifacts/*``
  or ``private/*`` prefix, whatever else allows it.

Anything not allowed is denied (S3's implicit deny).  ISO-021 (every namespace holding the root
pair) is the SHARED credential mode of :class:`~emulator.objectstore.models.ObjectStore`.
"""

from __future__ import annotations

import re
from enum import Enum
from functools import lru_cache

from emulator.objectstore.models import DEFAULT_BUCKET, Credential

USERNAME = "${aws:username}"


class Action(str, Enum):
    """The IAM action each S3 operation is authorized as."""

    LIST_ALL_MY_BUCKETS = "s3:ListAllMyBuckets"
    CREATE_BUCKET = "s3:CreateBucket"
    DELETE_BUCKET = "s3:DeleteBucket"
    # s3:ListBucket asked with the HEAD method (the bucket policy's RequestMethod condition).
    HEAD_BUCKET = "s3:ListBucket+HEAD"
    GET_BUCKET_LOCATION = "s3:GetBucketLocation"
    LIST_BUCKET = "s3:ListBucket"
    GET_OBJECT = "s3:GetObject"
    PUT_OBJECT = "s3:PutObject"
    DELETE_OBJECT = "s3:DeleteObject"


# The user policy's object resources (below arn:aws:s3:::mlpipeline/) and what it allows there.
USER_OBJECT_PATTERNS = ("artifacts/*", f"private-artifacts/{USERNAME}/*",
                        f"private/{USERNAME}/*", "shared/*")
USER_OBJECT_ACTIONS = frozenset({Action.GET_OBJECT, Action.PUT_OBJECT, Action.DELETE_OBJECT})
# The bucket policy's ListBucket conditions on s3:prefix.
LIST_ALLOW_PREFIXES = (f"private-artifacts/{USERNAME}/*", f"private/{USERNAME}/*",
                       "artifacts/*", "shared/*")
LIST_DENY_PREFIXES = ("private-artifacts/*", "private/*")
LIST_DENY_EXCEPT = (f"private-artifacts/{USERNAME}/*", f"private/{USERNAME}/*")


@lru_cache(maxsize=256)
def _pattern(glob: str) -> re.Pattern[str]:
    """IAM ``StringLike``: ``*`` any run of characters, ``?`` any one; case-sensitive."""
    return re.compile("".join(".*" if c == "*" else "." if c == "?" else re.escape(c)
                              for c in glob) + r"\Z", re.DOTALL)


def _like(value: str, globs: tuple[str, ...], username: str) -> bool:
    return any(_pattern(glob.replace(USERNAME, username)).match(value) for glob in globs)


def is_allowed(credential: Credential, action: Action, bucket: str, key: str = "",
               delimiter: str = "") -> bool:
    """May ``credential`` do ``action`` on ``bucket``?  ``key`` is the object key, or the
    ``prefix`` of a listing (empty: none given); ``delimiter`` is a listing's delimiter."""
    if credential.admin:
        return True
    if bucket != DEFAULT_BUCKET:  # a namespace user's policies name only mlpipeline
        return False
    user = credential.username
    if action is Action.HEAD_BUCKET:
        return True
    if action is Action.GET_BUCKET_LOCATION:
        # Clients ask it before anything else (region discovery); SeaweedFS answers it for
        # any authenticated caller of an existing bucket.
        return True
    if action is Action.LIST_BUCKET:
        if key and _like(key, LIST_DENY_PREFIXES, user) and \
                not _like(key, LIST_DENY_EXCEPT, user):
            return False  # explicit Deny wins over every Allow
        if not key:
            return delimiter == "/"
        return _like(key, LIST_ALLOW_PREFIXES, user)
    if action in USER_OBJECT_ACTIONS:
        return _like(key, USER_OBJECT_PATTERNS, user)
    return False
