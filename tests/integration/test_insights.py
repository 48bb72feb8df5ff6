"""Insights counters kept from the real stream records, the report built from them, rebuild, the page.

The system runs in-process on moto: webhooks, the sweep, the survey page, the staff page and the returns
workflow write the source tables; the stream records of the four tables reach ``count_insights`` (and
flagging) through the event source mappings declared in infra/aftercare.yaml, as Lambda would deliver them.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

import boto3
import pytest

from aftercare.devstack.lambdas import LocalLambdaContext
from aftercare.devstack.streams import StreamPump, _jsonable
from functions.composition import adapters
from functions.workspace import session
from tests.helpers import ApiClient, bearer
from tests.insights_story import MONDAY, Store, answer, at, infra_pump, links_to, story
from tests.refund_receiver import RefundReceiver
from tests.shop import run_sweep

pytestmark = pytest.mark.integration


@pytest.fixture
def pump(frozen: Any) -> StreamPump:
    return infra_pump(frozen)


@pytest.fixture
def receiver() -> Iterator[RefundReceiver]:
    receiver = RefundReceiver()
    yield receiver
    receiver.close()


@pytest.fixture
def store(api: ApiClient, operator_key: str, frozen: Any, receiver: RefundReceiver) -> Store:
    return Store(api, operator_key, "berlin-tours", receiver.url)


def counters(aws_stack: Any, store_id: str) -> dict[str, dict[str, Any]]:
    """A store's stored week items, zero counters left out (a moved contribution leaves a zero)."""
    client = boto3.client("dynamodb")
    items = client.query(
        TableName=aws_stack.tables["InsightsTable"],
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": f"{store_id}#week"}},
    )["Items"]
    return {
        item["sk"]["S"]: {
            name: value for name, value in item.items() if not ("N" in value and Decimal(value["N"]) == 0)
        }
        for item in items
    }


def every_stream_record(aws_stack: Any) -> list[dict[str, Any]]:
    """Every record still in the four source streams, as Lambda hands them over."""
    streams = boto3.client("dynamodbstreams")
    records = []
    for table in ("ResponsesTable", "OutreachTable", "FlagsTable", "ReturnsTable"):
        arn = aws_stack.stream_arns[table]
        for shard in streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
            iterator = streams.get_shard_iterator(
                StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
            )["ShardIterator"]
            for record in streams.get_records(ShardIterator=iterator, Limit=1000)["Records"]:
                records.append({**_jsonable(record), "eventSourceARN": arn})
    return records


# ------------------------------------------------------------------------------ counting


def test_answers_count_in_their_week_per_product_and_type(store: Store, pump: StreamPump) -> None:
    store.delivered("A-1")
    at(timedelta(days=1, minutes=1))
    run_sweep()
    answer(store.api, links_to("sam@example.com")[3], 4)
    pump.pump_until_quiet()

    found = store.report()
    week = found.weeks[-1]
    assert week.start == MONDAY
    assert (week.reviews, week.average_stars) == (1, 4.0)
    assert (week.sent, week.answered, week.response_rate) == ({"review": 1}, {"review": 1}, {"review": 1.0})
    assert [(p.key, p.name, p.count, p.average) for p in found.products] == [("tour", "Product tour", 1, 4.0)]
    assert [(p.key, p.count, p.average) for p in found.product_types] == [("experience", 1, 4.0)]
    assert [w.reviews for w in found.weeks[:-1]] == [0, 0, 0]  # every week of the range, empty ones too


def test_a_changed_answer_moves_its_stars_and_counts_once(store: Store, pump: StreamPump) -> None:
    store.delivered("A-1")
    at(timedelta(days=1, minutes=1))
    run_sweep()
    answer(store.api, links_to("sam@example.com")[2], 3)
    pump.pump_until_quiet()
    assert store.report().weeks[-1].average_stars == 3.0

    answer(store.api, links_to("sam@example.com")[4], 5)
    pump.pump_until_quiet()

    week = store.report().weeks[-1]
    assert (week.reviews, week.average_stars) == (1, 5.0)
    assert store.report().products[0].average == 5.0


