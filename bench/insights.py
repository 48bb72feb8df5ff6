"""The insights page over 52 weeks with 100,000 stored answers: DynamoDB reads and server time.

Seeding goes through the counting code, never hand-written counters:

* the bulk (100,000 answers over 52 weeks, 300 products in 12 types, review requests, flags with
  replies, returns and refunds) is summed by the same per-item contributions the stream consumer and
  ``aftercare insights rebuild`` use, and written with the rebuild's writer (one item per week);
* a sample of answers is then written to the Responses table for real and its stream records are handed to
  the ``count_insights`` consumer in batches of 100, as Lambda would (then handed over again, to show a
  redelivered batch counts once).

Figures: items read by the 52-week report (goal: at most 60, whatever the number of answers), its server
time (the report alone, and the whole page rendered) against two baselines measured in the same run: one
GetItem round trip to the same moto, and the page of a store with nothing stored. Also the consumer's app
CPU per stream record. moto runs in its own process, so this process's CPU time is the application's.
"""

from __future__ import annotations

import contextlib
import io
import random
import time
from datetime import UTC, date, datetime, timedelta
from typing import Any

from bench.harness import CallCounter, moto_server, provision_local, save, summarize

ANSWERS = 100_000
STREAMED = 300  # of them, written for real and counted from their stream records
WEEKS = 52
PRODUCTS = 300
TYPES = 12
ROUNDS = 10
STORE = "insights-shop"
EMPTY = "empty-shop"
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
GOAL_READS = 60


def _answers(count: int, seed: int = 7) -> list[dict[str, Any]]:
    """``count`` answers spread over the report's 52 weeks: 70% reviews of 300 products, 30% NPS."""
    from functions.insights.counting import week_of

    rng = random.Random(seed)  # a benchmark's data, not security
    first = week_of(NOW, "Europe/Berlin") - timedelta(weeks=WEEKS - 1)
    span = int((NOW - datetime(first.year, first.month, first.day, tzinfo=UTC)).total_seconds()) - 7200
    found = []
    for index in range(count):
        at = NOW - timedelta(seconds=rng.randrange(span))
        review = index % 10 < 7
        product = rng.randrange(PRODUCTS)
        found.append(
            {
                "store_id": STORE,
                "order_id": f"o{index}",
                "outreach_id": f"{'review' if review else 'nps'}-{index}",
                "product_id": f"p{product}" if review else "",
                "product_name": f"Product {product}" if review else "",
                "kind": "review" if review else "nps",
                "score": rng.choice([1, 2, 3, 4, 4, 5, 5, 5]) if review else rng.randrange(11),
                "responded_at": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "first_responded_at": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            }
        )
    return found


def _request(answer: dict[str, Any]) -> dict[str, Any]:
    """The review request or survey an answer answered (sent a day before it)."""
    sent = datetime.fromisoformat(answer["responded_at"].replace("Z", "+00:00")) - timedelta(days=1)
    product = int(answer["product_id"][1:]) if answer["product_id"] else 0
    return {
        "store_id": STORE,
        "order_id": answer["order_id"],
        "outreach_id": answer["outreach_id"],
        "kind": answer["kind"],
        "status": "sent",
        "sent_at": sent.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "answered_at": answer["responded_at"],
        "products": [
            {
                "product_id": answer["product_id"],
                "name": answer["product_name"],
                "product_type": f"t{product % TYPES}",
            }
        ]
        if answer["product_id"]
        else [],
    }


