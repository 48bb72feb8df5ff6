"""Insights arithmetic without AWS: NPS, weeks in the store's timezone, contributions, percentiles, CSV."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from functions.insights import charts, counting, views
from functions.insights.counting import Contribution, Product, WeekChange, WeekCounts, week_of
from functions.insights.report import InvalidRange, build, nps, percentile
from functions.insights.service import StoreFacts, contribution, product_of
from functions.shared.i18n import Translator
from functions.stores.models import Store, StoreConfig
from tests.helpers import minimal_store_config

pytestmark = pytest.mark.unit

BERLIN = "Europe/Berlin"
MONDAY = date(2026, 11, 2)


class Weeks:
    """The report's one read, over weeks kept in memory (implements ``ports.Counters``)."""

    def __init__(self, changes: Iterable[Contribution] = ()) -> None:
        total = Contribution()
        for change in changes:
            total.merge(change)
        self.stored = {start: WeekCounts(start, dict(week.counts)) for start, week in total.weeks().items()}
        self.asked: list[tuple[date, date]] = []

    def apply(self, store_id: str, event_id: str, change: Contribution) -> bool:
        raise AssertionError("the report never writes")

    def weeks(self, store_id: str, first: date, last: date) -> tuple[list[WeekCounts], int]:
        self.asked.append((first, last))
        found = [week for start, week in self.stored.items() if first <= start <= last]
        return found, len(found)

    def replace(self, store_id: str, weeks: Iterable[WeekChange], *, since: date) -> int:
        raise AssertionError("the report never writes")


def store(timezone: str = BERLIN, **config: Any) -> Store:
    values = {**minimal_store_config("shop"), "timezone": timezone, "currency": "EUR", **config}
    return Store(
        config=StoreConfig.model_validate(values), created_at="2026-01-01T00:00:00Z", admin_key_hash="x"
    )


def facts(timezone: str = BERLIN) -> StoreFacts:
    return StoreFacts.of(store(timezone))


def answer_item(at: str, score: int, kind: str = "review", **more: Any) -> dict[str, Any]:
    return {
        "store_id": "shop",
        "kind": kind,
        "score": score,
        "first_responded_at": at,
        "responded_at": at,
        **more,
    }


TOUR = Product("tour", "Tour of the old town", "experience")


# ------------------------------------------------------------------------------ NPS and weeks


def test_nps_is_promoters_minus_detractors_in_percent() -> None:
    assert nps(5, 3, 2) == 30.0
    assert nps(0, 4, 0) == 0.0
    assert nps(0, 0, 3) == -100.0
    assert nps(1, 1, 1) == 0.0
    assert nps(2, 0, 1) == 33.3
    assert nps(0, 0, 0) is None


@pytest.mark.parametrize(
    ("score", "group"),
    [(10, "nps_p"), (9, "nps_p"), (8, "nps_a"), (7, "nps_a"), (6, "nps_d"), (0, "nps_d")],
)
def test_nps_groups(score: int, group: str) -> None:
    assert counting.nps_group(score) == group


def test_a_sunday_evening_answer_in_berlin_counts_in_that_week() -> None:
    sunday_late = datetime(2026, 11, 8, 22, 30, tzinfo=UTC)  # Sunday 23:30 in Berlin
    monday_early = datetime(2026, 11, 8, 23, 30, tzinfo=UTC)  # Monday 00:30 in Berlin, still Sunday in UTC
    assert week_of(sunday_late, BERLIN) == MONDAY
    assert week_of(monday_early, BERLIN) == MONDAY + timedelta(weeks=1)
    assert week_of(monday_early, "UTC") == MONDAY

    counted = contribution(counting.Source.RESPONSES, answer_item("2026-11-08T22:30:00Z", 4), facts(), TOUR)
    assert {week for week, _ in counted.counts} == {MONDAY}