def test_a_request_without_answer_lowers_the_response_rate_and_reminders_count_apart(
    api: ApiClient, operator_key: str, frozen: Any, receiver: RefundReceiver, pump: StreamPump
) -> None:
    store = Store(api, operator_key, "quiet-shop", receiver.url, reminder="P2D")
    store.delivered("Q-1", socks=False)
    store.delivered("Q-2", email="kim@example.com", socks=False)
    at(timedelta(days=1, minutes=1))
    run_sweep()
    answer(api, links_to("kim@example.com")[4], 5)
    at(timedelta(days=3, minutes=2))
    run_sweep()  # Sam, who did not answer, is reminded
    pump.pump_until_quiet()

    week = store.report().weeks[-1]
    assert week.sent == {"review": 2} and week.answered == {"review": 1}
    assert week.response_rate == {"review": 0.5} and week.overall_response_rate == 0.5
    assert week.reminders == {"review": 1}


def test_flags_replies_returns_and_refunds_are_counted(store: Store, pump: StreamPump) -> None:
    story(store, pump)

    found = store.report()
    first, second = found.weeks[-2], found.weeks[-1]
    assert (first.start, second.start) == (MONDAY, MONDAY + timedelta(weeks=1))
    assert (first.reviews, first.average_stars) == (2, 5.0)  # Sam's 3 became a 5: counted once
    assert (second.detractors, second.nps) == (1, -100.0)
    assert second.flags == {"detractor": 1}
    assert found.first_reply_p50 == found.first_reply_p90 == timedelta(hours=2)  # replied after 2 h
    assert found.within_sla == 1.0 and found.sla == timedelta(hours=24)
    assert second.returns == {"Does not fit": 1} and second.outcomes == {"refund": 1}
    assert second.refunded == Decimal("9.00")
    assert found.refunded == Decimal("9.00")
    assert found.nps == -100.0 and found.average_stars == 5.0


def test_a_redelivered_batch_counts_once(store: Store, pump: StreamPump, frozen: Any) -> None:
    story(store, pump)
    before = counters(frozen, store.id)
    records = every_stream_record(frozen)
    assert len(records) > 20

    # When Lambda delivers every record again (a retried batch, a replayed shard)
    from app import count_insights

    for start in range(0, len(records), 100):
        result = count_insights(
            {"Records": records[start : start + 100]}, LocalLambdaContext("count_insights")
        )
        assert result == {"batchItemFailures": []}

    # Then nothing is counted twice
    assert counters(frozen, store.id) == before


def test_an_unknown_table_or_a_deletion_changes_nothing(store: Store, pump: StreamPump, frozen: Any) -> None:
    story(store, pump)
    before = counters(frozen, store.id)
    records = every_stream_record(frozen)
    from app import count_insights

    removals = [{**r, "eventName": "REMOVE", "eventID": r["eventID"] + "-x"} for r in records]
    elsewhere = [
        {**r, "eventSourceARN": "arn:aws:dynamodb:us-east-1:1:table/Other/stream/1"} for r in records
    ]
    count_insights({"Records": (removals + elsewhere)[:100]}, LocalLambdaContext("count_insights"))
    assert counters(frozen, store.id) == before


# ------------------------------------------------------------------------------ rebuild


def rebuild(store: Store) -> Any:
    return store.api.post(f"/v1/admin/stores/{store.id}/insights/rebuild", headers=bearer(store.operator_key))


def test_rebuild_equals_incremental_counting_and_twice_equals_once(
    store: Store, pump: StreamPump, frozen: Any
) -> None:
    story(store, pump)
    incremental = counters(frozen, store.id)
    client = boto3.client("dynamodb")
    for week in incremental:  # the counters are lost
        client.delete_item(
            TableName=frozen.tables["InsightsTable"],
            Key={"pk": {"S": f"{store.id}#week"}, "sk": {"S": week}},
        )

    first = rebuild(store)
    assert first.status == 200, first.text
    assert counters(frozen, store.id) == incremental
    assert first.json["weeks"] == 2
    read = first.json["read"]
    assert (read["answers"], read["flags"], read["returns"]) == (3, 1, 1) and read["requests"] >= 4

    assert rebuild(store).status == 200
    assert counters(frozen, store.id) == incremental


