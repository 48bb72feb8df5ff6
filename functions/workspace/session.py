"""Workspace sessions: a signed cookie scoped to one store and one person, with a role and a CSRF value.

The cookie holds a token from ``functions.shared.tokens`` (signed under the store's derived key,
expiring after 12 hours, purpose ``workspace-session``) whose claims name the address and the role it
was issued for; its token id is the session id. Every sign-in mints a new session id (a presented id is
never adopted), so a planted cookie cannot become someone's session. Forms carry a CSRF value derived
from the session id, so a form can only be posted by the session it was shown to.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from http.cookies import CookieError, SimpleCookie
from typing import Literal

from functions.shared import tokens
from functions.shared.links import LinkKind

Role = Literal["owner", "staff"]
ROLES: tuple[Role, ...] = ("owner", "staff")
COOKIE = "aftercare_session"
COOKIE_PATH = "/workspace"
SESSION = LinkKind("workspace-session", timedelta(hours=12), "workspace", form="workspace-csrf")
SIGN_IN = LinkKind("workspace-sign-in", timedelta(minutes=15), "workspace/sign-in/link", form="sign-in")


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


def cookie_value(cookie_header: str | None) -> str | None:
    """The session token in a ``Cookie`` header, if there is one."""
    if not cookie_header:
        return None
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(cookie_header)
    except CookieError:
        return None
    found = jar.get(COOKIE)
    return found.value if found is not None and found.value else None


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
