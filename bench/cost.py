"""Cost per 1,000 orders on the store's own AWS bill, from the AWS calls the code actually makes.

A simulated month: 1,000 orders (1-3 items of mixed product types) arrive as signed webhooks, fulfilled
then delivered, 10% of deliveries redelivered; the due sweep runs through 45 days; 15% of emails are
answered (a fifth of them negatively, which flags and alerts staff; half of those get a staff reply);
3% of orders ask for a return (through the Step Functions workflow, with the store's refund endpoint on
127.0.0.1). Every AWS call is counted by service and operation and priced with the list prices in
docs/costs.md. Lambda durations are modelled: the app's own CPU measured here plus each AWS call's
latency on AWS (DynamoDB 8 ms, SES 60 ms, as in the throughput benchmark; the calls of a multi-threaded
sweep counted one after another, an upper bound); fixed monthly costs (schedules, secrets) are reported
apart from the per-order cost.
Comprehend is priced from the comments the flagging code actually sends to its analyzer (the local one
stands in, counted as Comprehend's two requests); the baseline, from the same run, is the rule before
decision 66: every comment analyzed. Goal: everything except SES at most $0.05 per 1,000 orders.
"""

from __future__ import annotations

import contextlib
import io
import multiprocessing
import os
import random
import re
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from bench.harness import save
from bench.throughput import DYNAMODB_MS, SES_MS

ORDERS = 1000
BATCH = 25  # orders per fresh moto: moto copies every table on each transaction, so tables stay small
# What one call of each service takes on AWS, for Lambda durations (the throughput benchmark's latencies)
LATENCY_SECONDS = {
    "dynamodb": DYNAMODB_MS / 1000,
    "sesv2": SES_MS / 1000,
    "stepfunctions": 0.02,
    "secretsmanager": 0.02,
}
PRICES = {  # us-east-1 list prices, recorded 2026-11 (docs/costs.md)
    "api_gateway_request": 3.50 / 1e6,
    "lambda_request": 0.20 / 1e6,
    "lambda_gb_second": 0.0000166667,
    "dynamodb_write_unit": 0.625 / 1e6,
    "dynamodb_read_unit": 0.125 / 1e6,
    "ses_email": 0.10 / 1000,
    "sfn_transition": 0.025 / 1000,
    "comprehend_unit": 0.0001,
    "secrets_manager_secret_month": 0.40,
    "secrets_manager_call": 0.05 / 10000,
}
DUE_SHARDS = 8  # AFTERCARE_DUE_SHARDS' default: a sweep queries each shard once
GOAL_NON_SES = 0.05  # USD per 1,000 orders, everything but SES (issue 14)
LAMBDA_GB = 0.25  # lambda_memory_size 256 in .chalice/config.json
START = datetime(2026, 3, 2, 9, tzinfo=UTC)


def _units(operation: str, params: dict[str, Any]) -> list[tuple[str, float, float]]:
    """(table, write units, read units) of one DynamoDB call, by docs/costs.md's counting rules."""
    read = 1.0 if params.get("ConsistentRead") else 0.5
    if operation in {"PutItem", "UpdateItem", "DeleteItem"}:
        return [(params["TableName"], 1.0, 0.0)]
    if operation in {"GetItem", "Query"}:
        return [(params["TableName"], 0.0, read)]
    if operation == "TransactWriteItems":
        return [(next(iter(i.values()))["TableName"], 2.0, 0.0) for i in params.get("TransactItems", [])]
    if operation == "BatchWriteItem":
        return [(table, float(len(items)), 0.0) for table, items in params.get("RequestItems", {}).items()]
    if operation == "BatchGetItem":
        return [
            (table, 0.0, (1.0 if wanted.get("ConsistentRead") else 0.5) * len(wanted.get("Keys", [])))
            for table, wanted in params.get("RequestItems", {}).items()
        ]
    return []


