"""Register the suite's cast as Dex static users with fresh passwords.

The kubeflow/manifests Dex (``common/dex`` at ``26.03``) reads one file, ``config.yaml`` of the
ConfigMap ``dex`` in namespace ``auth``, mounted at ``/etc/dex/cfg``.  Its ``staticPasswords``
(with ``enablePasswordDB: true``) hold the password users: the default ``user@example.com``
has ``hashFromEnv: DEX_USER_PASSWORD``, a bcrypt hash from the Secret ``dex-passwords`` passed
in with ``envFrom``.  Dex also takes the hash inline (``hash:``, as dexidp/dex's
``examples/config-dev.yaml`` shows: ``email``, ``hash`` (bcrypt ``$2a$``, cost 10),
``username``, ``userID``), which is what is written here for the cast, so one object holds
them and the Secret stays the manifests' own.  Dex reads its configuration at
start only, so the Deployment ``dex`` is restarted the way ``kubectl rollout restart`` does it:
a new ``kubectl.kubernetes.io/restartedAt`` annotation on the pod template.

Only bcrypt hashes go to the cluster; the passwords stay with the caller (the target file).
"""

from __future__ import annotations

import datetime
import secrets
import uuid
from collections.abc import Mapping
from typing import Any

import yaml
from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException

DEX_NAMESPACE = "auth"
DEX_CONFIGMAP = "dex"
DEX_CONFIG_KEY = "config.yaml"
DEX_DEPLOYMENT = "dex"
RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"
BCRYPT_ROUNDS = 10  # Dex refuses costs above 16; 10 is what its examples use
_USER_IDS = uuid.UUID("6f1d3c6e-5a43-4b8e-9a57-6b6ad1a1c0de")  # namespace of our userIDs


class DexError(RuntimeError):
    """Dex cannot be configured (its ConfigMap is missing or malformed, bcrypt is absent)."""


def fresh_passwords(emails: list[str]) -> dict[str, str]:
    return {email: secrets.token_urlsafe(16) for email in emails}


def require_bcrypt() -> None:
    """bcrypt is the optional ``cluster`` extra: say how to get it when it is absent."""
    try:
        import bcrypt  # noqa: F401
    except ImportError:
        raise DexError("registering Dex users needs the bcrypt package: "
                       "pip install 'kfp-isolation[cluster]' (or pip install bcrypt)") from None


def hash_password(password: str) -> str:
    """A bcrypt hash Dex accepts."""
    require_bcrypt()
    import bcrypt

    # $2a$, the variant Dex's own example config shows (``htpasswd -BinC 10``)
    salt = bcrypt.gensalt(rounds=BCRYPT_ROUNDS, prefix=b"2a")
    return bcrypt.hashpw(password.encode(), salt).decode()


def static_user(email: str, password_hash: str) -> dict[str, str]:
    return {"email": email, "hash": password_hash, "username": email.split("@", 1)[0],
            "userID": str(uuid.uuid5(_USER_IDS, email.lower()))}


def with_users(config: Mapping[str, Any], hashes: Mapping[str, str]) -> dict[str, Any]:
    """``config`` with a static password user per ``email -> bcrypt hash``: an entry of the
    same email (case-insensitive, as Dex matches logins) is replaced, every other one kept,
    and the password database switched on."""
    wanted = {email.lower() for email in hashes}
    kept = [entry for entry in config.get("staticPasswords") or []
            if not (isinstance(entry, dict) and str(entry.get("email", "")).lower() in wanted)]
    updated = dict(config)
    updated["enablePasswordDB"] = True
    updated["staticPasswords"] = kept + [static_user(email, hashed)
                                         for email, hashed in hashes.items()]
    return updated


def parse_config(text: str) -> dict[str, Any]:
    try:
        config = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise DexError(f"Dex's {DEX_CONFIG_KEY} is not YAML: {exc}") from None
    if not isinstance(config, dict):
        raise DexError(f"Dex's {DEX_CONFIG_KEY} is not a mapping")
    return config


def register(api: k8s.ApiClient, passwords: Mapping[str, str], *,
             namespace: str = DEX_NAMESPACE, configmap: str = DEX_CONFIGMAP,
             deployment: str = DEX_DEPLOYMENT) -> None:
    """Add the users to Dex's ConfigMap (replace, guarded by its resourceVersion) and
    restart Dex so it reads them."""
    core = k8s.CoreV1Api(api)
    try:
        current = core.read_namespaced_config_map(configmap, namespace)
    except ApiException as exc:
        if exc.status != 404:
            raise
        raise DexError(f"no ConfigMap {namespace}/{configmap}: the installed manifests have no "
                       "Dex where kubeflow/manifests puts it (common/dex)") from None
    data = dict(current.data or {})
    if DEX_CONFIG_KEY not in data:
        raise DexError(f"ConfigMap {namespace}/{configmap} has no {DEX_CONFIG_KEY}")
    hashes = {email: hash_password(password) for email, password in passwords.items()}
    data[DEX_CONFIG_KEY] = yaml.safe_dump(with_users(parse_config(data[DEX_CONFIG_KEY]), hashes),
                                          sort_keys=False)
    current.data = data
    core.replace_namespaced_config_map(configmap, namespace, current)
    restart(api, namespace, deployment)


def restart(api: k8s.ApiClient, namespace: str = DEX_NAMESPACE,
            deployment: str = DEX_DEPLOYMENT) -> None:
    """What ``kubectl rollout restart`` does: a changed pod template rolls new pods."""
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    k8s.AppsV1Api(api).patch_namespaced_deployment(deployment, namespace, {
        "spec": {"template": {"metadata": {"annotations": {RESTARTED_AT: now}}}}})