def test_rebuild_refuses_without_the_operator_key_and_names_unknown_stores(
    store: Store, api: ApiClient
) -> None:
    path = f"/v1/admin/stores/{store.id}/insights/rebuild"
    assert api.post(path).status == 401
    assert api.post(path, headers=bearer(store.admin_key)).status == 401  # a store key is not enough
    missing = api.post("/v1/admin/stores/nobody/insights/rebuild", headers=bearer(store.operator_key))
    assert missing.status == 404 and missing.json["error"] == "not_found"


def test_stores_are_isolated(
    store: Store, api: ApiClient, operator_key: str, receiver: RefundReceiver, pump: StreamPump, frozen: Any
) -> None:
    other = Store(api, operator_key, "berlin-tours-2", receiver.url)  # its id starts with the first one's
    story(store, pump)
    mine = counters(frozen, store.id)

    assert other.report().weeks[-1].answers == 0
    assert counters(frozen, other.id) == {}
    assert rebuild(other).status == 200
    assert counters(frozen, other.id) == {}
    assert counters(frozen, store.id) == mine


# ------------------------------------------------------------------------------ the page and CSV


def signed_in(store: Store) -> dict[str, str]:
    token = session.issue(adapters().signing_key, store.id, f"care@{store.id}.example.com", "staff")
    return {"cookie": f"{session.COOKIE}={token}"}


def test_page_shows_the_range_with_charts_and_tables(store: Store, pump: StreamPump) -> None:
    story(store, pump)
    page = store.api.get("/workspace/insights", query={"weeks": "4"}, headers=signed_in(store))
    assert page.status == 200, page.text
    assert page.text.count('role="img"') >= 10
    assert "Product tour" in page.text and "NPS detractor" in page.text and "€9.00" in page.text
    assert 'aria-current="page">4 weeks' in page.text
    assert "<script" not in page.text


def test_csv_exports_are_attachments_safe_from_formulas(store: Store, pump: StreamPump) -> None:
    story(store, pump)
    store.returned("A-2", reason='=HYPERLINK("http://evil.example")')
    pump.pump_until_quiet()

    response = store.api.get(
        "/workspace/insights.csv", query={"view": "returns", "weeks": "13"}, headers=signed_in(store)
    )
    assert response.status == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"].startswith('attachment; filename="insights-berlin-tours-')
    rows = list(csv.reader(io.StringIO(response.text.lstrip("\ufeff"))))
    assert rows[0] == ["week_start", "by", "value", "returns"]
    assert ["2026-11-09", "reason", "Does not fit", "1"] in rows
    assert ["2026-11-09", "reason", '\'=HYPERLINK("http://evil.example")', "1"] in rows

    nps = store.api.get(
        "/workspace/insights.csv", query={"view": "nps", "weeks": "4"}, headers=signed_in(store)
    )
    nps_rows = list(csv.reader(io.StringIO(nps.text.lstrip("\ufeff"))))
    assert nps_rows[-1] == ["2026-11-09", "0", "0", "1", "-100.0"]
    assert len(nps_rows) == 5  # a header and one row per week


@pytest.mark.parametrize(
    "query", [{"weeks": "5"}, {"weeks": "-4"}, {"weeks": "four"}, {"weeks": "4", "view": "secrets"}]
)
def test_bad_ranges_and_views_are_friendly_errors(store: Store, query: dict[str, str]) -> None:
    path = "/workspace/insights.csv" if "view" in query else "/workspace/insights"
    response = store.api.get(path, query=query, headers=signed_in(store))
    assert response.status == 400
    assert response.headers["content-type"].startswith("text/html")
    assert "Traceback" not in response.text


def test_insights_need_a_session(store: Store) -> None:
    for path in ("/workspace/insights", "/workspace/insights.csv?view=nps"):
        response = store.api.get(path)
        assert response.status == 303 and "/workspace/sign-in" in response.headers["location"]
