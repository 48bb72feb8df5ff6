"""The digest email of one store and week, for one owner: pure presentation of facts gathered before.

Everything is in the store's language (``default_locale``) and timezone. The HTML part is email-safe:
tables and inline styles only (no SVG, script, ``<style>`` block or image), so Gmail, Outlook and Apple
Mail show the same thing; each chart's bars are table cells with a width and a background colour, and
every chart row says its numbers in words too (the text equivalent). The text part says everything the
HTML part says. Nothing here calls AWS, and only the headers (Date, Message-ID) read the clock: the same
facts give the same subject, text and HTML.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from functions.shared.email import Email, one_line, to_staff
from functions.shared.i18n import Translator, choose_locale, format_moment

if TYPE_CHECKING:
    from functions.digest.weeks import DigestWeek
    from functions.insights.report import Week
    from functions.stores.models import Store

COMMENTS = 3  # the most negative comments shown
TREND_WEEKS = 8  # full weeks in the charts
LOW_REVIEW, LOW_NPS = 3, 6  # at most this many stars / this NPS score counts as a negative answer
NO_VALUE = "—"
COLOURS = {
    "promoters": "#2e7d32",
    "passives": "#9aa3ad",
    "detractors": "#c62828",
    "reviews": "#3056a0",
    "track": "#eef0f3",
}
TONES = {"good": "#1b6e34", "bad": "#b3261e", "same": "#5b6575"}


# ------------------------------------------------------------------------------ the facts


@dataclass(frozen=True)
class Comment:
    """One of the week's negative answers with a comment."""

    kind: str  # review | nps
    score: int
    text: str
    product: str
    at: datetime
    flag_id: str | None  # the flag raised for it, when one was


@dataclass(frozen=True)
class FlagCounts:
    open: int
    overdue: int  # open, past the deadline and still without a reply
    more: bool  # there are more open flags than were counted


@dataclass(frozen=True)
class Facts:
    """Everything one store's digest of one week says (the same for each of its owners)."""

    store: Store
    week: DigestWeek
    this: Week  # the reported (previous full) week
    before: Week  # the week before it
    trend: list[Week]  # the last full weeks, oldest first, for the charts
    comments: list[Comment]
    flags: FlagCounts


@dataclass(frozen=True)
class Links:
    inbox: str
    insights: str
    unsubscribe: str
    flag: Callable[[str], str]


def negativity(answer: dict[str, Any]) -> float:
    """How negative an answer is, 0 (worst) to 10, so stars and NPS scores sort together."""
    score = int(answer.get("score", 0))
    return (score - 1) * 2.5 if answer.get("kind") == "review" else float(score)


def is_negative_comment(answer: dict[str, Any]) -> bool:
    """A review of at most 3 stars or an NPS of at most 6 (a detractor), with a comment."""
    limit = LOW_REVIEW if answer.get("kind") == "review" else LOW_NPS
    return bool(str(answer.get("comment") or "").strip()) and int(answer.get("score", 99)) <= limit


def most_negative(answers: Sequence[dict[str, Any]], count: int = COMMENTS) -> list[dict[str, Any]]:
    """The ``count`` most negative answers: lowest score first, then the earliest, then by key."""
    ordered = sorted(
        answers,
        key=lambda a: (negativity(a), str(a.get("responded_at", "")), str(a.get("pk")), str(a.get("sk"))),
    )
    return ordered[:count]


# ------------------------------------------------------------------------------ formatting


@dataclass(frozen=True)
class Formats:
    """Numbers, money and dates in the store's language (Babel)."""

    locale: str
    currency: str

    def number(self, value: float | int | Decimal, digits: int = 1) -> str:
        from babel.numbers import format_decimal

        pattern = "#,##0." + "#" * digits if digits else "#,##0"
        return str(format_decimal(value, format=pattern, locale=self.locale))

    def percent(self, value: float) -> str:
        from babel.numbers import format_percent

        return str(format_percent(value, locale=self.locale))

    def money(self, amount: Decimal) -> str:
        from babel.numbers import format_currency

        return str(format_currency(amount, self.currency, locale=self.locale))

    def day(self, day: date) -> str:
        """A day, short ("2 Nov")."""
        from babel.dates import format_skeleton

        return str(format_skeleton("MMMd", day, locale=self.locale))

    def span(self, first: date, last: date) -> str:
        """Two days as a range ("Nov 2 - 8, 2026")."""
        from babel.dates import format_interval

        return str(format_interval(first, last, skeleton="yMMMd", locale=self.locale))


