"""Decide whether an answer is negative and say why. Pure logic around the store's alert policy."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from functions.flags.sentiment import Analyzer, Sentiment
from functions.stores.models import AlertPolicy


@dataclass
class Verdict:
    reasons: list[str] = field(default_factory=list)
    sentiment: Sentiment | None = None

    @property
    def negative(self) -> bool:
        return bool(self.reasons)


def _score_reasons(kind: str, score: int, policy: AlertPolicy) -> list[str]:
    if kind == "review" and score <= policy.negative_stars_at_most:
        return [f"{score} of 5 stars (the store flags {policy.negative_stars_at_most} or fewer)"]
    if kind == "nps" and score <= policy.detractor_nps_at_most:
        return [f"NPS {score}: a detractor (0 to {policy.detractor_nps_at_most})"]
    return []


# Letters people type in more than one form: Arabic and Persian keyboards give different yeh and kaf for the
# same word (ي/ی, ك/ک), and Arabic vowel marks and the tatweel (ـ) are optional decoration.
_SAME_LETTER = str.maketrans({"\u064a": "\u06cc", "\u0649": "\u06cc", "\u0643": "\u06a9", "\u0640": None})
_MARKS = re.compile("[\u064b-\u065f\u0670]")


def _fold(text: str) -> str:
    """``text`` as a keyword match reads it: case, compatibility forms, Arabic-script letter variants and
    vowel marks folded, so a keyword matches however the customer's keyboard wrote it."""
    return _MARKS.sub("", unicodedata.normalize("NFKC", text).casefold().translate(_SAME_LETTER))


def _keyword_reasons(comment: str, keywords: list[str]) -> list[str]:
    folded = _fold(comment)
    return [f'mentions "{k}"' for k in keywords if k.strip() and _fold(k) in folded]


def evaluate(
    response: dict[str, Any], policy: AlertPolicy, analyzer: Analyzer, store_locale: str = "en"
) -> Verdict:
    """Why an answer is negative, if it is; keywords are the store's, else the defaults of ``store_locale``
    (the store's ``default_locale``).

    The analyzer (Amazon Comprehend in production, billed per request) reads the comment only when its
    answer can still change the verdict: when the comment is not empty and neither the score nor the
    store's keywords flag the answer already (decision 66).
    """
    verdict = Verdict(_score_reasons(str(response.get("kind")), int(response.get("score", 0)), policy))
    comment = str(response.get("comment") or "").strip()
    if comment:
        verdict.reasons.extend(_keyword_reasons(comment, policy.keywords_for(store_locale)))
    if comment and not verdict.reasons:
        verdict.sentiment = analyzer.analyze(comment, str(response.get("locale") or "") or None)
        if verdict.sentiment.negative:
            s = verdict.sentiment
            verdict.reasons.append(
                f"negative text ({s.analyzer}, {s.language}, {s.confidence:.0%} confident)"
            )
    return verdict