class Meter:
    """Counts AWS calls and DynamoDB capacity units through botocore's event hooks."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.write_units = 0.0
        self.read_units = 0.0
        self.invocations: Counter[str] = Counter()
        self.lambda_seconds: dict[str, float] = {}  # modelled: app CPU + each AWS call's latency on AWS
        self.wall_seconds: dict[str, float] = {}  # measured here, moto's own work included
        self.in_calls = 0.0  # CPU seconds spent inside AWS calls (client and in-process moto)
        self._thread = threading.local()
        self.analyzed: list[str] = []  # comments sent to the sentiment analyzer (Comprehend in production)
        self.table_units: dict[str, list[float]] = {}  # table name: [write units, read units]

    def attach(self, client: Any, service: str) -> None:
        # before-parameter-build sees the call's own parameters (before-call only the serialized request)
        def count(params: dict[str, Any], model: Any, **kwargs: Any) -> None:
            operation = model.name
            self.calls[f"{service}:{operation}"] += 1
            if service == "dynamodb":
                for table, writes, reads in _units(operation, params):
                    self.write_units += writes
                    self.read_units += reads
                    found = self.table_units.setdefault(table, [0.0, 0.0])
                    found[0] += writes
                    found[1] += reads

        def start(**kwargs: Any) -> None:
            self._thread.started = time.thread_time()

        def stop(**kwargs: Any) -> None:
            self.in_calls += time.thread_time() - getattr(self._thread, "started", time.thread_time())

        client.meta.events.register(f"before-parameter-build.{service}.*", count)
        client.meta.events.register(f"before-parameter-build.{service}.*", start)
        client.meta.events.register(f"after-call.{service}.*", stop)
        client.meta.events.register(f"after-call-error.{service}.*", stop)

    def state(self) -> dict[str, Any]:
        return {
            "calls": dict(self.calls),
            "write_units": self.write_units,
            "read_units": self.read_units,
            "invocations": dict(self.invocations),
            "lambda_seconds": dict(self.lambda_seconds),
            "wall_seconds": dict(self.wall_seconds),
            "analyzed": list(self.analyzed),
            "table_units": dict(self.table_units),
        }

    def merge(self, state: dict[str, Any]) -> None:
        self.calls.update(state["calls"])
        self.write_units += state["write_units"]
        self.read_units += state["read_units"]
        self.invocations.update(state["invocations"])
        for name, seconds in state["lambda_seconds"].items():
            self.lambda_seconds[name] = self.lambda_seconds.get(name, 0.0) + seconds
        for name, seconds in state["wall_seconds"].items():
            self.wall_seconds[name] = self.wall_seconds.get(name, 0.0) + seconds
        self.analyzed.extend(state["analyzed"])
        for table, (writes, reads) in state["table_units"].items():
            found = self.table_units.setdefault(table, [0.0, 0.0])
            found[0] += writes
            found[1] += reads

    def count_analyzer(self) -> None:
        """Record every comment the flagging code sends to this process's sentiment analyzer."""
        from functions import composition
        from functions.flags.sentiment import Analyzer, Sentiment

        analyzed = self.analyzed

        class Counted:
            def __init__(self, inner: Analyzer) -> None:
                self.inner = inner

            def analyze(self, text: str, hint: str | None = None) -> Sentiment:
                analyzed.append(text)
                return self.inner.analyze(text, hint)

        built = composition.adapters()
        built.analyzer = Counted(built.analyzer)

    def invoke(self, function: str, action: Any) -> Any:
        """Run one Lambda invocation; its duration is modelled as the app's CPU (this process's, less the
        CPU inside AWS calls, where in-process moto works) plus each call's latency on AWS."""
        wall, cpu, in_calls, calls = (
            time.perf_counter(),
            time.process_time(),
            self.in_calls,
            Counter(self.calls),
        )
        try:
            return action()
        finally:
            app_cpu = max(0.0, time.process_time() - cpu - (self.in_calls - in_calls))
            made = self.calls - calls
            waited = sum(n * LATENCY_SECONDS.get(name.split(":")[0], 0.02) for name, n in made.items())
            self.invocations[function] += 1
            self.lambda_seconds[function] = self.lambda_seconds.get(function, 0.0) + app_cpu + waited
            self.wall_seconds[function] = self.wall_seconds.get(function, 0.0) + time.perf_counter() - wall


