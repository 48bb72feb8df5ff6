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


def evaluate(response: dict[str, Any], policy: AlertPolicy, analyzer: Analyzer) -> Verdict:
    verdict = Verdict()
    kind, score = str(response.get("kind")), int(response.get("score", 0))
    if kind == "review" and score <= policy.negative_stars_at_most:
        verdict.reasons.append(
            f"{score} of 5 stars (the store flags {policy.negative_stars_at_most} or fewer)"
        )
    if kind == "nps" and score <= policy.detractor_nps_at_most:
        verdict.reasons.append(f"NPS {score}: a detractor (0 to {policy.detractor_nps_at_most})")
    comment = str(response.get("comment") or "").strip()
    if comment:
        folded = comment.casefold()
        for keyword in policy.keywords:
            if keyword.strip() and keyword.casefold() in folded:
                verdict.reasons.append(f'mentions "{keyword}"')
        verdict.sentiment = analyzer.analyze(comment, str(response.get("locale") or "") or None)
        if verdict.sentiment.negative:
            s = verdict.sentiment
            verdict.reasons.append(
                f"negative text ({s.analyzer}, {s.language}, {s.confidence:.0%} confident)"
            )
    return verdict
