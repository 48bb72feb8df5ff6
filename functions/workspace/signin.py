"""Signing in without a password: a link by email, opened on a page with a button, used once.

* ``request_link``: an address with a role in the store (owner, alert or escalation address) gets an
  email with a sign-in link (15 minutes), at most ``LINKS_PER_WINDOW`` per ``RATE_WINDOW`` per address
  and store. It answers nothing: the page says the same whether the store exists, the address may sign
  in, or the limit was reached, and the same DynamoDB work is done for a known and an unknown address.
* ``open_link``: what the link's page shows (GET). It never signs in: mail scanners fetch links.
* ``use_link``: the page's button (POST with the form value derived from the link's token) signs in
  once: the link's token id is written with a condition, so a second use is refused. The role comes from
  the store's configuration at that moment, and the session always gets a new id (session fixation).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING

from functions.shared import clock, tokens
from functions.shared.errors import NotFound
from functions.shared.observability import logger
from functions.workspace import session as sessions

if TYPE_CHECKING:
    from functions.shared.email import Email
    from functions.stores.models import Staff, Store
    from functions.workspace.ports import Ports

LINKS_PER_WINDOW = 5
RATE_WINDOW = timedelta(minutes=15)


@dataclass(frozen=True)
class LinkRequest:
    """What the sign-in form asked for (already checked for shape by the route)."""

    store_id: str
    email: str
    next_path: str


def window_start(now: datetime) -> datetime:
    """The start of the fixed rate window ``now`` falls in."""
    seconds = int(RATE_WINDOW.total_seconds())
    epoch = clock.epoch_seconds(now)
    return datetime.fromtimestamp(epoch - epoch % seconds, tz=now.tzinfo)


def listed_address(staff: Staff, email: str) -> str | None:
    """The address as the store's configuration writes it (owners first), if it is listed at all."""
    wanted = email.strip().casefold()
    for listed in [*staff.owners, *staff.alert_emails, *staff.escalation_emails]:
        if str(listed).casefold() == wanted:
            return str(listed)
    return None


def request_link(request: LinkRequest, ports: Ports) -> None:
    """Email a sign-in link when this address may sign in and has not asked too often; say nothing."""
    try:
        store = ports.stores.get(request.store_id, cached=True)
    except NotFound:
        return
    now = ports.clock.now()
    within_limit = ports.workspace.count_sign_in_request(
        store.id, request.email, window_start(now), RATE_WINDOW, LINKS_PER_WINDOW
    )
    address = listed_address(store.config.staff, request.email)
    if address is None or not within_limit:
        logger.info(
            "sign-in link not sent",
            extra={"store_id": store.id, "why": "rate limit" if address else "not a listed address"},
        )
        return
    token = sessions.SIGN_IN.mint(ports.signing_key(), store.id, {"e": address, "n": request.next_path})
    _send(sign_in_email(store, address, sessions.SIGN_IN.url(ports.base_url, token), now), ports)


def _send(message: Email, ports: Ports) -> None:
    from functions.shared.mailer import PermanentSendError, TransientSendError

    try:
        ports.mailer.send(message)
    except (TransientSendError, PermanentSendError) as error:  # the page still says the same
        logger.warning(
            "sign-in link could not be sent", extra={"store_id": message.store_id, "why": str(error)}
        )


def sign_in_email(store: Store, address: str, link: str, now: datetime) -> Email:
    """The sign-in email, in the store's language, from the store's sender like every staff email."""
    from functions.shared.email import to_staff
    from functions.shared.i18n import Translator, choose_locale, format_moment

    config = store.config
    locale = choose_locale(None, config.default_locale)
    t = Translator(locale)
    return to_staff(
        store,
        to=address,
        subject=t("ws_email_subject", store=config.name),
        template="workspace_sign_in",
        context={
            "t": t,
            "locale": locale,
            "link": link,
            "address": address,
            "accent": config.emails.accent_color,
            "expires": format_moment(now + sessions.SIGN_IN.ttl, locale, config.timezone),
        },
        kind="workspace-sign-in",
        id_prefix="sign-in",
    )


# ------------------------------------------------------------------------------ the link's page


class Refusal(StrEnum):
    FORM = "form"  # the button's form value does not belong to this link
    USED = "used"  # the link signed someone in already
    NO_ROLE = "no role"  # the address may no longer sign in to this store


class SignInRefused(Exception):
    def __init__(self, why: Refusal, view: LinkView) -> None:
        super().__init__(why.value)
        self.why = why
        self.view = view


@dataclass(frozen=True)
class LinkView:
    """A sign-in link as its page shows it."""

    token: tokens.Token
    token_text: str
    store: Store
    email: str
    next_path: str
    form_value: str  # what the page's button posts back (bound to this link)
    used: bool


@dataclass(frozen=True)
class SignedIn:
    cookie_token: str  # the new session's token, for the cookie
    session_id: str
    next_path: str


def open_link(token_text: str, ports: Ports) -> LinkView:
    """The link's page; ``tokens.TokenError`` (forged, expired) or ``NotFound`` (store gone) otherwise."""
    key = ports.signing_key()
    token = sessions.SIGN_IN.open(key, token_text)
    store = ports.stores.get(token.store_id, cached=True)
    email, next_path = token.claims.get("e"), token.claims.get("n")
    if not isinstance(email, str) or not email:
        raise tokens.TokenInvalid("sign-in link without an address")
    from functions.workspace.web import safe_next

    return LinkView(
        token=token,
        token_text=token_text,
        store=store,
        email=email,
        next_path=safe_next(next_path if isinstance(next_path, str) else None),
        form_value=sessions.SIGN_IN.form_value(key, token),
        used=ports.workspace.sign_in_link_used(store.id, token.token_id),
    )


def use_link(
    token_text: str, presented: str, ports: Ports, previous: sessions.Session | None = None
) -> SignedIn:
    """Sign in with the link, once; ``SignInRefused`` says why not (token errors as in ``open_link``)."""
    key = ports.signing_key()
    view = open_link(token_text, ports)
    if not sessions.SIGN_IN.form_matches(key, view.token, presented):
        raise SignInRefused(Refusal.FORM, view)
    role = view.store.config.staff.role_of(view.email)
    if role is None:
        raise SignInRefused(Refusal.NO_ROLE, view)
    cookie_token = sessions.issue(key, view.store.id, view.email, role)  # always a new session id
    session_id = sessions.open_session(key, cookie_token).session_id
    if not ports.workspace.use_sign_in_link(
        view.store.id, view.token.token_id, session_id, view.token.expires_at
    ):
        raise SignInRefused(Refusal.USED, view)
    if previous is not None and previous.store_id == view.store.id:
        sign_out(previous, ports)  # the browser's earlier session of this store ends here
    logger.info("signed in to the workspace", extra={"store_id": view.store.id, "role": role})
    return SignedIn(cookie_token, session_id, view.next_path)


def sign_out(session: sessions.Session, ports: Ports) -> None:
    """End a session for good (its cookie no longer opens the workspace, even if kept)."""
    ports.workspace.sign_out(session.store_id, session.session_id, session.token.expires_at)
