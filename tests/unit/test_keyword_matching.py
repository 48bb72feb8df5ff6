"""Alert keywords match a comment however the customer's keyboard wrote the word."""

from __future__ import annotations

import pytest

from functions.flags.evaluate import evaluate
from functions.flags.sentiment import Sentiment
from functions.stores.models import AlertPolicy

pytestmark = pytest.mark.unit


class Neutral:
    def analyze(self, text: str, hint: str | None = None) -> Sentiment:
        return Sentiment("NEUTRAL", 0.5, hint or "en", "test")


def reasons(comment: str, keywords: list[str], locale: str = "en") -> list[str]:
    policy = AlertPolicy.model_validate({"keywords": keywords})
    answer = {"kind": "review", "score": 5, "comment": comment}
    return evaluate(answer, policy, Neutral(), locale).reasons


@pytest.mark.parametrize(
    ("comment", "keyword"),
    [
        ("کالا خيلي خراب رسيد", "خیلی خراب"),  # Arabic yeh typed on an Arabic keyboard, Persian keyword
        ("سفارش شکسته بود", "شكسته"),  # the store wrote the keyword with the Arabic kaf
        ("وصل مكسُورًا", "مكسور"),  # vowel marks in the comment
        ("وصل مكســور", "مكسور"),  # a tatweel stretching the word
        ("It arrived BROKEN", "broken"),  # case
        ("\uff22\uff52\uff4f\uff4b\uff45\uff4e on arrival", "broken"),  # full-width letters
    ],
)
def test_a_keyword_matches_whatever_form_of_its_letters_the_comment_uses(comment: str, keyword: str) -> None:
    # Given a store alerting on a keyword, When a five-star comment writes it in another form
    # Then the answer is flagged, naming the keyword as the store wrote it
    assert reasons(comment, [keyword]) == [f'mentions "{keyword}"']


def test_other_words_do_not_match() -> None:
    assert reasons("همه چیز عالی بود", ["خراب"]) == []
    assert reasons("وصل سليمًا", ["مكسور"]) == []
