"""Unsubscribing from the digest alone (RFC 8058 one-click), and subscribing again.

The link in each digest is ``<base>/digest/unsubscribe/<token>``: a token for the purpose
``digest-unsubscribe``, signed for the store, naming the owner by the digest of their address (``o``; the
address itself is never in the link). It expires 400 days after the Monday it was sent for, and its token
id is derived from store, owner and week, so the same week's digest carries the same link whenever it is
sent. An opt-out stops the digest only: alerts and escalations keep coming.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import TYPE_CHECKING

from functions.shared import clock, tokens
from functions.shared.links import LinkKind

if TYPE_CHECKING:
    from functions.digest.ports import Ports
    from functions.digest.weeks import DigestWeek
    from functions.stores.models import Store

DIGEST_UNSUBSCRIBE = LinkKind("digest-unsubscribe", timedelta(days=400), "digest/unsubscribe")
MIN_LIFE = timedelta(days=1)
_OWNER = re.compile(r"^[0-9a-f]{32}$")


def owner_key(email: str) -> str:
    """How an owner is named in links and items: a digest of the address (case-insensitive)."""
    from functions.workspace.store import address_digest

    return address_digest(email)


def unsubscribe_url(signing_key: bytes, base_url: str, store_id: str, owner: str, week: DigestWeek) -> str:
    """The owner's one-click unsubscribe link for this week's digest (the same whenever it is minted)."""
    lifetime = max(week.send_at + DIGEST_UNSUBSCRIBE.ttl - clock.now(), MIN_LIFE)
    token_id = hashlib.sha256(f"{store_id}/{owner}/{week.key}".encode()).hexdigest()[:16]
    kind = replace(DIGEST_UNSUBSCRIBE, ttl=lifetime)
    return kind.url(base_url, kind.mint(signing_key, store_id, {"o": owner}, token_id=token_id))


@dataclass(frozen=True)
class Subscription:
    store: Store
    owner: str
    opted_out: bool
    action: str  # the page's form target


def _open(ports: Ports, token_text: str) -> tuple[Store, str]:
    """The store and owner a link names; ``tokens.TokenError`` or ``NotFound`` when it names none."""
    token = DIGEST_UNSUBSCRIBE.open(ports.signing_key(), token_text)
    owner = str(token.claims.get("o", ""))
    if not _OWNER.fullmatch(owner):
        raise tokens.TokenInvalid("the link names no owner")
    return ports.stores.get(token.store_id, cached=True), owner


def status(ports: Ports, token_text: str) -> Subscription:
    """Where the owner stands (for the page a GET shows; it changes nothing)."""
    store, owner = _open(ports, token_text)
    opted_out = ports.digests.digest_opted_out(store.id, owner)
    return Subscription(store, owner, opted_out, DIGEST_UNSUBSCRIBE.action(token_text))


def unsubscribe(ports: Ports, token_text: str) -> Subscription:
    """Stop the digest for the link's owner (one-click POST; doing it twice is fine)."""
    store, owner = _open(ports, token_text)
    ports.digests.opt_out_of_digest(store.id, owner, ports.clock.now(), "one-click")
    return Subscription(store, owner, True, DIGEST_UNSUBSCRIBE.action(token_text))


def resubscribe(ports: Ports, token_text: str) -> Subscription:
    """Send the digest to the link's owner again."""
    store, owner = _open(ports, token_text)
    ports.digests.opt_in_to_digest(store.id, owner)
    return Subscription(store, owner, False, DIGEST_UNSUBSCRIBE.action(token_text))
