"""Who may use ML Metadata: today, everyone (ISO-020, GHSA-j53r-x5f5-j4hr).

Upstream, metadata-envoy has no auth filter, no AuthorizationPolicy selects it, the UI server
proxies ``/ml_metadata.*`` with no check and Istio routes the gateway's ``/ml_metadata`` to it
after authentication only; MLMD itself has no notion of namespace.  So any caller reads and
writes every tenant's metadata.  KFP 2.18.1 blocked that access (reverted in 2.18.2); a later
switch for that behaviour changes this one function and nothing else.
"""

from __future__ import annotations


def may_call(method: str, userid: str | None) -> bool:
    """Whether a caller (``userid`` from the identity header, None when absent) may call
    ``method``.  Always true: the shared, unauthenticated MLMD of every release but 2.18.1."""
    return True
