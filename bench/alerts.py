"""From a negative answer to the staff alert.

* Latency in the local stack: a customer confirms a one-star answer; how long until the staff alert is
  in the outbox (goal: p95 under 1 s over 50 answers). Measured twice in the same run: with stream
  records delivered as they are written (``aftercare dev``, decision 58) and, as the baseline, with the
  old delivery at a one-second tick (``aftercare dev --streams poll``).
* App CPU per stream record: the flagging handler on batches of real stream records (half negative,
  which means a flag, a staff token and an alert email each), moto in its own process.
"""

from __future__ import annotations

import contextlib
import io
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import requests

from bench.harness import moto_server, provision_local, save, summarize

ANSWERS = 50
RECORDS = 200
GOAL_P95_SECONDS = 1.0


def _latency(streams: str) -> dict[str, Any]:
    from tests.conftest import DevStackProcess, free_port
    from tests.webhooks import body_of, generic_event, generic_headers, generic_order

    with tempfile.TemporaryDirectory() as workdir:
        stack = DevStackProcess(Path(workdir), free_port(), extra=("--streams", streams))
        try:
            url, secret = stack.url, stack.state["demo"]["generic_webhook_secret"]
            now = requests.get(f"{url}/_dev/clock", timeout=10).json()["now"]
            for index in range(ANSWERS):
                order = generic_order(
                    f"LAT-{index}",
                    [("l1", "tour", "experience")],
                    customer={"email": f"lat{index}@example.com", "name": "Lat", "locale": "en"},
                )
                raw = body_of(generic_event("order.delivered", order, occurred_at=now))
                requests.post(
                    f"{url}/webhooks/demo/events",
                    data=raw,
                    headers=generic_headers([secret], raw),
                    timeout=10,
                )
            requests.post(f"{url}/_dev/clock", json={"advance": "P1DT1H"}, timeout=300)
            links = {}
            sent = requests.get(f"{url}/_dev/outbox", timeout=30).json()
            for message in sent:
                if message["to"][0].startswith("lat"):
                    index = int(message["to"][0][3:].split("@")[0])
                    links[index] = next(link["href"] for link in message["links"] if "/s/" in link["href"])
            posted: dict[int, float] = {}
            seen: dict[int, float] = {}
            done = threading.Event()

            def watch() -> None:
                read = len(sent)  # only new emails: parsing the whole outbox took a second
                while not done.is_set():
                    new = requests.get(f"{url}/_dev/outbox?since={read}", timeout=30).json()
                    read += len(new)
                    for message in new:
                        subject = message["subject"]
                        if subject.startswith("[Needs a reply]") and "#LAT-" in subject:
                            index = int(subject.rsplit("#LAT-", 1)[1])
                            seen.setdefault(index, time.monotonic())
                    if len(seen) >= len(links):
                        return
                    time.sleep(0.02)

            watcher = threading.Thread(target=watch, daemon=True)
            watcher.start()
            for index, link in sorted(links.items()):
                posted[index] = time.monotonic()
                requests.post(link, data={"score": "1", "comment": "It was cancelled"}, timeout=10)
                time.sleep(0.2)
            watcher.join(timeout=60)
            done.set()
            latencies = [seen[i] - posted[i] for i in posted if i in seen]
        finally:
            stack.stop()
    figures = summarize(latencies)
    return {
        "seconds": figures,
        "alerts_seen": len(latencies),
        "answers": len(posted),
        "mean_seconds": round(statistics.mean(latencies), 3) if latencies else None,
    }


def _cpu_per_record() -> dict[str, Any]:
    import app as application
    from aftercare.devstack.lambdas import LocalLambdaContext
    from functions.flags.handlers import flag_responses
    from functions.shared import aws
    from tests.helpers import ApiClient, bearer, minimal_store_config

    with moto_server():
        provisioned = provision_local("bench-alerts")
        created = ApiClient(application.app).post(
            "/v1/admin/stores",
            json_body={"config": minimal_store_config("alert-shop")},
            headers=bearer(provisioned.secret_values["OperatorKeySecret"]),
        )
        assert created.status == 201, created.text
        client = aws.dynamodb()
        table = provisioned.tables["ResponsesTable"]
        for index in range(RECORDS):
            negative = index % 2 == 0
            client.put_item(
                TableName=table,
                Item={
                    "pk": {"S": f"alert-shop#o{index}"},
                    "sk": {"S": "review-x#p1"},
                    "store_id": {"S": "alert-shop"},
                    "order_id": {"S": f"o{index}"},
                    "outreach_id": {"S": "review-x"},
                    "product_id": {"S": "p1"},
                    "kind": {"S": "review"},
                    "score": {"N": "1" if negative else "5"},
                    "comment": {
                        "S": "Broken on arrival, very disappointed" if negative else "Great, love it"
                    },
                    "locale": {"S": "en"},
                    "history": {"L": []},
                },
            )
        import boto3

        stream_client = boto3.client("dynamodbstreams")
        arn = provisioned.stream_arns["ResponsesTable"]
        shard = stream_client.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
        iterator = stream_client.get_shard_iterator(
            StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        records: list[Any] = []
        while iterator and len(records) < RECORDS:
            page = stream_client.get_records(ShardIterator=iterator, Limit=1000)
            records.extend(page["Records"])
            iterator = page.get("NextShardIterator")
            if not page["Records"]:
                break
        for record in records:
            record["dynamodb"]["ApproximateCreationDateTime"] = 0
            record["eventSourceARN"] = arn
        context = LocalLambdaContext(function_name="flag_responses")
        started = time.process_time()
        with contextlib.redirect_stdout(io.StringIO()):
            for start in range(0, len(records), 10):
                result = flag_responses({"Records": records[start : start + 10]}, context)
                assert not result["batchItemFailures"], result
        cpu = time.process_time() - started
    return {
        "records": len(records),
        "app_cpu_ms_per_record": round(cpu * 1000 / max(len(records), 1), 3),
        "negative_share": 0.5,
    }


def run() -> dict[str, Any]:
    figures = {
        "latency": _latency("write"),
        "latency_polling_baseline": _latency("poll"),
        "goal_p95_seconds": GOAL_P95_SECONDS,
        "stream": _cpu_per_record(),
    }
    save("alerts", figures)
    return figures


def _line(name: str, latency: dict[str, Any]) -> str:
    seconds = latency["seconds"]
    return (
        f"  {name:<34}{seconds.get('median')} / {seconds.get('p95')}"
        f"   ({latency['alerts_seen']} alerts of {latency['answers']} answers)"
    )


def report(figures: dict[str, Any]) -> str:
    latency = figures["latency"]
    every = latency["alerts_seen"] == latency["answers"]
    met = every and latency["seconds"].get("p95", 99) < GOAL_P95_SECONDS
    return "\n".join(
        [
            "Negative answer → staff alert (local stack, seconds median / p95)",
            _line("delivered as written", latency),
            _line("polled every second (before)", figures["latency_polling_baseline"]),
            f"  goal p95 < {GOAL_P95_SECONDS:g} s: {'met' if met else 'MISSED'}",
            f"  app CPU per stream record (ms)    {figures['stream']['app_cpu_ms_per_record']}   "
            f"(half of them flagged and alerted)",
        ]
    )


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    print(report(run()))
