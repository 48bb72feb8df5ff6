"""Every kind of link Aftercare puts in an email: its purpose, lifetime, path, form check and errors.

A link is ``<base>/<path>/<token>`` with a token from ``functions.shared.tokens`` (signed per store,
expiring, scoped to one purpose). Pages that act on a POST (staff pages, return approvals) also carry
a form value derived from the token, so a form can only be posted for the link it was shown for.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from functions.shared import tokens
from functions.shared.errors import NotFound


@dataclass(frozen=True)
class LinkKind:
    purpose: str  # the token's scope: a token for one kind never opens another
    ttl: timedelta
    path: str  # the route prefix, e.g. "s" for /s/{token}
    form: str | None = None  # the name the form check is derived under, for pages that take a POST

    def mint(
        self, signing_key: bytes, store_id: str, claims: dict[str, Any], token_id: str | None = None
    ) -> str:
        """A fresh token for this kind of link."""
        return tokens.sign(
            signing_key,
            purpose=self.purpose,
            store_id=store_id,
            ttl=self.ttl,
            claims=claims,
            token_id=token_id,
        )

    def url(self, base_url: str, token: str) -> str:
        return f"{base_url.rstrip('/')}/{self.path}/{token}"

    def action(self, token: str) -> str:
        """The relative address a page's form posts back to."""
        return f"/{self.path}/{token}"

    def open(self, signing_key: bytes, token: str, store_id: str | None = None) -> tokens.Token:
        """Verify a presented token for this kind; raise a ``tokens.TokenError`` otherwise."""
        return tokens.verify(signing_key, token, purpose=self.purpose, store_id=store_id)

    def form_value(self, signing_key: bytes, token: tokens.Token) -> str:
        """The hidden form value a page of this kind must post back (bound to this one token)."""
        if self.form is None:
            raise ValueError(f"{self.purpose} links have no form")
        digest = hmac.new(signing_key, f"{self.form}/{token.token_id}".encode(), hashlib.sha256)
        return digest.hexdigest()[:32]

    def form_matches(self, signing_key: bytes, token: tokens.Token, presented: str) -> bool:
        expected = self.form_value(signing_key, token)
        return hmac.compare_digest(expected.encode(), presented.encode("utf-8", "replace"))


SURVEY = LinkKind("survey", timedelta(days=60), "s")
UNSUBSCRIBE = LinkKind("unsubscribe", timedelta(days=400), "u")
RETURN = LinkKind("return", timedelta(days=120), "r")
RETURN_STATUS = LinkKind("return-status", timedelta(days=180), "rs")  # read-only, in every return email
RETURN_APPROVAL = LinkKind("return-approval", timedelta(days=14), "approve", form="approve")
STAFF = LinkKind("staff", timedelta(days=14), "staff", form="staff-form")


class Gone(NotFound):
    """A link that opened, for its store, to something that no longer exists (the store is known)."""

    def __init__(self, message: str, store_id: str) -> None:
        super().__init__(message)
        self.store_id = store_id


def store_of(error: Exception) -> str | None:
    """The store a link that did not open belongs to, when its signature proved it; None otherwise."""
    if isinstance(error, tokens.TokenError | Gone):
        return error.store_id
    return None


@dataclass(frozen=True)
class LinkProblem:
    """What a page tells the person whose link did not open: an HTTP status and a message key."""

    status: int
    title: str  # i18n key of the heading
    message: str  # i18n key of the explanation


def problem(error: Exception) -> LinkProblem:
    """The one mapping of link failures to what the holder is told."""
    if isinstance(error, tokens.TokenExpired):
        return LinkProblem(410, "link_invalid_title", "link_expired")
    if isinstance(error, NotFound):
        return LinkProblem(404, "not_found_title", "not_found")
    return LinkProblem(400, "link_invalid_title", "link_invalid")
