"""Workspace sessions: a signed cookie scoped to one store and one person, with a role and a CSRF value.

The cookie holds a token from ``functions.shared.tokens`` (signed under the store's derived key,
expiring after 12 hours, purpose ``workspace-session``) whose claims name the address and the role it
was issued for; its token id is the session id. Every sign-in mints a new session id (a presented id is
never adopted), so a planted cookie cannot become someone's session. Forms carry a CSRF value derived
from the session id, so a form can only be posted by the session it was shown to.

The sign-in form has no session yet: its page sets a short-lived random cookie (``FORM_COOKIE``) and
the form carries a value signed over that cookie and an expiry (a signed double submit), so a sign-in
form can only be posted from a page this browser was shown within the hour.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

from functions.shared import clock, tokens
from functions.shared.links import LinkKind

Role = Literal["owner", "staff"]
ROLES: tuple[Role, ...] = ("owner", "staff")
COOKIE = "aftercare_session"
COOKIE_PATH = "/workspace"
SESSION = LinkKind("workspace-session", timedelta(hours=12), "workspace", form="workspace-csrf")
SIGN_IN = LinkKind("workspace-sign-in", timedelta(minutes=15), "workspace/sign-in/link", form="sign-in")
FORM_COOKIE = "aftercare_sign_in"
FORM_COOKIE_PATH = f"{COOKIE_PATH}/sign-in"
FORM_TTL = timedelta(hours=1)


class NotSignedIn(Exception):
    """No session cookie, or one that is forged, expired, signed out or no longer allowed."""


@dataclass(frozen=True)
class Session:
    token: tokens.Token
    email: str
    role: Role
    csrf: str  # the hidden form value every POST of this session must carry

    @property
    def store_id(self) -> str:
        return self.token.store_id

    @property
    def session_id(self) -> str:
        return self.token.token_id

    @property
    def is_owner(self) -> bool:
        return self.role == "owner"


def issue(signing_key: bytes, store_id: str, email: str, role: Role) -> str:
    """A new session token (with a new session id) for this person in this store."""
    return SESSION.mint(signing_key, store_id, {"e": email, "r": role})


def cookie_value(cookie_header: str | None, name: str = COOKIE) -> str | None:
    """The value of a cookie (the session token unless ``name`` says otherwise) in a ``Cookie`` header.

    Parsed by hand: ``http.cookies`` stops at the first cookie it dislikes, which another site on the
    same host (a dev tool, an analytics script) may well have set.
    """
    if not cookie_header or len(cookie_header) > 8192:
        return None
    for part in cookie_header.split(";"):
        key, separator, value = part.strip().partition("=")
        if separator and key == name and value.strip('"'):
            return value.strip('"')
    return None


def open_session(signing_key: bytes, token_text: str | None) -> Session:
    """The session a cookie's token stands for; ``NotSignedIn`` if it does not verify or has expired."""
    if not token_text:
        raise NotSignedIn("no session")
    try:
        token = SESSION.open(signing_key, token_text)
    except tokens.TokenError as error:
        raise NotSignedIn(str(error)) from None
    email, role = token.claims.get("e"), token.claims.get("r")
    if not isinstance(email, str) or role not in ROLES:
        raise NotSignedIn("session lacks its person or role")
    return Session(token, email, role, SESSION.form_value(signing_key, token))


def csrf_matches(signing_key: bytes, session: Session, presented: str) -> bool:
    return SESSION.form_matches(signing_key, session.token, presented)


def set_cookie(token_text: str, *, secure: bool) -> str:
    """The ``Set-Cookie`` value that starts a session (HttpOnly, SameSite=Strict, 12 hours)."""
    seconds = int(SESSION.ttl.total_seconds())
    flags = f"Path={COOKIE_PATH}; Max-Age={seconds}; HttpOnly; SameSite=Strict"
    return f"{COOKIE}={token_text}; {flags}{'; Secure' if secure else ''}"


def clear_cookie(*, secure: bool) -> str:
    """The ``Set-Cookie`` value that ends a session in the browser."""
    flags = f"Path={COOKIE_PATH}; Max-Age=0; HttpOnly; SameSite=Strict"
    return f"{COOKIE}=; {flags}{'; Secure' if secure else ''}"


# ------------------------------------------------------------------------------ the sign-in form


def new_form_nonce() -> str:
    return secrets.token_urlsafe(18)


def _form_digest(signing_key: bytes, nonce: str, expires: int) -> str:
    message = f"workspace-sign-in-form/{nonce}/{expires}".encode()
    return hmac.new(signing_key, message, hashlib.sha256).hexdigest()[:32]


def sign_in_form_value(signing_key: bytes, nonce: str) -> str:
    """The hidden value of a sign-in form shown to the browser holding ``nonce`` (valid for an hour)."""
    expires = clock.epoch_seconds(clock.now() + FORM_TTL)
    return f"{expires}.{_form_digest(signing_key, nonce, expires)}"


def sign_in_form_matches(signing_key: bytes, nonce: str | None, presented: str) -> bool:
    """Whether a posted sign-in form was shown to this browser (its cookie) and has not expired."""
    expires_text, _, digest = presented.partition(".")
    if not nonce or not expires_text.isdigit() or len(expires_text) > 12:
        return False
    expires = int(expires_text)
    if clock.epoch_seconds() >= expires:
        return False
    expected = _form_digest(signing_key, nonce, expires)
    return hmac.compare_digest(expected.encode(), digest.encode("utf-8", "replace"))


def form_cookie(nonce: str, *, secure: bool) -> str:
    """The ``Set-Cookie`` value of the sign-in form's nonce (HttpOnly, SameSite=Strict, one hour)."""
    seconds = int(FORM_TTL.total_seconds())
    flags = f"Path={FORM_COOKIE_PATH}; Max-Age={seconds}; HttpOnly; SameSite=Strict"
    return f"{FORM_COOKIE}={nonce}; {flags}{'; Secure' if secure else ''}"
