"""Is a comment negative? Amazon Comprehend where it understands the language, a local lexicon otherwise.

Both analyzers answer through the same interface. The local one stands in for Comprehend in the local
stack and the tests (``AFTERCARE_SENTIMENT=local``); production uses Comprehend (``comprehend``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol

COMPREHEND_LANGUAGES = frozenset({"en", "es", "fr", "de", "it", "pt", "ar", "hi", "ja", "ko", "zh", "zh-TW"})

# Small, deliberately conservative lexicons: a word counts once; negations flip the next sentiment word.
NEGATIVE = {
    "en": {
        "terrible",
        "awful",
        "horrible",
        "broken",
        "broke",
        "damaged",
        "disappointed",
        "disappointing",
        "worst",
        "useless",
        "poor",
        "bad",
        "faulty",
        "defective",
        "late",
        "never",
        "rude",
        "cheap",
        "wrong",
        "missing",
        "refund",
        "return",
        "scam",
        "waste",
        "unhappy",
        "leaking",
        "ripped",
        "stained",
        "sucks",
        "hate",
    },
    "ar": {"سيء", "سيئ", "رديء", "مكسور", "تالف", "متأخر", "مخيب", "أسوأ", "استرجاع", "مشكلة"},
    "fa": {"بد", "خراب", "شکسته", "افتضاح", "دیر", "ناامید", "بدترین", "مرجوع", "مشکل"},
}
POSITIVE = {
    "en": {
        "great",
        "excellent",
        "love",
        "loved",
        "perfect",
        "amazing",
        "good",
        "fantastic",
        "happy",
        "wonderful",
        "recommend",
        "fast",
        "beautiful",
        "nice",
        "best",
        "awesome",
    },
    "ar": {"ممتاز", "رائع", "جميل", "أحب", "جيد"},
    "fa": {"عالی", "خوب", "زیبا", "دوست", "سریع"},
}
NEGATIONS = {"not", "no", "never", "n't", "isn't", "wasn't", "didn't", "don't", "لا", "ليس", "نه", "نیست"}
_WORD = re.compile(r"[\w']+", re.UNICODE)


@dataclass(frozen=True)
class Sentiment:
    label: str  # POSITIVE, NEGATIVE, NEUTRAL, MIXED
    confidence: float
    language: str
    analyzer: str

    @property
    def negative(self) -> bool:
        return self.label == "NEGATIVE"


class Analyzer(Protocol):
    def analyze(self, text: str, hint: str | None = None) -> Sentiment: ...


class LocalAnalyzer:
    """A lexicon analyzer for English, Arabic and Persian; other languages come back NEUTRAL."""

    name = "local"

    def analyze(self, text: str, hint: str | None = None) -> Sentiment:
        words = [w.casefold() for w in _WORD.findall(text)]
        language = _language(words, hint)
        negative, positive = _tally(words, language)
        if negative == positive == 0:
            return Sentiment("NEUTRAL", 0.5, language, self.name)
        if negative > positive:
            return Sentiment("NEGATIVE", negative / (negative + positive), language, self.name)
        if positive > negative:
            return Sentiment("POSITIVE", positive / (negative + positive), language, self.name)
        return Sentiment("MIXED", 0.5, language, self.name)


def _language(words: list[str], hint: str | None) -> str:
    """The hinted language when a lexicon exists for it, else the lexicon that knows the most words."""
    language = (hint or "en").split("-")[0]
    if language in NEGATIVE:
        return language
    return max(NEGATIVE, key=lambda lang: sum(w in NEGATIVE[lang] | POSITIVE[lang] for w in words))


def _tally(words: list[str], language: str) -> tuple[int, int]:
    """(negative, positive) sentiment words, a negation flipping the sentiment word right after it."""
    negative = positive = 0
    flip = False
    for word in words:
        if word in NEGATIONS:
            flip = True
            continue
        is_negative = word in NEGATIVE[language]
        if is_negative or word in POSITIVE[language]:
            if is_negative != flip:
                negative += 1
            else:
                positive += 1
        flip = False
    return negative, positive


class ComprehendAnalyzer:
    """Amazon Comprehend: detect the language, then the sentiment where Comprehend supports the language."""

    name = "comprehend"

    def __init__(self, fallback: Analyzer | None = None) -> None:
        self.fallback = fallback or LocalAnalyzer()

    def analyze(self, text: str, hint: str | None = None) -> Sentiment:
        from botocore.exceptions import BotoCoreError, ClientError

        from functions.shared import aws

        client = aws.comprehend()
        sample = text[:4500]  # Comprehend's synchronous limit is 5,000 bytes of UTF-8
        try:
            languages = client.detect_dominant_language(Text=sample).get("Languages", [])
            language = str(languages[0]["LanguageCode"]) if languages else (hint or "en")
            if language not in COMPREHEND_LANGUAGES:
                return self.fallback.analyze(text, language)
            result = client.detect_sentiment(Text=sample, LanguageCode=language)  # type: ignore[arg-type]
        except (ClientError, BotoCoreError):
            return self.fallback.analyze(text, hint)  # keywords and score rules still apply
        label = str(result["Sentiment"])
        scores: dict[str, float] = dict(result.get("SentimentScore", {}))  # type: ignore[arg-type]
        confidence = float(scores.get(label.capitalize(), 0.0))
        return Sentiment(label, confidence, language, self.name)


def analyzer(kind: str) -> Analyzer:
    return LocalAnalyzer() if kind == "local" else ComprehendAnalyzer()