@dataclass(frozen=True)
class Figure:
    label: str
    this: str
    before: str
    change: str  # "▲ 4", "▼ 0.3", "±0" or "—"
    tone: str  # good | bad | same
    indent: bool = False


def _change(
    this: float | None, before: float | None, digits: int, better: int, show: Callable[[float], str]
) -> tuple[str, str]:
    """The change as an arrow and a size, and whether it is good news (``better``: +1 up, -1 down)."""
    if this is None or before is None:
        return NO_VALUE, "same"
    diff = round(float(this) - float(before), digits)
    if diff == 0:
        return "±0", "same"
    direction = 1 if diff > 0 else -1
    tone = "same" if better == 0 else ("good" if direction == better else "bad")
    return f"{'▲' if direction > 0 else '▼'} {show(abs(diff))}", tone


def _count(label: str, this: int, before: int, better: int, fmt: Formats, indent: bool = False) -> Figure:
    change, tone = _change(this, before, 0, better, lambda d: fmt.number(d, 0))
    return Figure(label, fmt.number(this, 0), fmt.number(before, 0), change, tone, indent)


def _score(label: str, this: float | None, before: float | None, better: int, fmt: Formats) -> Figure:
    change, tone = _change(this, before, 1, better, lambda d: fmt.number(d, 1))
    return Figure(label, _or_none(this, fmt.number), _or_none(before, fmt.number), change, tone)


def _or_none(value: float | None, show: Callable[[float], str]) -> str:
    return NO_VALUE if value is None else show(value)


def _points(rate: float | None) -> float | None:
    return None if rate is None else rate * 100


def _rate(label: str, this: float | None, before: float | None, t: Translator, fmt: Formats) -> Figure:
    change, tone = _change(
        _points(this), _points(before), 0, 1, lambda d: t("dg_points", value=fmt.number(d, 0))
    )
    return Figure(label, _or_none(this, fmt.percent), _or_none(before, fmt.percent), change, tone)


def _money(label: str, this: Decimal, before: Decimal, fmt: Formats) -> Figure:
    change, tone = _change(float(this), float(before), 2, -1, lambda d: fmt.money(Decimal(str(d))))
    return Figure(label, fmt.money(this), fmt.money(before), change, tone)


def figures(facts: Facts, t: Translator, fmt: Formats) -> list[Figure]:
    """The reported week's figures against the week before, each with its change."""
    a, b = facts.this, facts.before
    return [
        _score(t("dg_nps"), a.nps, b.nps, 1, fmt),
        _count(t("dg_promoters"), a.promoters, b.promoters, 1, fmt, indent=True),
        _count(t("dg_passives"), a.passives, b.passives, 0, fmt, indent=True),
        _count(t("dg_detractors"), a.detractors, b.detractors, -1, fmt, indent=True),
        _count(t("dg_reviews"), a.reviews, b.reviews, 1, fmt),
        _score(t("dg_average_stars"), a.average_stars, b.average_stars, 1, fmt),
        _count(t("dg_sent"), a.total_sent, b.total_sent, 0, fmt),
        _rate(t("dg_response_rate"), a.overall_response_rate, b.overall_response_rate, t, fmt),
        _count(t("dg_flags"), a.total_flags, b.total_flags, -1, fmt),
        _count(t("dg_returns"), a.total_returns, b.total_returns, -1, fmt),
        _money(t("dg_refunded"), a.refunded, b.refunded, fmt),
    ]


# ------------------------------------------------------------------------------ charts


@dataclass(frozen=True)
class Segment:
    width: int  # percent of the row
    colour: str


@dataclass(frozen=True)
class ChartRow:
    label: str  # the week
    segments: list[Segment]
    rest: int  # percent left empty
    value: str  # the row's figure beside the bar
    text: str  # the row in words: the text equivalent of the bar


@dataclass(frozen=True)
class Chart:
    title: str
    description: str
    legend: list[tuple[str, str]]  # (label, colour)
    rows: list[ChartRow]
    empty: bool


def bar(parts: Sequence[tuple[int, str]], largest: int) -> tuple[list[Segment], int]:
    """Segments in percent of the widest row (a non-zero part is at least 1 %); the rest stays empty."""
    segments: list[Segment] = []
    used = 0
    for count, colour in parts:
        if count <= 0 or largest <= 0:
            continue
        width = min(max(1, round(count * 100 / largest)), 100 - used)
        if width > 0:
            segments.append(Segment(width, colour))
            used += width
    return segments, 100 - used