def test_a_monday_in_new_york_starts_at_local_midnight() -> None:
    sunday_night = datetime(2026, 11, 9, 4, 30, tzinfo=UTC)  # Sunday 23:30 in New York, Monday in UTC
    assert week_of(sunday_night, "America/New_York") == MONDAY
    assert week_of(sunday_night, "UTC") == MONDAY + timedelta(weeks=1)


def test_weeks_across_the_daylight_saving_change_stay_mondays() -> None:
    before = datetime(2026, 10, 25, 0, 30, tzinfo=UTC)  # Sunday 02:30 CEST → clocks go back that night
    assert week_of(before, BERLIN) == date(2026, 10, 19)
    assert week_of(datetime(2026, 10, 25, 23, 30, tzinfo=UTC), BERLIN) == date(2026, 10, 26)


# ------------------------------------------------------------------------------ contributions


def test_a_changed_answer_moves_its_contribution() -> None:
    old = contribution(counting.Source.RESPONSES, answer_item("2026-11-03T10:00:00Z", 3), facts(), TOUR)
    new = contribution(
        counting.Source.RESPONSES,
        answer_item("2026-11-03T10:00:00Z", 5, responded_at="2026-11-12T10:00:00Z"),  # changed next week
        facts(),
        TOUR,
    )
    change = new.minus(old)
    assert change.counts == {
        (MONDAY, "st_s"): Decimal(2),
        (MONDAY, "p#4:tourTour of the old town"): Decimal(2),
        (MONDAY, "t#experience"): Decimal(2),
    }  # counts unchanged: one review, two more stars, in the week it was first given
    assert new.minus(new).empty


def test_packed_product_counters_add_up_and_keep_any_name() -> None:
    total = sum((counting.pack(1, stars) for stars in (5, 4, 1)), counting.pack(-1, -1))  # one taken out
    assert counting.unpack(total) == (2, 9)
    assert counting.unpack(counting.pack(150_000, 5 * 150_000)) == (150_000, 750_000)
    key = counting.product_key("sku#12:x", "Mug: #1 <b>")
    assert key == "p#8:sku#12:xMug: #1 <b>"
    assert counting.parse_product(key[2:]) == ("sku#12:x", "Mug: #1 <b>")


def test_a_renamed_product_is_one_product_under_its_newest_name() -> None:
    f = facts()
    changes = [
        contribution(
            counting.Source.RESPONSES, answer_item("2026-11-03T10:00:00Z", 2), f, Product("m", "Mug", "")
        ),
        contribution(
            counting.Source.RESPONSES, answer_item("2026-11-10T10:00:00Z", 4), f, Product("m", "Big mug", "")
        ),
    ]
    report = build(store(), 4, NOW, Weeks(changes))
    assert [(p.key, p.name, p.count, p.average) for p in report.products] == [("m", "Big mug", 2, 3.0)]


def test_answers_out_of_range_or_without_store_count_nothing() -> None:
    for item in (
        answer_item("2026-11-03T10:00:00Z", 6),  # six stars
        answer_item("2026-11-03T10:00:00Z", 11, kind="nps"),
        {"kind": "review", "score": 4, "first_responded_at": "2026-11-03T10:00:00Z"},
        None,
    ):
        assert contribution(counting.Source.RESPONSES, item, facts(), TOUR).empty


def test_product_name_and_type_come_from_the_request() -> None:
    request = {"products": [{"product_id": "tour", "name": "Old town tour", "product_type": "experience"}]}
    assert product_of({"product_id": "tour"}, request) == Product("tour", "Old town tour", "experience")
    assert product_of({"product_id": "mug", "product_name": "Mug"}, None) == Product("mug", "Mug", "")
    assert product_of({"product_id": ""}, request) is None


