"""One page of a bucket listing (ListObjects V1 and V2): prefix, delimiter, marker, max-keys.

S3 lists keys in UTF-8 byte order; with a delimiter, keys that share the part of their name up to
the next delimiter after the prefix roll up into one *common prefix*, which counts as one entry
against ``max-keys``.  Paging resumes strictly after the last key or common prefix returned.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from emulator.objectstore.models import StoredObject


@dataclass
class ListingPage:
    contents: list[StoredObject] = field(default_factory=list)
    common_prefixes: list[str] = field(default_factory=list)
    is_truncated: bool = False
    # The last key or common prefix of this page: where the next page starts after.
    last: str = ""


def list_page(objects: list[StoredObject], prefix: str, delimiter: str, after: str,
              max_keys: int) -> ListingPage:
    """``objects`` are the bucket's keys under ``prefix`` in byte order; ``after`` is the
    marker, start-after or continuation position ("" for the start)."""
    page = ListingPage()
    after_bytes = after.encode()
    count = 0
    for obj in objects:
        key = obj.key
        if after and key.encode() <= after_bytes:
            continue
        entry = key
        rolled = False
        if delimiter:
            cut = key.find(delimiter, len(prefix))
            if cut >= 0:
                entry, rolled = key[:cut + len(delimiter)], True
                if entry.encode() <= after_bytes or \
                        (page.common_prefixes and page.common_prefixes[-1] == entry):
                    continue
        if count >= max_keys:
            page.is_truncated = max_keys > 0
            break
        if rolled:
            page.common_prefixes.append(entry)
        else:
            page.contents.append(obj)
        page.last = entry
        count += 1
    return page