def _nps_chart(weeks: Sequence[Week], t: Translator, fmt: Formats) -> Chart:
    largest = max((w.promoters + w.passives + w.detractors for w in weeks), default=0)
    rows = []
    for week in weeks:
        parts = [
            (week.promoters, COLOURS["promoters"]),
            (week.passives, COLOURS["passives"]),
            (week.detractors, COLOURS["detractors"]),
        ]
        segments, rest = bar(parts, largest)
        nps = NO_VALUE if week.nps is None else fmt.number(week.nps, 1)
        counts = {"promoters": week.promoters, "passives": week.passives, "detractors": week.detractors}
        text = t("dg_chart_nps_row", week=fmt.day(week.start), nps=nps, **counts)
        rows.append(ChartRow(fmt.day(week.start), segments, rest, nps, text))
    legend = [(t(f"dg_{name}"), COLOURS[name]) for name in ("promoters", "passives", "detractors")]
    return Chart(
        t("dg_chart_nps"), t("dg_chart_nps_desc", weeks=len(weeks)), legend, rows, empty=largest == 0
    )


def _reviews_chart(weeks: Sequence[Week], t: Translator, fmt: Formats) -> Chart:
    largest = max((w.reviews for w in weeks), default=0)
    rows = []
    for week in weeks:
        segments, rest = bar([(week.reviews, COLOURS["reviews"])], largest)
        average = NO_VALUE if week.average_stars is None else fmt.number(week.average_stars, 1)
        text = t("dg_chart_reviews_row", week=fmt.day(week.start), reviews=week.reviews, average=average)
        value = f"{fmt.number(week.reviews, 0)} · {average}★" if week.reviews else "0"
        rows.append(ChartRow(fmt.day(week.start), segments, rest, value, text))
    legend = [(t("dg_reviews"), COLOURS["reviews"])]
    return Chart(
        t("dg_chart_reviews"), t("dg_chart_reviews_desc", weeks=len(weeks)), legend, rows, empty=largest == 0
    )


def charts(facts: Facts, t: Translator, fmt: Formats) -> list[Chart]:
    return [_nps_chart(facts.trend, t, fmt), _reviews_chart(facts.trend, t, fmt)]


# ------------------------------------------------------------------------------ the email


def translator(store: Store) -> Translator:
    """The store's language, with the store's own texts where it has any."""
    config = store.config
    return Translator(choose_locale(None, config.default_locale), config.emails.texts)


def _comment_view(comment: Comment, t: Translator, store: Store, links: Links) -> dict[str, Any]:
    verdict = "dg_stars" if comment.kind == "review" else "dg_nps_score"
    return {
        "verdict": t(verdict, score=comment.score),
        "product": comment.product,
        "text": comment.text,
        "at": format_moment(comment.at, t.language, store.config.timezone),
        "link": links.flag(comment.flag_id) if comment.flag_id else "",
    }


def context(facts: Facts, t: Translator, links: Links) -> dict[str, Any]:
    """What the two templates render (the same for the HTML and the text part)."""
    store = facts.store
    fmt = Formats(t.language, store.config.currency)
    reported = facts.this.start
    span = fmt.span(reported, reported + timedelta(days=6))
    flags = facts.flags
    open_count = fmt.number(flags.open, 0) + ("+" if flags.more else "")
    return {
        "t": t,
        "locale": t.language,
        "accent": store.config.emails.accent_color,
        "store_name": store.config.name,
        "timezone": store.config.timezone,
        "span": span,
        "intro": t("dg_intro", store=store.config.name, span=span, timezone=store.config.timezone),
        "figures": figures(facts, t, fmt),
        "tones": TONES,
        "charts": charts(facts, t, fmt),
        "track": COLOURS["track"],
        "comments": [_comment_view(c, t, store, links) for c in facts.comments],
        "flags_open": t("dg_flags_open", count=open_count),
        "flags_overdue": t("dg_flags_overdue", count=fmt.number(flags.overdue, 0)),
        "any_flags": flags.open > 0,
        "overdue": flags.overdue > 0,
        "links": links,
    }


def digest_email(facts: Facts, owner: str, links: Links) -> Email:
    """The digest for one owner, with its one-click unsubscribe (RFC 8058) from the digest alone."""
    t = translator(facts.store)
    found = context(facts, t, links)
    email = to_staff(
        facts.store,
        to=owner,
        subject=t("dg_subject", store=one_line(facts.store.config.name, 80), span=found["span"]),
        template="digest",
        context=found,
        kind="digest",
        id_prefix="digest",
    )
    email.headers["List-Unsubscribe"] = f"<{links.unsubscribe}>"
    email.headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    email.headers["Content-Language"] = t.language
    email.locale = t.language
    return email
