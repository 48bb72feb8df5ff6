"""Decide whether an answer is negative and say why. Pure logic around the store's alert policy."""

from __future__ import annotations

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


def _keyword_reasons(comment: str, keywords: list[str]) -> list[str]:
    folded = comment.casefold()
    return [f'mentions "{k}"' for k in keywords if k.strip() and k.casefold() in folded]


def evaluate(
    response: dict[str, Any], policy: AlertPolicy, analyzer: Analyzer, store_locale: str = "en"
) -> Verdict:
    """Why an answer is negative, if it is; keywords are the store's, else the defaults of ``store_locale``
    (the store's ``default_locale``)."""
    verdict = Verdict(_score_reasons(str(response.get("kind")), int(response.get("score", 0)), policy))
    comment = str(response.get("comment") or "").strip()
    if comment:
        verdict.reasons.extend(_keyword_reasons(comment, policy.keywords_for(store_locale)))
        verdict.sentiment = analyzer.analyze(comment, str(response.get("locale") or "") or None)
        if verdict.sentiment.negative:
            s = verdict.sentiment
            verdict.reasons.append(
                f"negative text ({s.analyzer}, {s.language}, {s.confidence:.0%} confident)"
            )
    return verdict
