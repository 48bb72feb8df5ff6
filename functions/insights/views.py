"""What the insights page and its CSV exports show of a report: charts, tables, numbers in the locale.

Pure presentation: a ``Report`` and a translator in, page sections and CSV rows out. Numbers, money and
dates are formatted with Babel in the store's locale; every chart has a table of the same numbers.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from functions.insights import charts
from functions.insights.counting import BUCKETS, bucket_bound
from functions.insights.report import Rated, Report
from functions.returns.wording import reason_said

if TYPE_CHECKING:
    from functions.shared.i18n import Translator

VIEWS = ("nps", "stars", "products", "types", "rates", "replies", "flags", "returns", "refunds")
SHOWN_PRODUCTS = 20  # the page shows the most reviewed; the CSV has every product
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class UnknownView(ValueError):
    def __init__(self, view: object) -> None:
        super().__init__(f"view must be one of {', '.join(VIEWS)}, not {view!r}")


@dataclass(frozen=True)
class Formats:
    """Locale-aware formatting (Babel) for one page."""

    locale: str
    currency: str

    def number(self, value: float | int | None, digits: int = 1) -> str:
        from babel.numbers import format_decimal

        if value is None:
            return "—"
        return str(format_decimal(value, format="#,##0." + "#" * digits, locale=self.locale))

    def percent(self, value: float | None) -> str:
        from babel.numbers import format_percent

        return "—" if value is None else str(format_percent(value, locale=self.locale))

    def money(self, amount: Decimal, currency: str | None = None) -> str:
        from babel.numbers import format_currency

        return str(format_currency(amount, currency or self.currency, locale=self.locale))

    def week(self, start: date) -> str:
        """A week by its Monday, short ("2 Nov")."""
        from babel.dates import format_skeleton

        return str(format_skeleton("MMMd", start, locale=self.locale))

    def day(self, start: date) -> str:
        from babel.dates import format_date

        return str(format_date(start, format="medium", locale=self.locale))

    def duration(self, length: timedelta) -> str:
        from functions.shared.i18n import format_duration

        return format_duration(length, self.locale)


@dataclass(frozen=True)
class Table:
    caption: str
    headers: list[str]
    rows: list[list[str]]


@dataclass(frozen=True)
class Section:
    """One part of the page: a heading, a chart or two, the tables of their numbers, its CSV export."""

    view: str
    title: str
    charts: list[charts.Chart]
    tables: list[Table]
    lines: list[str] = field(default_factory=list)  # sentences shown above the chart


# ------------------------------------------------------------------------------ labels


def label(t: Translator, prefix: str, key: str) -> str:
    """A stored key's text (``in_<prefix>_<key>``), or the key itself when it has none."""
    name = f"in_{prefix}_{key}"
    text = t(name)
    return key if text == name else text


def return_reason(t: Translator, key: str) -> str:
    """A return's reason in ``t``'s language (Aftercare's own reasons by code; one the store or staff
    wrote, as written)."""
    return reason_said(t, key) if key else t("in_no_reason")


def type_label(t: Translator, key: str) -> str:
    return key or t("in_no_type")


# ------------------------------------------------------------------------------ sections


def _nps_scores(report: Report, t: Translator, f: Formats, labels: list[str]) -> charts.Chart:
    scores = [week.nps for week in report.weeks]
    series = [charts.Series(t("in_nps_score"), [s if s and s > 0 else None for s in scores], charts.GOOD)]
    if any(s is not None and s < 0 for s in scores):
        series.append(
            charts.Series(t("in_nps_score"), [s if s and s < 0 else None for s in scores], charts.BAD)
        )
    return charts.columns(
        "chart-nps",
        t("in_nps_chart"),
        t("in_nps_chart_desc", weeks=len(report.weeks), score=f.number(report.nps)),
        labels,
        series,
        [(-100, "-100"), (0, "0"), (100, "100")],
        low=-100,
        high=100,
        legend=False,
    )


def _nps_counts(report: Report, t: Translator, f: Formats, labels: list[str]) -> charts.Chart:
    most = max((w.promoters + w.passives + w.detractors for w in report.weeks), default=0)
    return charts.columns(
        "chart-nps-counts",
        t("in_nps_counts_chart"),
        t(
            "in_nps_counts_desc",
            promoters=report.total("promoters"),
            passives=report.total("passives"),
            detractors=report.total("detractors"),
        ),
        labels,
        [
            charts.Series(t("in_promoters"), [w.promoters for w in report.weeks], charts.GOOD),
            charts.Series(t("in_passives"), [w.passives for w in report.weeks], charts.NEUTRAL),
            charts.Series(t("in_detractors"), [w.detractors for w in report.weeks], charts.BAD),
        ],
        [(0, "0"), (most, f.number(most))] if most else [(0, "0")],
    )


