"""The comment analyzer (Amazon Comprehend, billed per request) reads a comment only when its answer can
still change whether the answer is flagged (decision 66)."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from functions.flags import flagging
from functions.flags.evaluate import evaluate
from functions.flags.models import Flagging
from functions.flags.sentiment import Sentiment
from functions.stores.models import AlertPolicy
from tests.unit.service.test_flags import an_answer, the_flag, world

pytestmark = pytest.mark.unit


class Recording:
    """An analyzer that says every text is ``label`` and keeps the texts it was asked about."""

    def __init__(self, label: str = "NEGATIVE") -> None:
        self.label = label
        self.texts: list[str] = []

    def analyze(self, text: str, hint: str | None = None) -> Sentiment:
        self.texts.append(text)
        return Sentiment(self.label, 0.9, hint or "en", "comprehend")


def judged(answer: dict[str, Any], label: str = "NEGATIVE") -> tuple[list[str], list[str]]:
    """(the verdict's reasons, the texts the analyzer read) for ``answer`` under the default policy."""
    analyzer = Recording(label)
    verdict = evaluate({"locale": "en", **answer}, AlertPolicy(), analyzer)
    return verdict.reasons, analyzer.texts


@pytest.mark.parametrize(
    ("answer", "flagged"),
    [
        ({"kind": "review", "score": 1, "comment": "Meh, the colour is off"}, True),  # the stars flag it
        ({"kind": "review", "score": 2, "comment": "Lovely, but slow"}, True),  # at the store's limit of 2
        ({"kind": "nps", "score": 0, "comment": "Would not recommend"}, True),  # a detractor
        ({"kind": "nps", "score": 6, "comment": "ok"}, True),  # the highest detractor score
        ({"kind": "review", "score": 5, "comment": "Five stars, though it came damaged"}, True),  # a keyword
        ({"kind": "nps", "score": 10, "comment": "   "}, False),  # nothing written
        ({"kind": "review", "score": 4, "comment": ""}, False),
    ],
)
def test_the_analyzer_is_not_asked_when_score_keywords_or_an_empty_comment_decide(
    answer: dict[str, Any], flagged: bool
) -> None:
    # Given an answer whose score or keywords flag it already, or with nothing written
    # When it is judged
    reasons, read = judged(answer)
    # Then no text was sent to the analyzer, and the verdict is what the score and keywords say
    assert read == []
    assert bool(reasons) == flagged


@pytest.mark.parametrize(
    "answer",
    [
        {"kind": "review", "score": 3, "comment": "Not what the photos showed"},  # one above the limit
        {"kind": "review", "score": 5, "comment": "The seller ignored my emails"},
        {"kind": "nps", "score": 7, "comment": "The courier was rude"},  # a passive
        {"kind": "nps", "score": 10, "comment": "Worst packaging ever"},  # a promoter
    ],
)
def test_a_comment_on_an_answer_nothing_else_flags_is_analyzed_and_can_flag_it(
    answer: dict[str, Any],
) -> None:
    # Given an answer whose score is fine and whose comment names no keyword
    # When the analyzer finds its text negative
    reasons, read = judged(answer)
    # Then the analyzer read the comment once, and the answer is flagged for its text alone
    assert read == [answer["comment"]]
    assert reasons == ["negative text (comprehend, en, 90% confident)"]
    # And when the analyzer finds the text positive, the answer is not flagged
    assert judged(answer, "POSITIVE") == ([], [answer["comment"]])


def test_a_low_rating_is_flagged_and_alerted_without_asking_the_analyzer() -> None:
    # Given the flagging service with an analyzer that records what it reads
    ports = world()
    analyzer = Recording()
    ports = dataclasses.replace(ports, analyzer=analyzer)
    # When a one-star answer with a comment arrives
    outcome = flagging.process_answer(an_answer(ports, 1, "The strap came off on day two"), ports)
    # Then staff are alerted for the stars alone, and the comment was never sent for analysis
    assert outcome == Flagging.FLAGGED
    assert analyzer.texts == []
    flag = the_flag(ports)
    assert flag["reasons"] == ["1 of 5 stars (the store flags 2 or fewer)"]
    assert flag["sentiment"] is None


def test_a_five_star_answer_with_a_negative_comment_is_still_flagged_for_its_text() -> None:
    # Given the flagging service with an analyzer that finds every text negative
    ports = world()
    analyzer = Recording()
    ports = dataclasses.replace(ports, analyzer=analyzer)
    # When a five-star answer says something the analyzer finds negative
    outcome = flagging.process_answer(an_answer(ports, 5, "Nobody answered my emails"), ports)
    # Then the comment was analyzed and staff are alerted about it
    assert outcome == Flagging.FLAGGED
    assert analyzer.texts == ["Nobody answered my emails"]
    flag = the_flag(ports)
    assert flag["sentiment"] == {"label": "NEGATIVE", "language": "en"}
