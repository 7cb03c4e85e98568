"""Login state of the gateway, on the emulator clock: oauth2-proxy sessions (the
``oauth2_proxy_kubeflow`` cookie), Dex's pending auth requests and authorization codes.

The caller holds the emulator's state lock.  :meth:`LoginState.clear` runs on emulator reset.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

# Dex keeps an auth request for 24h and a code for 10 minutes (its defaults).
AUTH_REQUEST_SECONDS = 24 * 3600
CODE_SECONDS = 600


@dataclass(frozen=True)
class Session:
    email: str
    expires_at: float


@dataclass
class AuthRequest:
    """What ``/dex/auth/local`` remembered of the OAuth request: where to send the code."""

    client_id: str
    redirect_uri: str
    state: str
    expires_at: float


@dataclass(frozen=True)
class AuthCode:
    email: str
    client_id: str
    redirect_uri: str
    expires_at: float


@dataclass
class LoginState:
    sessions: dict[str, Session] = field(default_factory=dict)
    auth_requests: dict[str, AuthRequest] = field(default_factory=dict)
    codes: dict[str, AuthCode] = field(default_factory=dict)

    def clear(self) -> None:
        self.sessions.clear()
        self.auth_requests.clear()
        self.codes.clear()

    # -- oauth2-proxy sessions -------------------------------------------------------------------

    def open_session(self, email: str, now: float, lifetime: float) -> str:
        cookie = secrets.token_urlsafe(32)
        self.sessions[cookie] = Session(email, now + lifetime)
        return cookie

    def session_email(self, cookie: str | None, now: float) -> str | None:
        """The signed-in email, or None for an unknown or expired session."""
        if not cookie:
            return None
        session = self.sessions.get(cookie)
        if session is None:
            return None
        if now >= session.expires_at:
            del self.sessions[cookie]
            return None
        return session.email

    def close_session(self, cookie: str | None) -> None:
        if cookie:
            self.sessions.pop(cookie, None)

    # -- Dex -------------------------------------------------------------------------------------

    def new_auth_request(self, client_id: str, redirect_uri: str, state: str,
                         now: float) -> str:
        request_id = secrets.token_hex(13)
        self.auth_requests[request_id] = AuthRequest(client_id, redirect_uri, state,
                                                     now + AUTH_REQUEST_SECONDS)
        return request_id

    def auth_request(self, request_id: str, now: float) -> AuthRequest | None:
        request = self.auth_requests.get(request_id)
        if request is not None and now >= request.expires_at:
            del self.auth_requests[request_id]
            return None
        return request

    def issue_code(self, request_id: str, email: str, now: float) -> tuple[str, AuthRequest]:
        """The auth request is used up; the code stands in for it."""
        request = self.auth_requests.pop(request_id)
        code = secrets.token_hex(13)
        self.codes[code] = AuthCode(email, request.client_id, request.redirect_uri,
                                    now + CODE_SECONDS)
        return code, request

    def redeem_code(self, code: str, now: float) -> AuthCode | None:
        """A code is good once (oauth2-proxy redeems it server-side at the callback)."""
        found = self.codes.pop(code, None)
        if found is None or now >= found.expires_at:
            return None
        return found
