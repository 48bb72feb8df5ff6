"""The staff page behind an alert's link: open it, reply to the customer, resolve, reopen.

Every action is claimed on the flag by its form's id before anything happens (``Flags.claim_action``),
so a form submitted twice acts once and a resolved flag refuses actions until it is reopened.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from functions.customers.store import customer_key
from functions.flags.emails import reply_email
from functions.flags.models import ActionKind, ActionRefused, AlreadyDone, FlagResolved
from functions.shared import clock, links, tokens
from functions.shared.i18n import DEFAULT, Translator
from functions.shared.mailer import PermanentSendError, TransientSendError
from functions.shared.observability import metrics

if TYPE_CHECKING:
    from functions.flags.ports import Ports
    from functions.stores.models import Store

MAX_REPLY = 5000
REPLY_DEDUPE_WINDOW = timedelta(minutes=15)


class Refused(ActionRefused):
    """A refused staff action that names its catalog text, so the page says it in the store's language.

    ``message`` keeps the English text (logs, tests); ``key`` and ``values`` are for the page.
    """

    def __init__(
        self,
        key: str,
        *,
        keys: Mapping[str, str] | None = None,
        words: Mapping[str, Callable[[Translator], str]] | None = None,
        **values: Any,
    ) -> None:
        self.key = key
        self.keys = dict(keys or {})  # values that are catalog keys themselves ("why": "staff_offer_...")
        self.words = dict(words or {})  # values said in the page's language (English that was stored ...)
        self.values = values
        super().__init__(self.said(Translator(DEFAULT)))

    def said(self, t: Translator) -> str:
        """The refusal in ``t``'s language."""
        keys = {name: t(key) for name, key in self.keys.items()}
        return t(self.key, **self.values, **keys, **{name: say(t) for name, say in self.words.items()})


@dataclass
class StaffView:
    """One staff member's view of one flag, opened from their link."""

    token: tokens.Token
    token_text: str
    store: Store
    flag: dict[str, Any]
    answer: dict[str, Any] | None
    form_value: str  # the hidden value the page's forms post back (bound to this link)

    @property
    def actor(self) -> str:
        return str(self.token.claims.get("a", "staff"))

    @property
    def flag_id(self) -> str:
        return str(self.flag["flag_id"])


def open_staff(token_text: str, ports: Ports) -> StaffView:
    """The flag a staff link points to; ``tokens.TokenError`` or ``NotFound`` when it does not open."""
    key = ports.signing_key()
    token = links.STAFF.open(key, token_text)
    store = ports.stores.get(token.store_id, cached=True)
    flag = ports.flags.get(store.id, str(token.claims.get("f", "")))
    if flag is None:
        raise links.Gone("this flag does not exist", store.id)
    pk, sk = str(flag["response_pk"]), str(flag["response_sk"])
    answer = ports.responses.get(store.id, pk.split("#", 1)[1], sk)
    return StaffView(token, token_text, store, flag, answer, links.STAFF.form_value(key, token))


def check_form(view: StaffView, presented: str, ports: Ports) -> None:
    """Refuse a form that was not shown for this link."""
    if not links.STAFF.form_matches(ports.signing_key(), view.token, presented):
        raise Refused("staff_error_stale_form")


def _digest(reply_text: str) -> str:
    normalised = " ".join(reply_text.split()).casefold()
    return "r" + hashlib.sha256(normalised.encode("utf-8")).hexdigest()[:32]


def claim(view: StaffView, action_id: str, ports: Ports, reply_text: str | None = None) -> str | None:
    """Claim this form's action on the open flag (see ``Flags.claim_action``); returns the reply digest."""
    if not action_id or len(action_id) > 64:
        raise Refused("staff_error_incomplete_form")
    digest = _digest(reply_text) if reply_text is not None else None
    since = clock.isoformat(ports.clock.now() - REPLY_DEDUPE_WINDOW)
    try:
        ports.flags.claim_action(view.store.id, view.flag_id, action_id, reply_digest=digest, since=since)
    except FlagResolved:
        raise Refused("staff_error_resolved") from None
    return digest


def log_action(view: StaffView, action: dict[str, Any], ports: Ports, *, reply: bool, resolve: bool) -> None:
    """Append a done action to the flag's log (a reply also stops the SLA clock, a resolve closes it)."""
    entry = {"at": clock.isoformat(ports.clock.now()), "actor": view.actor, **action}
    created = clock.parse_iso(str(view.flag["created_at"]))
    ports.flags.record_action(
        view.store.id,
        view.flag_id,
        entry,
        reply=reply,
        resolve=resolve,
        created_at=created,
        keep=view.store.config.retention.answers,
    )


def _reply_body(view: StaffView, text: str, ports: Ports) -> str:
    """The reply as it will be sent, or ``ActionRefused`` saying why it cannot be."""
    body = text.replace("\r\n", "\n").strip()
    if not body:
        raise Refused("staff_error_empty_reply")
    if len(body) > MAX_REPLY:
        raise Refused("staff_error_reply_too_long", limit=MAX_REPLY)
    email = str((view.flag.get("customer") or {}).get("email") or "")
    if not email:
        raise Refused("staff_error_no_email")
    profile = ports.customers.get(view.store.id, customer_key(email)) or {}
    suppressed = (profile.get("suppressed") or {}).get("reason")
    if suppressed in {"bounced", "complained"}:
        raise Refused(f"staff_error_{suppressed}")
    return body


def reply(
    view: StaffView, text: str, action_id: str, resolve: bool, ports: Ports, locale: str | None = None
) -> None:
    """Email the staff member's reply to the customer, threaded under the original email, once.

    ``locale`` is the language staff wrote it in (the customer's unless they chose another): the email is
    marked with it (its language and direction).
    """
    body = _reply_body(view, text, ports)
    digest = claim(view, action_id, ports, reply_text=body)
    flag = view.flag
    if locale:
        flag = {**flag, "customer": {**(flag.get("customer") or {}), "locale": locale}}
    try:
        message_id = ports.mailer.send(reply_email(view.store, flag, body))
    except (TransientSendError, PermanentSendError):
        ports.flags.release_action(view.store.id, view.flag_id, action_id, reply_digest=digest)
        raise Refused("staff_error_send_failed") from None
    action = {"action": ActionKind.REPLY.value, "text": body, "message_id": message_id}
    log_action(view, action, ports, reply=True, resolve=resolve)
    waited = ports.clock.now() - clock.parse_iso(str(view.flag["created_at"]))
    metrics.add_metric(name="SecondsToFirstReply", unit="Seconds", value=max(0.0, waited.total_seconds()))


def resolve(view: StaffView, note: str, action_id: str, ports: Ports) -> None:
    claim(view, action_id, ports)
    log_action(
        view, {"action": ActionKind.RESOLVE.value, "text": note[:1000]}, ports, reply=False, resolve=True
    )


def reopen(view: StaffView, ports: Ports) -> None:
    try:
        ports.flags.reopen(view.store.id, view.flag_id, view.actor)
    except AlreadyDone:
        raise AlreadyDone("this flag is open already") from None