def test_requests_count_when_sent_and_answers_in_the_week_sent() -> None:
    sent = {"store_id": "shop", "kind": "review", "status": "sent", "sent_at": "2026-11-06T10:00:00Z"}
    answered = {**sent, "answered_at": "2026-11-10T08:00:00Z"}
    reminder = {**sent, "reminder_of": "review-1"}
    assert contribution(counting.Source.OUTREACH, {**sent, "status": "pending"}, facts()).empty
    assert contribution(counting.Source.OUTREACH, sent, facts()).counts == {(MONDAY, "sent#review"): 1}
    assert contribution(counting.Source.OUTREACH, answered, facts()).counts == {
        (MONDAY, "sent#review"): 1,
        (MONDAY, "rq#review"): 1,
    }
    assert contribution(counting.Source.OUTREACH, reminder, facts()).counts == {(MONDAY, "rem#review"): 1}


def test_flag_reasons_follow_what_flagging_writes() -> None:
    from functions.flags import evaluate
    from functions.flags.sentiment import Sentiment
    from functions.stores.models import AlertPolicy

    class Negative:
        def analyze(self, text: str, language: str | None) -> Sentiment:
            return Sentiment(label="NEGATIVE", language="en", confidence=0.9, analyzer="local")

    policy = AlertPolicy()
    cases = {
        "low_stars": {"kind": "review", "score": 1, "comment": ""},
        "detractor": {"kind": "nps", "score": 3, "comment": ""},
        "keyword": {"kind": "review", "score": 5, "comment": "it was broken"},
        "negative_text": {"kind": "review", "score": 5, "comment": "meh"},
    }
    for reason, answer in cases.items():
        verdict = evaluate.evaluate(answer, policy, Negative())  # type: ignore[arg-type]
        assert counting.flag_reason({"reasons": verdict.reasons}) == reason, verdict.reasons
    assert counting.flag_reason({"reasons": []}) == "other"


def test_a_flag_counts_its_first_reply_against_its_deadline() -> None:
    flag = {
        "store_id": "shop",
        "created_at": "2026-11-03T10:00:00Z",
        "sla_deadline": "2026-11-03T14:00:00Z",
        "reasons": ["NPS 2: a detractor (0 to 6)"],
    }
    raised = contribution(counting.Source.FLAGS, flag, facts())
    assert raised.counts == {(MONDAY, "fl#detractor"): 1}
    late = {**flag, "first_reply_at": "2026-11-03T15:00:00Z", "seconds_to_first_reply": 5 * 3600}
    counted = contribution(counting.Source.FLAGS, late, facts()).counts
    assert counted[(MONDAY, "fr_n")] == 1 and counted[(MONDAY, "fr#5")] == 1  # at most 8 hours
    assert (MONDAY, "fr_in") not in counted


def test_returns_count_outcomes_when_final_and_refunds_when_confirmed() -> None:
    request = {
        "sk": "RETURN",
        "store_id": "shop",
        "reason": "Too small",
        "outcome": "refund",
        "status": "awaiting the item",
        "requested_at": "2026-11-03T10:00:00Z",
        "amount": "19.90",
        "currency": "EUR",
    }
    assert contribution(counting.Source.RETURNS, request, facts()).counts == {(MONDAY, "rt#Too small"): 1}
    done = {**request, "status": "completed", "refund_status": "done", "refunded_at": "2026-11-10T09:00:00Z"}
    assert contribution(counting.Source.RETURNS, done, facts()).counts == {
        (MONDAY, "rt#Too small"): 1,
        (MONDAY, "ro#refund"): 1,
        (MONDAY + timedelta(weeks=1), "rf#EUR"): Decimal("19.90"),
    }
    refused = {**request, "status": "refused"}
    assert (MONDAY, "ro#refused") in contribution(counting.Source.RETURNS, refused, facts()).counts
    assert contribution(counting.Source.RETURNS, {**request, "sk": "STEP#1"}, facts()).empty


# ------------------------------------------------------------------------------ the report


NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)  # a Wednesday