def _nps(report: Report, t: Translator, f: Formats) -> Section:
    labels = [f.week(week.start) for week in report.weeks]
    table = Table(
        t("in_nps_table"),
        [t("in_week"), t("in_promoters"), t("in_passives"), t("in_detractors"), t("in_nps")],
        [
            [
                f.day(w.start),
                f.number(w.promoters),
                f.number(w.passives),
                f.number(w.detractors),
                f.number(w.nps),
            ]
            for w in report.weeks
        ],
    )
    charts_shown = [_nps_scores(report, t, f, labels), _nps_counts(report, t, f, labels)]
    return Section("nps", t("in_nps_title"), charts_shown, [table])


def _stars(report: Report, t: Translator, f: Formats) -> Section:
    chart = charts.columns(
        "chart-stars",
        t("in_stars_chart"),
        t("in_stars_chart_desc", reviews=report.total("reviews"), average=f.number(report.average_stars, 2)),
        [f.week(week.start) for week in report.weeks],
        [charts.Series(t("in_average_stars"), [w.average_stars for w in report.weeks], charts.ACCENT)],
        [(0, "0"), (1, "1"), (2, "2"), (3, "3"), (4, "4"), (5, "5")],
        high=5,
    )
    table = Table(
        t("in_stars_table"),
        [t("in_week"), t("in_reviews"), t("in_average_stars")],
        [[f.day(w.start), f.number(w.reviews), f.number(w.average_stars, 2)] for w in report.weeks],
    )
    return Section("stars", t("in_stars_title"), [chart], [table])


def _rated(view: str, items: list[Rated], t: Translator, f: Formats, name: Callable[[Rated], str]) -> Section:
    shown = items[:SHOWN_PRODUCTS]
    chart = charts.bars(
        f"chart-{view}",
        t(f"in_{view}_chart"),
        t("in_rated_desc", count=len(items), shown=len(shown)),
        [charts.Bar(name(item), item.average or 0, f.number(item.average, 2)) for item in shown],
        top=5,
    )
    table = Table(
        t(f"in_{view}_table"),
        [t(f"in_{view}_name"), t("in_reviews"), t("in_average_stars")],
        [[name(item), f.number(item.count), f.number(item.average, 2)] for item in shown],
    )
    lines = [t("in_more_in_csv", shown=len(shown), count=len(items))] if len(items) > len(shown) else []
    return Section(view, t(f"in_{view}_title"), [chart], [table], lines)


def _rates(report: Report, t: Translator, f: Formats) -> Section:
    sent, answered = report.summed("sent"), report.summed("answered")
    rates = report.response_rate
    chart = charts.bars(
        "chart-rates",
        t("in_rates_chart"),
        t("in_rates_desc", rate=f.percent(report.overall_response_rate)),
        [charts.Bar(label(t, "kind", kind), rate or 0, f.percent(rate)) for kind, rate in rates.items()],
        top=1,
    )
    table = Table(
        t("in_rates_table"),
        [t("in_kind"), t("in_sent"), t("in_answered"), t("in_response_rate")],
        [
            [
                label(t, "kind", kind),
                f.number(sent.get(kind, 0)),
                f.number(answered.get(kind, 0)),
                f.percent(rate),
            ]
            for kind, rate in rates.items()
        ],
    )
    return Section("rates", t("in_rates_title"), [chart], [table], [t("in_rates_note")])


def _bucket_text(t: Translator, f: Formats, index: int) -> str:
    bound = bucket_bound(index)
    if bound is None:
        return t("in_slower_than", duration=f.duration(timedelta(seconds=BUCKETS[-1])))
    return t("in_at_most", duration=f.duration(bound))


def _reply_lines(report: Report, t: Translator, f: Formats) -> list[str]:
    if not report.replies:
        return [t("in_no_replies", sla=f.duration(report.sla))]

    def at_most(value: timedelta | None) -> str:
        if value is None:
            return t("in_slower_than", duration=f.duration(timedelta(seconds=BUCKETS[-1])))
        return t("in_at_most", duration=f.duration(value))

    return [
        t("in_replies_summary", half=at_most(report.first_reply_p50), most=at_most(report.first_reply_p90)),
        t("in_within_sla", share=f.percent(report.within_sla), sla=f.duration(report.sla)),
    ]