def _extras(answers: list[dict[str, Any]]) -> list[tuple[Any, dict[str, Any]]]:
    """Flags (every low answer, replied), unanswered requests and returns with refunds."""
    from functions.insights.counting import Source

    found: list[tuple[Any, dict[str, Any]]] = []
    for index, answer in enumerate(answers):
        low = answer["score"] <= (2 if answer["kind"] == "review" else 6)
        if low and index % 3 == 0:
            took = 600 + (index * 7919) % (3 * 86400)
            created = datetime.fromisoformat(answer["responded_at"].replace("Z", "+00:00"))
            found.append(
                (
                    Source.FLAGS,
                    {
                        "store_id": STORE,
                        "created_at": answer["responded_at"],
                        "first_reply_at": (created + timedelta(seconds=took)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                        "seconds_to_first_reply": took,
                        "sla_deadline": (created + timedelta(hours=24)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                        "reasons": ["1 of 5 stars (the store flags 2 or fewer)"],
                    },
                )
            )
        if index % 4 == 0:  # a request nobody answered
            found.append((Source.OUTREACH, {**_request(answer), "answered_at": None}))
        if index % 50 == 0:
            found.append(
                (
                    Source.RETURNS,
                    {
                        "sk": "RETURN",
                        "store_id": STORE,
                        "reason": ["Does not fit", "Damaged", "Changed my mind"][index % 3],
                        "outcome": "refund",
                        "status": "completed",
                        "requested_at": answer["responded_at"],
                        "refund_status": "done",
                        "refunded_at": answer["responded_at"],
                        "amount": f"{10 + index % 90}.90",
                        "currency": "EUR",
                    },
                )
            )
    return found


def _known(request: dict[str, Any]) -> Any:
    """The request lookup the counting code asks, answering the one request it will ask for."""
    return lambda order_id, outreach_id: request


def _seed_bulk(store: Any, answers: list[dict[str, Any]]) -> dict[str, Any]:
    """Sum every item's contribution (the consumer's and the rebuild's code) and write the weeks."""
    from functions import composition
    from functions.insights.counting import Contribution, Source
    from functions.insights.service import StoreFacts, answer_product, contribution

    facts = StoreFacts.of(store)
    requests = {(a["order_id"], a["outreach_id"]): _request(a) for a in answers}
    total = Contribution()
    started = time.process_time()
    for answer in answers:
        request = requests[(answer["order_id"], answer["outreach_id"])]
        product = answer_product(answer, _known(request))
        total.merge(contribution(Source.RESPONSES, answer, facts, product))
        total.merge(contribution(Source.OUTREACH, request, facts))
    extras = _extras(answers)
    for source, item in extras:
        total.merge(contribution(source, item, facts))
    cpu = time.process_time() - started
    weeks = total.weeks()
    writes = composition.adapters().insights.replace(store.id, weeks.values(), since=date.min)
    return {
        "answers": len(answers),
        "other_items": len(extras),
        "weeks": len(weeks),
        "writes": writes,
        "cpu_s": cpu,
    }


def _stream_records(provisioned: Any, answers: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Write the answers (and their requests) for real; return the Responses stream records they made."""
    import boto3

    from aftercare.devstack.streams import _jsonable
    from functions.shared import aws
    from functions.shared.dynamo import to_item

    client = aws.dynamodb()
    for answer in answers:
        request = _request(answer)
        client.put_item(
            TableName=provisioned.tables["OutreachTable"],
            Item=to_item({"pk": f"{STORE}#{answer['order_id']}", "sk": answer["outreach_id"], **request}),
        )
        client.put_item(
            TableName=provisioned.tables["ResponsesTable"],
            Item=to_item(
                {"pk": f"{STORE}#{answer['order_id']}", "sk": f"{answer['outreach_id']}#x", **answer}
            ),
        )
    streams = boto3.client("dynamodbstreams")
    arn = provisioned.stream_arns["ResponsesTable"]
    records: list[dict[str, Any]] = []
    for shard in streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
        iterator: str | None = streams.get_shard_iterator(
            StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        while iterator:
            page = streams.get_records(ShardIterator=iterator, Limit=1000)
            records += [{**_jsonable(r), "eventSourceARN": arn} for r in page["Records"]]
            iterator = page.get("NextShardIterator") if page["Records"] else None
    return records


def _consume(records: list[dict[str, Any]]) -> dict[str, Any]:
    from aftercare.devstack.lambdas import LocalLambdaContext
    from functions.insights.handlers import count_insights

    context = LocalLambdaContext(function_name="count_insights")
    cpu, wall = time.process_time(), time.perf_counter()
    for start in range(0, len(records), 100):
        with contextlib.redirect_stdout(io.StringIO()):
            result = count_insights({"Records": records[start : start + 100]}, context)
        assert result == {"batchItemFailures": []}, result
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    return {
        "records": len(records),
        "app_cpu_ms_per_record": round(cpu * 1000 / max(len(records), 1), 3),
        "records_per_second": round(len(records) / wall, 1),
    }


def _timed(call: Any, rounds: int = ROUNDS) -> tuple[dict[str, float], dict[str, float]]:
    call()  # warm
    cpu, wall = [], []
    for _ in range(rounds):
        started_cpu, started_wall = time.process_time(), time.perf_counter()
        call()
        cpu.append((time.process_time() - started_cpu) * 1000)
        wall.append((time.perf_counter() - started_wall) * 1000)
    return summarize(cpu), summarize(wall)


def _measure(provisioned: Any, api: Any) -> dict[str, Any]:
    from functions import composition
    from functions.insights import report
    from functions.shared import aws
    from functions.workspace import session

    root = composition.adapters()
    store = root.stores.get(STORE)
    counter = CallCounter()
    counter.attach(aws.dynamodb(), "dynamodb")
    built = report.build(store, WEEKS, NOW, root.insights)
    calls = dict(counter.calls)
    figures: dict[str, Any] = {
        "items_read_52_weeks": built.reads,
        "dynamodb_calls_52_weeks": calls,
        "answers_in_report": sum(w.answers for w in built.weeks),
        "products_in_report": len(built.products),
    }
    for weeks in (4, 13):
        figures[f"items_read_{weeks}_weeks"] = report.build(store, weeks, NOW, root.insights).reads
    figures["kilobytes_read_52_weeks"] = _kilobytes(
        provisioned, built.first.isoformat(), built.last.isoformat()
    )
    key = {"pk": {"S": f"{STORE}#week"}, "sk": {"S": built.last.isoformat()}}
    table = provisioned.tables["InsightsTable"]

    def signed_in(store_id: str) -> dict[str, str]:
        token = session.issue(root.signing_key, store_id, f"care@{store_id}.example.com", "staff")
        return {"cookie": f"{session.COOKIE}={token}"}

    cookie, empty_cookie = signed_in(STORE), signed_in(EMPTY)

    def page(headers: dict[str, str]) -> None:
        answer = api.get("/workspace/insights", query={"weeks": "52"}, headers=headers)
        assert answer.status == 200, (answer.status, answer.text[-600:])

    cases = {
        "baseline_one_getitem": lambda: aws.dynamodb().get_item(TableName=table, Key=key),
        "report_52_weeks": lambda: report.build(store, WEEKS, NOW, root.insights),
        "baseline_empty_page_52_weeks": lambda: page(empty_cookie),
        "page_52_weeks": lambda: page(cookie),
    }
    for name, call in cases.items():
        cpu, wall = _timed(call)
        figures[name] = {"app_cpu_ms": cpu, "wall_ms": wall}
    return figures


def _kilobytes(provisioned: Any, first: str, last: str) -> float:
    """The size of the items the 52-week query reads (DynamoDB bills reads by size: 4 KB units)."""
    import json

    from functions.shared import aws

    items = aws.dynamodb().query(
        TableName=provisioned.tables["InsightsTable"],
        KeyConditionExpression="pk = :pk AND sk BETWEEN :a AND :b",
        ExpressionAttributeValues={":pk": {"S": f"{STORE}#week"}, ":a": {"S": first}, ":b": {"S": last}},
    )["Items"]
    return round(sum(len(json.dumps(item)) for item in items) / 1024, 1)


def _create_stores(api: Any, operator_key: str) -> None:
    from tests.helpers import bearer, minimal_store_config

    for store_id in (STORE, EMPTY):
        config = {**minimal_store_config(store_id), "timezone": "Europe/Berlin", "currency": "EUR"}
        created = api.post("/v1/admin/stores", json_body={"config": config}, headers=bearer(operator_key))
        assert created.status == 201, created.text


def run(answers: int = ANSWERS) -> dict[str, Any]:
    import app as application
    from functions import composition
    from functions.shared import clock
    from tests.helpers import ApiClient

    with moto_server():
        provisioned = provision_local("bench-insights")
        clock.clock.freeze(NOW)
        api = ApiClient(application.app)
        _create_stores(api, provisioned.secret_values["OperatorKeySecret"])
        everything = _answers(answers)
        bulk, streamed = everything[: answers - STREAMED], everything[answers - STREAMED :]
        started = time.perf_counter()
        seeded = _seed_bulk(composition.adapters().stores.get(STORE), bulk)
        records = _stream_records(provisioned, streamed)
        consumed = _consume(records)
        before = composition.adapters().insights.weeks(STORE, NOW.date() - timedelta(weeks=60), NOW.date())[0]
        _consume(records[:100])  # the same records again: a redelivered batch
        after = composition.adapters().insights.weeks(STORE, NOW.date() - timedelta(weeks=60), NOW.date())[0]
        seeded["seconds"] = round(time.perf_counter() - started, 1)
        figures = {
            "answers_stored": answers,
            "seeding": seeded,
            "stream": {**consumed, "redelivered_batch_counted_once": before == after},
            **_measure(provisioned, api),
        }
        clock.clock.reset()
    save("insights", figures)
    return figures


def _line(name: str, entry: dict[str, Any], base: float) -> str:
    wall, cpu = entry["wall_ms"], entry["app_cpu_ms"]
    ratio = wall["median"] / base if base else 0
    return f"  {name:<30}{wall['median']:>9.2f} / {wall['p95']:<8.2f}{cpu['median']:>10.2f}{ratio:>10.1f}x"


def report(figures: dict[str, Any]) -> str:
    reads = figures["items_read_52_weeks"]
    goal = "met" if reads <= GOAL_READS else "MISSED"
    base = figures["baseline_one_getitem"]["wall_ms"]["median"]
    stream = figures["stream"]
    return "\n".join(
        [
            f"Insights ({figures['answers_stored']:,} stored answers over 52 weeks, "
            f"{figures['products_in_report']} products; moto in its own process)",
            f"  DynamoDB items read, 52 weeks  {reads:>8}   (goal <= {GOAL_READS}: {goal}; "
            f"13 weeks: {figures['items_read_13_weeks']}, 4 weeks: {figures['items_read_4_weeks']})",
            f"  DynamoDB calls, 52 weeks       {sum(figures['dynamodb_calls_52_weeks'].values()):>8}   "
            f"{figures['dynamodb_calls_52_weeks']}",
            f"  answers the report counts      {figures['answers_in_report']:>8,}",
            f"  size of the items read         {figures['kilobytes_read_52_weeks']:>8} KB  (about "
            f"{figures['kilobytes_read_52_weeks'] / 8:.0f} read units on DynamoDB, eventually consistent)",
            f"  {'server time':<30}{'wall ms (median / p95)':>24}{'CPU ms':>10}{'vs GetItem':>11}",
            _line("one GetItem (baseline)", figures["baseline_one_getitem"], base),
            _line("report, 52 weeks", figures["report_52_weeks"], base),
            _line("empty store's page (baseline)", figures["baseline_empty_page_52_weeks"], base),
            _line("page, 52 weeks", figures["page_52_weeks"], base),
            f"  stream consumer                {stream['app_cpu_ms_per_record']:>8} ms app CPU per record, "
            f"{stream['records_per_second']} records/s; redelivered batch counted once: "
            f"{stream['redelivered_batch_counted_once']}",
        ]
    )


if __name__ == "__main__":
    print(report(run()))