def test_every_week_of_the_range_is_there_oldest_first_even_empty() -> None:
    counters = Weeks()
    report = build(store(), 4, NOW, counters)
    assert [week.start for week in report.weeks] == [date(2026, 11, d) for d in (2, 9, 16, 23)]
    assert counters.asked == [(date(2026, 11, 2), date(2026, 11, 23))]  # one read for the whole range
    assert all(week.nps is None and week.average_stars is None and week.answers == 0 for week in report.weeks)
    assert report.reads == 0 and report.first_reply_p50 is None and report.within_sla is None
    assert report.products == [] and report.refunded == Decimal(0)


@pytest.mark.parametrize("weeks", [0, 1, 5, 12, 53, 100, -4, True])
def test_only_4_13_or_52_weeks(weeks: int) -> None:
    with pytest.raises(InvalidRange, match="4, 13, 52"):
        build(store(), weeks, NOW, Weeks())


def test_the_report_adds_up_weeks_products_and_replies() -> None:
    f = facts()
    changes = [
        contribution(counting.Source.RESPONSES, answer_item("2026-11-10T10:00:00Z", 9, kind="nps"), f),
        contribution(counting.Source.RESPONSES, answer_item("2026-11-10T11:00:00Z", 3, kind="nps"), f),
        contribution(counting.Source.RESPONSES, answer_item("2026-11-24T11:00:00Z", 10, kind="nps"), f),
        contribution(counting.Source.RESPONSES, answer_item("2026-11-10T10:00:00Z", 4), f, TOUR),
        contribution(counting.Source.RESPONSES, answer_item("2026-11-24T10:00:00Z", 5), f, TOUR),
        contribution(
            counting.Source.RESPONSES, answer_item("2026-11-24T10:00:00Z", 2), f, Product("mug", "Mug", "")
        ),
    ]
    for minutes in (10, 20, 50, 300):
        flag = {
            "store_id": "shop",
            "created_at": "2026-11-17T10:00:00Z",
            "first_reply_at": clock_plus("2026-11-17T10:00:00Z", minutes),
            "seconds_to_first_reply": minutes * 60,
            "sla_deadline": "2026-11-17T11:00:00Z",
            "reasons": ['mentions "broken"'],
        }
        changes.append(contribution(counting.Source.FLAGS, flag, f))
    report = build(store(), 4, NOW, Weeks(changes))

    second = report.weeks[1]
    assert (second.promoters, second.detractors, second.nps) == (1, 1, 0.0)
    assert report.nps == 33.3  # 2 promoters, 1 detractor of 3
    assert report.average_stars == round(11 / 3, 2)
    assert [(p.key, p.count, p.average) for p in report.products] == [("tour", 2, 4.5), ("mug", 1, 2.0)]
    assert [(t.key, t.count) for t in report.product_types] == [("experience", 2), ("", 1)]
    assert report.weeks[2].flags == {"keyword": 4}
    assert report.first_reply_p50 == timedelta(minutes=30)  # 2 of 4 replies took at most 30 minutes
    assert report.first_reply_p90 == timedelta(hours=8)
    assert report.within_sla == 0.75 and report.reads == 3


def clock_plus(at: str, minutes: int) -> str:
    moment = datetime.fromisoformat(at.replace("Z", "+00:00")) + timedelta(minutes=minutes)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_percentiles_are_bucket_bounds() -> None:
    assert percentile([], 0.5) is None
    assert percentile([0] * 14, 0.5) is None
    assert percentile([2, 1, 0, 1], 0.5) == timedelta(minutes=15)
    assert percentile([2, 1, 0, 1], 0.9) == timedelta(hours=2)
    assert percentile([1], 0.9) == timedelta(minutes=15)
    slow = [0] * len(counting.BUCKETS) + [3]
    assert percentile(slow, 0.5) is None  # slower than every bound: the page says "more than 30 days"
    assert counting.bucket_of(15 * 60) == 0 and counting.bucket_of(15 * 60 + 1) == 1
    assert counting.bucket_of(10**9) == len(counting.BUCKETS)