def _replies(report: Report, t: Translator, f: Formats) -> Section:
    used = [i for i, count in enumerate(report.reply_histogram) if count]
    shown = range((max(used) + 1) if used else 0)
    rows = [
        charts.Bar(
            _bucket_text(t, f, index),
            report.reply_histogram[index],
            f.number(report.reply_histogram[index]),
            charts.GOOD if (bucket_bound(index) or timedelta.max) <= report.sla else charts.BAD,
        )
        for index in shown
    ]
    chart = charts.bars(
        "chart-replies", t("in_replies_chart"), t("in_replies_desc", count=report.replies), rows
    )
    table = Table(
        t("in_replies_table"),
        [t("in_reply_time"), t("in_replies")],
        [[row.label, row.text] for row in rows],
    )
    return Section("replies", t("in_replies_title"), [chart], [table], _reply_lines(report, t, f))


def _counted(
    ident: str, title: str, desc: str, counts: dict[str, int], name: Callable[[str], str]
) -> charts.Chart:
    return charts.bars(ident, title, desc, [charts.Bar(name(k), v, str(v)) for k, v in counts.items()])


def _flags(report: Report, t: Translator, f: Formats) -> Section:
    flags = report.summed("flags")
    total = sum(flags.values())
    chart = _counted(
        "chart-flags",
        t("in_flags_chart"),
        t("in_flags_desc", count=total),
        flags,
        lambda k: label(t, "reason", k),
    )
    table = Table(
        t("in_flags_table"),
        [t("in_reason"), t("in_flags")],
        [[label(t, "reason", k), f.number(v)] for k, v in flags.items()],
    )
    return Section("flags", t("in_flags_title"), [chart], [table])


def _returns(report: Report, t: Translator, f: Formats) -> Section:
    reasons, outcomes = report.summed("returns"), report.summed("outcomes")
    by_reason = _counted(
        "chart-return-reasons",
        t("in_return_reasons_chart"),
        t("in_return_reasons_desc", count=sum(reasons.values())),
        reasons,
        lambda k: return_reason(t, k),
    )
    by_outcome = _counted(
        "chart-return-outcomes",
        t("in_return_outcomes_chart"),
        t("in_return_outcomes_desc", count=sum(outcomes.values())),
        outcomes,
        lambda k: label(t, "outcome", k),
    )
    tables = [
        Table(
            t("in_return_reasons_chart"),
            [t("in_reason"), t("in_returns")],
            [[return_reason(t, k), f.number(v)] for k, v in reasons.items()],
        ),
        Table(
            t("in_return_outcomes_chart"),
            [t("in_outcome"), t("in_returns")],
            [[label(t, "outcome", k), f.number(v)] for k, v in outcomes.items()],
        ),
    ]
    return Section("returns", t("in_returns_title"), [by_reason, by_outcome], tables, [t("in_returns_note")])


def _refunds(report: Report, t: Translator, f: Formats) -> Section:
    amounts = [float(week.refunded) for week in report.weeks]
    most = max(amounts, default=0.0)
    chart = charts.columns(
        "chart-refunds",
        t("in_refunds_chart"),
        t("in_refunds_desc", amount=f.money(report.refunded)),
        [f.week(week.start) for week in report.weeks],
        [charts.Series(t("in_refunded"), amounts, charts.ACCENT)],
        [(0, f.money(Decimal(0))), (most, f.money(Decimal(str(most))))]
        if most
        else [(0, f.money(Decimal(0)))],
    )
    table = Table(
        t("in_refunds_table"),
        [t("in_week"), t("in_refunded")],
        [[f.day(week.start), f.money(week.refunded)] for week in report.weeks],
    )
    lines = [t("in_refunds_total", amount=f.money(report.refunded))]
    other = _other_currencies(report)
    if other:
        lines.append(
            t("in_refunds_other", amounts=", ".join(f.money(v, k) for k, v in sorted(other.items())))
        )
    return Section("refunds", t("in_refunds_title"), [chart], [table], lines)


def _other_currencies(report: Report) -> dict[str, Decimal]:
    found: dict[str, Decimal] = {}
    for week in report.weeks:
        for currency, amount in week.refunded_other.items():
            found[currency] = found.get(currency, Decimal(0)) + amount
    return found