def _simulate(meter: Meter, orders: int, batch: int) -> dict[str, Any]:
    import app as application
    from aftercare.devstack import lambdas, outbox
    from aftercare.devstack.streams import Mapping, StreamPump
    from functions import composition
    from functions.flags.handlers import flag_responses
    from functions.outreach import sweep
    from functions.shared import aws, clock
    from tests.helpers import ApiClient, bearer, minimal_store_config
    from tests.refund_receiver import RefundReceiver
    from tests.webhooks import body_of, generic_event, generic_headers, generic_order

    rng = random.Random(7)
    receiver = RefundReceiver()
    client = ApiClient(application.app)
    clock.clock.freeze(START)

    def api(method: str, path: str, **kwargs: Any) -> Any:
        return meter.invoke("api", lambda: client.request(method, path, **kwargs))

    provisioned = _provisioned()
    meter.count_analyzer()
    config = minimal_store_config("cost-shop")
    config["outreach"] = {
        "product_types": {
            "clothing": {"review_delay": "P14D"},
            "experience": {"review_delay": "P1D"},
            "electronics": {"review_delay": "P30D", "reminder_delay": "P7D"},
        }
    }
    config["returns"] = {"refund_endpoint": receiver.url, "auto_approve_below": 500, "keep_it_below": 15}
    created = client.request(  # once per store, not per order: the meter starts after it
        "POST",
        "/v1/admin/stores",
        json_body={"config": config},
        headers=bearer(provisioned.secret_values["OperatorKeySecret"]),
    )
    secret = created.json["webhook_secrets"]["generic"]
    for service in ("dynamodb", "sesv2", "stepfunctions", "secretsmanager"):
        meter.attach(getattr(aws, service)(), service)

    webhooks = Counter[str]()

    def webhook(event: dict[str, Any], allowed: tuple[int, ...] = (200,)) -> None:
        webhooks["posted"] += 1
        raw = body_of(event)
        response = api("POST", "/webhooks/cost-shop/events", body=raw, headers=generic_headers([secret], raw))
        assert response.status in allowed, response.text

    types = ["clothing", "experience", "electronics", "homeware"]
    for index in range(batch * orders, (batch + 1) * orders):
        items = [(f"l{n}", f"p{rng.randrange(300)}", rng.choice(types)) for n in range(rng.randint(1, 3))]
        order = generic_order(
            f"O{index}", items, customer={"email": f"c{index}@example.com", "name": "C", "locale": "en"}
        )
        for line in order["line_items"]:
            line["price"] = rng.choice(["9.00", "25.00", "60.00"])
        at = START + timedelta(minutes=index)
        clock.clock.freeze(at)  # each event arrives when it happens (a day in the future is refused)
        webhook(generic_event("order.fulfilled", order, occurred_at=clock.isoformat(at)))
        clock.clock.freeze(at + timedelta(days=3))
        delivered = generic_event(
            "order.delivered",
            {"id": f"O{index}"},
            event_id=f"d{index}",
            occurred_at=clock.isoformat(at + timedelta(days=3)),
        )
        webhook(delivered)
        if rng.random() < 0.10:
            webhook(delivered)  # the platform redelivers

    pump = StreamPump(
        [
            Mapping(
                provisioned.tables["ResponsesTable"],
                provisioned.stream_arns["ResponsesTable"],
                "flag_responses",
                lambda event, context: meter.invoke("flag_responses", lambda: flag_responses(event, context)),
            )
        ]
    )
    answered: set[str] = set()
    comments: list[str] = []
    returns = 0
    awaiting: list[str] = []
    for step in range(45):  # a sweep a simulated day; the empty sweeps in between are a fixed cost (below)
        hour = step * 24 + 12
        clock.clock.freeze(START + timedelta(hours=hour))
        before = outbox.count()
        with contextlib.redirect_stdout(io.StringIO()):
            meter.invoke("sweep", lambda: sweep.run(composition.sweep_ports()))
        for message in outbox.messages(before):
            order_id = message["to"][0].removeprefix("c").split("@")[0]
            links = [link["href"] for link in message["links"] if "/s/" in link["href"]]
            if not links or order_id in answered or rng.random() >= 0.15:
                continue
            answered.add(order_id)
            negative = rng.random() < 0.2
            if negative:  # only the unhappy ones write a comment here
                comments.append("Arrived broken")
            link = links[0].removeprefix("https://care.example.com")  # the first product, or the NPS scale
            is_nps = link.rsplit("/", 1)[1].split(".")[0] in _nps_tokens(links)
            happy = "score=10&comment=" if is_nps else "score=5&comment="
            unhappy = "score=3&comment=Arrived+broken" if is_nps else "score=1&comment=Arrived+broken"
            api("GET", link)
            form = {"content-type": "application/x-www-form-urlencoded"}
            api("POST", link, body=unhappy if negative else happy, headers=form)
        seen = outbox.count()
        with contextlib.redirect_stdout(io.StringIO()):
            pump.pump_until_quiet()
        for alert in outbox.messages(seen):
            if (
                alert["subject"].startswith("[Needs a reply]") and rng.random() < 0.5
            ):  # half get a staff reply
                path = next(link["href"] for link in alert["links"] if "/staff/" in link["href"])
                path = path.removeprefix("https://care.example.com")
                page = api("GET", path).text
                csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
                api(
                    "POST",
                    path,
                    body=f"csrf={csrf}&action_id=a&action=reply_resolve&reply=Sorry",
                    headers={"content-type": "application/x-www-form-urlencoded"},
                )
        for return_id in _parked(awaiting):  # the parcels of yesterday's returns arrive at the store
            received: dict[str, Any] = {"return": {"aftercare_id": return_id}}
            webhook(
                generic_event("return.received", {"id": "-"}, **received), allowed=(200, 409)
            )  # 409: kept
        awaiting = []
        # returns trickle in during the month
        for index in range(batch * orders, (batch + 1) * orders):
            if step == 10 and index % 33 == 0:  # 3% of orders, ten days into the month
                returns += 1
                request: dict[str, Any] = {
                    "return": {
                        "id": f"R{index}",
                        "order_id": f"O{index}",
                        "items": [{"line_item_id": "l0"}],
                        "reason": "Does not fit",
                        "outcome": "refund",
                    }
                }
                raw = body_of(generic_event("return.requested", {"id": f"O{index}"}, **request))
                webhooks["posted"] += 1
                answer = api(
                    "POST", "/webhooks/cost-shop/events", body=raw, headers=generic_headers([secret], raw)
                )
                awaiting.append(str(answer.json["return_id"]))
    for return_id in _parked(awaiting):  # parcels of the last day's returns
        received_last: dict[str, Any] = {"return": {"aftercare_id": return_id}}
        webhook(generic_event("return.received", {"id": "-"}, **received_last), allowed=(200, 409))
    alerts = [m for m in outbox.messages() if m["subject"].startswith("[Needs a reply]")]
    _wait_for_executions()
    transitions, task_invocations = _workflow_usage()
    meter.invocations["returns tasks"] += task_invocations
    meter.lambda_seconds["returns tasks"] = (
        meter.lambda_seconds.get("returns tasks", 0.0) + task_invocations * 0.15
    )
    receiver.close()
    lambdas.clear()
    return {
        "orders": orders,
        "emails": outbox.count(),
        "answers": len(answered),
        "alerts": len(alerts),
        "returns": returns,
        "refund_calls": len(receiver.calls),
        "sfn_transitions": transitions,
        "webhooks": webhooks["posted"],
        "comments_written": len(comments),
        "comprehend_units_every_comment": sum(comprehend_units(text) for text in comments),
    }


