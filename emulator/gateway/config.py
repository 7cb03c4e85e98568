"""How the emulated ingress gateway is configured."""

from __future__ import annotations

from dataclasses import dataclass

# The issuer of the Kubeflow manifests' Dex (its ID tokens carry the user in ``email``).
DEX_ISSUER = "http://dex.auth.svc.cluster.local:5556/dex"
# The m2m-dex-and-kind overlay also accepts the short in-cluster issuer (same JWKS).
KIND_SHORT_ISSUER = "https://kubernetes.default.svc"


@dataclass(frozen=True)
class GatewayConfig:
    """``audiences``: the RequestAuthentications' ``audiences``; empty (the manifests' setting)
    means no audience check, otherwise a token with none of them gets Envoy's 403.
    ``session_seconds``: oauth2-proxy's ``cookie_expire`` (24h in the manifests)."""

    audiences: tuple[str, ...] = ()
    session_seconds: int = 24 * 3600