# ------------------------------------------------------------------------------ CSV and charts


def test_csv_cells_a_spreadsheet_would_run_are_defused() -> None:
    rows: list[list[Any]] = [
        ["name", "count"],
        ["=1+1", 3],
        ["+cmd", -2],
        ["-x", 0],
        ["@SUM(A1)", 1],
        ["fine", 1],
    ]
    text = views.to_csv(rows)
    assert text.splitlines() == ["name,count", "'=1+1,3", "'+cmd,-2", "'-x,0", "'@SUM(A1),1", "fine,1"]


def test_unknown_csv_views_are_refused() -> None:
    report = build(store(), 4, NOW, Weeks())
    for view in views.VIEWS:
        assert views.csv_rows(report, view)[0]
    with pytest.raises(views.UnknownView):
        views.csv_rows(report, "everything")


def test_charts_have_text_alternatives_and_escape_labels() -> None:
    chart = charts.bars(
        "c", "Stars <per> product", "A & B", [charts.Bar("<script>x</script>", 4, "4")], top=5
    )
    svg = chart.__html__()
    assert 'role="img"' in svg and 'aria-labelledby="c-t c-d"' in svg
    assert '<title id="c-t">Stars &lt;per&gt; product</title>' in svg and "A &amp; B" in svg
    assert "<script>" not in svg and "&lt;script&gt;" in svg


def test_every_section_renders_in_every_locale() -> None:
    report = build(
        store(),
        13,
        NOW,
        Weeks(
            [
                contribution(
                    counting.Source.RESPONSES, answer_item("2026-11-10T10:00:00Z", 4), facts(), TOUR
                ),
                contribution(
                    counting.Source.FLAGS,
                    {
                        "store_id": "shop",
                        "created_at": "2026-11-10T10:00:00Z",
                        "first_reply_at": "2026-11-10T12:00:00Z",
                        "reasons": ["1 of 5 stars (the store flags 2 or fewer)"],
                    },
                    facts(),
                ),
            ]
        ),
    )
    for locale in ("en", "ar", "fa", "kk", "ka"):
        formats = views.Formats(locale, "EUR")
        found = views.sections(report, Translator(locale), formats)
        assert [section.view for section in found] == list(views.VIEWS)
        assert all(section.charts and section.tables for section in found)
        shown = [line for section in found for line in section.lines] + [
            cell for section in found for table in section.tables for row in table.rows for cell in row
        ]
        assert not [text for text in shown if "{" in text], locale  # every placeholder was filled


def test_return_reasons_are_shown_in_the_stores_language_and_its_own_reasons_as_written() -> None:
    def requested(reason: str) -> Contribution:
        item = {"sk": "RETURN", "store_id": "shop", "reason": reason, "requested_at": "2026-11-03T10:00:00Z"}
        return contribution(counting.Source.RETURNS, item, facts())

    stored = ["damaged", "does_not_fit", "Too small", "offered by staff: no note", ""]
    report = build(store(), 4, NOW, Weeks(requested(reason) for reason in stored))
    expected = {
        "en": [
            "Damaged or defective",
            "Does not fit",
            "Too small",
            "offered by staff: no note",
            "No reason given",
        ],
        "ar": ["تالف أو معيب", "المقاس غير مناسب", "Too small", "عرضه الموظفون: بلا ملاحظة", "بلا سبب"],
    }
    for locale, texts in expected.items():
        found = views.sections(report, Translator(locale), views.Formats(locale, "EUR"))
        returns = next(section for section in found if section.view == "returns")
        assert sorted(row[0] for row in returns.tables[0].rows) == sorted(texts), locale
        chart = str(returns.charts[0].svg)
        assert all(text in chart for text in texts[:3]), locale
        assert "damaged" not in chart and "does_not_fit" not in chart, locale
