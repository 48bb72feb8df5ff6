"""Read the email SES (moto) accepted, as the recipient would see it."""

from __future__ import annotations

import email
import email.policy
import re
from email.message import EmailMessage
from email.utils import getaddresses, parsedate_to_datetime
from html.parser import HTMLParser
from typing import Any

from aftercare.devstack.provision import ACCOUNT, REGION

_URL = re.compile(r"https?://[^\s<>\"')]+")


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[dict[str, str]] = []
        self._href: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self._href = dict(attrs).get("href") or ""
            self._text = []

    def handle_data(self, data: str) -> None:
        if self._href is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._href is not None:
            self.links.append({"href": self._href, "text": " ".join("".join(self._text).split())})
            self._href = None


def _parts(message: EmailMessage) -> tuple[str, str]:
    text = html = ""
    for part in message.walk():
        if part.is_multipart():
            continue
        content = part.get_content()
        if part.get_content_type() == "text/plain" and not text:
            text = content
        elif part.get_content_type() == "text/html" and not html:
            html = content
    return text, html


def _parse_raw(message_id: str, raw: str, destinations: list[str]) -> dict[str, Any]:
    message = email.message_from_string(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    text, html = _parts(message)
    sent_at = None
    if message["Date"]:
        try:
            sent_at = parsedate_to_datetime(str(message["Date"])).isoformat()
        except (TypeError, ValueError):
            sent_at = None
    links = _Links()
    links.feed(html)
    recipients = [address for _, address in getaddresses([str(message["To"] or "")]) if address]
    return {
        "id": message_id,
        "to": recipients or list(dict.fromkeys(str(a) for a in destinations)),
        "from": str(message["From"] or ""),
        "subject": str(message["Subject"] or ""),
        "text": text,
        "html": html,
        "headers": [[name, str(value)] for name, value in message.items()],
        "links": links.links or [{"href": url, "text": url} for url in _URL.findall(text)],
        "sent_at": sent_at,
    }


def count() -> int:
    from moto.ses.models import ses_backends

    return len(ses_backends[ACCOUNT][REGION].sent_messages)


def messages(start: int = 0) -> list[dict[str, Any]]:
    """Every message sent so far (from the ``start``-th on), oldest first."""
    from moto.ses.models import RawMessage, ses_backends

    backend = ses_backends[ACCOUNT][REGION]
    result = []
    for message in list(backend.sent_messages)[start:]:
        if isinstance(message, RawMessage):
            result.append(_parse_raw(message.id, message.raw_data, list(message.destinations)))
        else:  # a Content.Simple message: only one body survives in moto
            destinations = message.destinations.get("ToAddresses", [])
            result.append(
                {
                    "id": message.id,
                    "to": destinations,
                    "from": message.source,
                    "subject": message.subject,
                    "text": message.body,
                    "html": "",
                    "headers": [],
                    "links": [{"href": url, "text": url} for url in _URL.findall(message.body)],
                    "sent_at": None,
                }
            )
    return result