def comprehend_units(text: str) -> int:
    """Comprehend's units for one comment: language detection and sentiment, each 100 characters a unit and
    at least 3."""
    return 2 * max(3, -(-len(text) // 100))


def _nps_tokens(links: list[str]) -> set[str]:
    """Payloads of the links that answer an NPS survey (their claims name no product)."""
    from functions.shared import tokens

    found = set()
    for link in links:
        token = link.rsplit("/", 1)[1]
        if "p" not in tokens.unverified_body(token).get("c", {}):
            found.add(token.split(".")[0])
    return found


def _provisioned() -> Any:
    import os

    import app as application
    from aftercare.devstack import lambdas
    from aftercare.devstack.provision import local_function_refs, provision
    from functions import composition
    from functions.shared import aws, secrets
    from tests.conftest import _reset_process_caches

    _reset_process_caches()  # a fresh moto per batch: forget stores, secrets and clients of the last one
    lambdas.install()
    lambdas.register_app(application.app, "cost")
    provisioned = provision(
        "cost",
        public_base_url="https://care.example.com",
        function_refs=local_function_refs(application.app, "cost"),
    )
    os.environ.update(provisioned.environment)
    os.environ["AFTERCARE_SENTIMENT"] = "local"
    composition.reset()
    aws.reset_clients()
    secrets.reset_secrets()
    return provisioned


def _executions() -> list[Any]:
    from functions.shared import aws

    sfn = aws.stepfunctions()
    runs: list[Any] = []
    for machine in sfn.list_state_machines()["stateMachines"]:
        runs.extend(sfn.list_executions(stateMachineArn=machine["stateMachineArn"])["executions"])
    return runs


MOVING = {"requested", "in progress", "awaiting approval", "awaiting the item"}  # not parked yet


def _parked(return_ids: list[str]) -> list[str]:
    """The returns whose customers send the item back: each waits for its parcel (task token stored).

    Waits (30 s at most) until every workflow has parked or ended; a return the customer may keep ends
    without a parcel, so the store never reports one for it. Reads with a client of its own, so the
    waiting is not counted in Aftercare's bill.
    """
    import boto3

    table = os.environ["AFTERCARE_RETURNS_TABLE"]
    client = boto3.client("dynamodb")
    pending, parked = set(return_ids), []
    deadline = time.monotonic() + 30
    while pending and time.monotonic() < deadline:
        for return_id in sorted(pending):
            key = {"pk": {"S": f"cost-shop#{return_id}"}, "sk": {"S": "RETURN"}}
            item = client.get_item(TableName=table, Key=key).get("Item") or {}
            waiting = item.get("waiting_for", {}).get("S") == "parcel" and "task_token" in item
            if waiting or item.get("status", {}).get("S") not in {None, *MOVING}:
                pending.discard(return_id)
                parked += [return_id] if waiting else []
        if pending:
            time.sleep(0.1)
    return sorted(parked)


def _wait_for_executions() -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and any(e["status"] == "RUNNING" for e in _executions()):
        time.sleep(0.2)


def _workflow_usage() -> tuple[int, int]:
    from functions.shared import aws

    transitions = invocations = 0
    for execution in _executions():
        for event in aws.stepfunctions().get_execution_history(
            executionArn=execution["executionArn"], maxResults=1000
        )["events"]:
            transitions += event["type"].endswith("StateEntered")
            invocations += event["type"] in {"LambdaFunctionScheduled", "TaskScheduled"}
    return transitions, invocations


def _batch(batch: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """One batch of orders against a fresh in-process moto (run in a worker process)."""
    from moto import mock_aws

    config: Any = {"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}
    meter = Meter()
    with mock_aws(config=config), contextlib.redirect_stdout(io.StringIO()):
        usage = _simulate(meter, BATCH, batch)
    return meter.state(), usage


def run() -> dict[str, Any]:
    import os

    os.environ.pop("AWS_ENDPOINT_URL", None)  # in-process moto here, not the other benchmarks' server
    os.environ.update(
        {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_REGION": "us-east-1",
        }
    )
    meter = Meter()
    usage: Counter[str] = Counter()
    with multiprocessing.get_context("spawn").Pool(2) as pool:  # independent batches: use both cores
        for part_meter, part_usage in pool.imap_unordered(_batch, range(ORDERS // BATCH)):
            meter.merge(part_meter)
            usage.update(part_usage)
    calls = meter.calls
    api_requests = meter.invocations["api"]
    # Every sweep's own query of each due shard and its invocation are the fixed cost below (a sweep runs
    # every 5 minutes whatever the orders); each batch repeats the month's sweeps, so they are not per order.
    sweeps = meter.invocations["sweep"]
    meter.read_units -= sweeps * DUE_SHARDS * 0.5
    lambda_requests = sum(meter.invocations.values()) - sweeps
    gb_seconds = sum(meter.lambda_seconds.values()) * LAMBDA_GB
    ses_emails = calls["sesv2:SendEmail"]
    comprehend = sum(comprehend_units(text) for text in meter.analyzed)
    per_thousand = Decimal(1000) / Decimal(usage["orders"])
    breakdown = {
        "API Gateway": api_requests * PRICES["api_gateway_request"],
        "Lambda requests": lambda_requests * PRICES["lambda_request"],
        "Lambda duration": gb_seconds * PRICES["lambda_gb_second"],
        "DynamoDB writes": meter.write_units * PRICES["dynamodb_write_unit"],
        "DynamoDB reads": meter.read_units * PRICES["dynamodb_read_unit"],
        "SES": ses_emails * PRICES["ses_email"],
        "Step Functions": usage["sfn_transitions"] * PRICES["sfn_transition"],
        "Comprehend": comprehend * PRICES["comprehend_unit"],
        "EventBridge (scheduled rules)": 0.0,
    }
    breakdown = {k: round(float(Decimal(str(v)) * per_thousand), 4) for k, v in breakdown.items()}
    every_comment = round(
        float(
            Decimal(str(usage["comprehend_units_every_comment"] * PRICES["comprehend_unit"])) * per_thousand
        ),
        4,
    )
    non_ses = round(sum(v for k, v in breakdown.items() if k != "SES"), 4)
    per_comment = comprehend_units("x" * 100) * PRICES["comprehend_unit"]
    fixed = {
        "schedules (sweep every 5 min, escalate and returns deadlines every 15 min), Lambda": round(
            (8640 + 2 * 2880) * (PRICES["lambda_request"] + 0.05 * LAMBDA_GB * PRICES["lambda_gb_second"])
            + 8640 * 8 * 0.5 * PRICES["dynamodb_read_unit"],
            4,
        ),
        "Secrets Manager (2 secrets)": round(2 * PRICES["secrets_manager_secret_month"], 2),
    }
    tables = {
        name.split("-", 1)[1]: {
            "write_units_per_1000_orders": round(writes * float(per_thousand), 1),
            "read_units_per_1000_orders": round(reads * float(per_thousand), 1),
        }
        for name, (writes, reads) in sorted(meter.table_units.items())
    }
    figures = {
        "tables": tables,
        "usage": {
            **usage,
            "api_requests": api_requests,
            "lambda_invocations": dict(meter.invocations),
            "lambda_gb_seconds": round(gb_seconds, 2),
            "lambda_gb_seconds_wall_here": round(sum(meter.wall_seconds.values()) * LAMBDA_GB, 2),
            "dynamodb_write_units": meter.write_units,
            "dynamodb_read_units": meter.read_units,
            "ses_emails": ses_emails,
            "comments_analyzed": len(meter.analyzed),
            "aws_calls": dict(sorted(calls.items())),
        },
        "per_1000_orders_usd": breakdown,
        "total_per_1000_orders_usd": round(sum(breakdown.values()), 4),
        "non_ses_per_1000_orders_usd": non_ses,
        "baseline_comprehend_every_comment_usd": every_comment,
        "baseline_non_ses_per_1000_orders_usd": round(non_ses - breakdown["Comprehend"] + every_comment, 4),
        "headroom_comments_per_1000_orders": int((GOAL_NON_SES - non_ses) / per_comment),
        "goal_non_ses_usd": GOAL_NON_SES,
        "fixed_per_month_usd": fixed,
        "prices": PRICES,
        "price_date": "2026-11 (us-east-1 list prices, see docs/costs.md)",
    }
    save("cost", figures)
    return figures


def report(figures: dict[str, Any]) -> str:
    usage = figures["usage"]
    lines = [
        f"Cost per 1,000 orders (simulated month: {usage['orders']} orders, {usage['emails']} emails, "
        f"{usage['answers']} answers, {usage['alerts']} alerts, {usage['returns']} returns; prices "
        f"{figures['price_date']})",
    ]
    for service, cost in figures["per_1000_orders_usd"].items():
        lines.append(f"  {service:<32} ${cost:>8.4f}")
    lines.append(f"  {'total per 1,000 orders':<32} ${figures['total_per_1000_orders_usd']:>8.4f}")
    non_ses, goal = figures["non_ses_per_1000_orders_usd"], figures["goal_non_ses_usd"]
    lines.append(
        f"  {'everything except SES':<32} ${non_ses:>8.4f}   goal <= ${goal:.2f}: "
        f"{'met' if non_ses <= goal else 'MISSED'}"
    )
    lines.append(
        f"  baseline, same run: every comment analyzed (before decision 66): Comprehend "
        f"${figures['baseline_comprehend_every_comment_usd']:.4f}, everything except SES "
        f"${figures['baseline_non_ses_per_1000_orders_usd']:.4f}; {usage['comments_analyzed']} of "
        f"{usage['comments_written']} comments analyzed now"
    )
    lines.append(
        f"  headroom: {figures['headroom_comments_per_1000_orders']} more comments per 1,000 orders on"
        " answers their score and keywords do not flag (each analyzed, $0.0006) keep the goal"
    )
    lines.append("  fixed per month, whatever the orders:")
    for item, cost in figures["fixed_per_month_usd"].items():
        lines.append(f"    {item}: ${cost}")
    return "\n".join(lines)


if __name__ == "__main__":
    print(report(run()))
