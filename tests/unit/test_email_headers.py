"""Headers arrive as written, whatever scripts a subject mixes."""

from __future__ import annotations

import email
import email.policy
import random

import pytest

from functions.shared.email import Email

pytestmark = pytest.mark.unit

WORDS = [
    "Product",
    "p-tour",
    "لـ",
    "الطلب",
    "#1001",
    "2★",
    "[بحاجة",
    "رد]",
    "tee،",
    "Расскажите",
    "заказ",
    "тур",
    "-",
]


def test_a_long_subject_mixing_scripts_keeps_every_space() -> None:
    # Given long subjects mixing Latin, Arabic and Cyrillic words (the kind a product name in a translated
    # subject makes)
    chooser = random.Random(7)
    for _ in range(500):
        subject = " ".join(chooser.choice(WORDS) for _ in range(chooser.randint(3, 20)))
        message = Email(
            store_id="shop",
            sender="Shop <shop@example.com>",
            to="a@example.com",
            subject=subject,
            html="<p>x</p>",
            text="x",
        )
        # When the message is built and read back by a mail client
        received = email.message_from_bytes(message.mime(), policy=email.policy.default)
        # Then the subject reads exactly as written
        assert str(received["Subject"]) == subject


def test_an_encoded_body_keeps_lines_short_enough_for_spam_filters() -> None:
    # Given an email in a script that is sent base64-encoded
    georgian = "თქვენი კვირის მიმოხილვა " * 40
    message = Email(
        store_id="shop",
        sender="Shop <shop@example.com>",
        to="a@example.com",
        subject="კვირის მიმოხილვა",
        html=f"<p>{georgian}</p>",
        text=georgian,
    )
    # When it is built
    mime = message.mime()
    body = mime.split(b"\r\n\r\n", 1)[1]
    # Then no body line is longer than 76 characters (SpamAssassin's BASE64_LENGTH_79_INF counts them)
    assert b"Content-Transfer-Encoding: base64" in body
    assert max(len(line) for line in body.split(b"\r\n")) <= 76