def sections(report: Report, t: Translator, f: Formats) -> list[Section]:
    """Every section of the page, in the order of ``VIEWS``."""
    return [
        _nps(report, t, f),
        _stars(report, t, f),
        _rated("products", report.products, t, f, lambda item: item.name),
        _rated("types", report.product_types, t, f, lambda item: type_label(t, item.key)),
        _rates(report, t, f),
        _replies(report, t, f),
        _flags(report, t, f),
        _returns(report, t, f),
        _refunds(report, t, f),
    ]


def summary(report: Report, t: Translator, f: Formats) -> list[tuple[str, str]]:
    """The headline figures of the range: (label, value)."""
    return [
        (t("in_nps"), f.number(report.nps)),
        (t("in_average_stars"), f.number(report.average_stars, 2)),
        (t("in_response_rate"), f.percent(report.overall_response_rate)),
        (t("in_first_reply_p50"), f.duration(report.first_reply_p50) if report.first_reply_p50 else "—"),
        (t("in_within_sla_short"), f.percent(report.within_sla)),
        (t("in_refunded"), f.money(report.refunded)),
    ]


# ------------------------------------------------------------------------------ CSV


def _per_week(report: Report, figure: str, column: str) -> list[list[Any]]:
    rows: list[list[Any]] = [["week_start", column, "count"]]
    for week in report.weeks:
        rows += [[week.start.isoformat(), name, count] for name, count in getattr(week, figure).items()]
    return rows


def _csv_returns(report: Report) -> list[list[Any]]:
    rows: list[list[Any]] = [["week_start", "by", "value", "returns"]]
    for week in report.weeks:
        rows += [[week.start.isoformat(), "reason", name, count] for name, count in week.returns.items()]
        rows += [[week.start.isoformat(), "outcome", name, count] for name, count in week.outcomes.items()]
    return rows


def _csv_rates(report: Report) -> list[list[Any]]:
    rows: list[list[Any]] = [["week_start", "kind", "sent", "answered", "response_rate"]]
    for week in report.weeks:
        for kind, count in week.sent.items():
            rate = week.response_rate.get(kind)
            rows.append(
                [
                    week.start.isoformat(),
                    kind,
                    count,
                    week.answered.get(kind, 0),
                    "" if rate is None else round(rate, 4),
                ]
            )
    return rows


def _csv_replies(report: Report) -> list[list[Any]]:
    rows: list[list[Any]] = [["at_most_seconds", "replies"]]
    for index, count in enumerate(report.reply_histogram):
        bound = bucket_bound(index)
        rows.append([int(bound.total_seconds()) if bound else f"more than {BUCKETS[-1]}", count])
    return rows


def _csv_rated(items: list[Rated], name_column: str) -> list[list[Any]]:
    return [
        ["key", name_column, "reviews", "average_stars"],
        *([item.key, item.name, item.count, item.average] for item in items),
    ]


def _none(value: float | None) -> Any:
    return "" if value is None else value


def csv_rows(report: Report, view: str) -> list[list[Any]]:
    """The rows (header first) of one view's CSV export; ``UnknownView`` for anything else."""
    weekly: dict[str, Callable[[], list[list[Any]]]] = {
        "nps": lambda: [
            ["week_start", "promoters", "passives", "detractors", "nps"],
            *(
                [w.start.isoformat(), w.promoters, w.passives, w.detractors, _none(w.nps)]
                for w in report.weeks
            ),
        ],
        "stars": lambda: [
            ["week_start", "reviews", "average_stars"],
            *([w.start.isoformat(), w.reviews, _none(w.average_stars)] for w in report.weeks),
        ],
        "products": lambda: _csv_rated(report.products, "product"),
        "types": lambda: _csv_rated(report.product_types, "product_type"),
        "rates": lambda: _csv_rates(report),
        "replies": lambda: _csv_replies(report),
        "flags": lambda: _per_week(report, "flags", "reason"),
        "returns": lambda: _csv_returns(report),
        "refunds": lambda: [
            ["week_start", "currency", "refunded"],
            *([w.start.isoformat(), report.currency, str(w.refunded)] for w in report.weeks),
        ],
    }
    if view not in weekly:
        raise UnknownView(view)
    return weekly[view]()


def safe_cell(value: Any) -> Any:
    """A text cell a spreadsheet would run as a formula (= + - @ tab CR first) gets a leading quote."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def to_csv(rows: Sequence[Sequence[Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for row in rows:
        writer.writerow([safe_cell(value) for value in row])
    return out.getvalue()
