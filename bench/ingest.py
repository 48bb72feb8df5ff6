"""Webhook ingest cost: app CPU and DynamoDB calls per webhook, for orders with 1 and 20 line items.

The baseline, measured in the same run, is a bare Chalice route that does one PutItem on the same
moto: the floor any webhook receiver pays for "API Gateway → Lambda → one write".
"""

from __future__ import annotations

import time
from typing import Any

from bench.harness import CallCounter, moto_server, provision_local, save, summarize

ROUNDS = 40
WARMUP = 5


def _baseline_app(table: str) -> Any:
    from chalice.app import Chalice

    from functions.shared import aws

    app = Chalice(app_name="baseline")

    @app.route("/put", methods=["POST"])
    def put() -> dict[str, str]:
        request = app.current_request
        assert request is not None
        body = request.raw_body
        aws.dynamodb().put_item(
            TableName=table, Item={"pk": {"S": str(time.time_ns())}, "sk": {"S": "x"}, "body": {"B": body}}
        )
        return {"ok": "yes"}

    return app


def _measure(call: Any, rounds: int) -> tuple[list[float], list[float]]:
    cpu, wall = [], []
    for index in range(WARMUP + rounds):
        started_cpu, started_wall = time.process_time(), time.perf_counter()
        call(index)
        if index >= WARMUP:
            cpu.append((time.process_time() - started_cpu) * 1000)
            wall.append((time.perf_counter() - started_wall) * 1000)
    return cpu, wall


def run() -> dict[str, Any]:
    import app as application
    from functions.shared import aws
    from tests.helpers import ApiClient, bearer, minimal_store_config
    from tests.webhooks import body_of, generic_event, generic_headers, generic_order

    with moto_server():
        provisioned = provision_local("bench")
        counter = CallCounter()
        counter.attach(aws.dynamodb(), "dynamodb")
        client = ApiClient(application.app)
        secret_arn = provisioned.secret_values["OperatorKeySecret"]
        created = client.post(
            "/v1/admin/stores",
            json_body={"config": minimal_store_config("bench-shop")},
            headers=bearer(secret_arn),
        )
        assert created.status == 201, created.text
        secret = created.json["webhook_secrets"]["generic"]

        figures: dict[str, Any] = {}
        for items in (1, 20):
            lines = [
                (f"l{i}", f"p{i}", ("clothing", "experience", "electronics", None)[i % 4])
                for i in range(items)
            ]

            def send(index: int, lines: list[Any] = lines, items: int = items) -> None:
                event = generic_event("order.delivered", generic_order(f"o{items}-{index}", items=lines))
                raw = body_of(event)
                response = client.post(
                    "/webhooks/bench-shop/events", body=raw, headers=generic_headers([secret], raw)
                )
                assert response.status == 200, response.text

            counter.reset()
            cpu, wall = _measure(send, ROUNDS)
            figures[f"{items}_items"] = {
                "app_cpu_ms": summarize(cpu),
                "wall_ms": summarize(wall),
                "dynamodb_calls_per_webhook": round(counter.total("dynamodb") / (ROUNDS + WARMUP), 2),
                "calls": dict(sorted(counter.calls.items())),
            }

        baseline_client = ApiClient(_baseline_app(provisioned.tables["OrdersTable"]))
        payload = body_of(generic_event("order.delivered", generic_order("baseline")))

        def baseline(index: int) -> None:
            assert baseline_client.post("/put", body=payload).status == 200

        cpu, wall = _measure(baseline, ROUNDS)
        figures["baseline_one_putitem"] = {"app_cpu_ms": summarize(cpu), "wall_ms": summarize(wall)}
        base = figures["baseline_one_putitem"]["app_cpu_ms"]["median"]
        for items in (1, 20):
            entry = figures[f"{items}_items"]
            entry["cpu_ratio_to_baseline"] = round(entry["app_cpu_ms"]["median"] / base, 2)
    save("ingest", figures)
    return figures


def report(figures: dict[str, Any]) -> str:
    lines = [
        "Webhook ingest (generic order.delivered, planned immediately; moto in its own process)",
        f"  {'case':<22}{'app CPU ms (median/p95)':>26}{'wall ms':>10}{'DynamoDB calls':>16}"
        f"{'vs baseline':>12}",
    ]
    for key in ("1_items", "20_items", "baseline_one_putitem"):
        entry = figures[key]
        cpu = entry["app_cpu_ms"]
        calls = entry.get("dynamodb_calls_per_webhook", 1)
        ratio = entry.get("cpu_ratio_to_baseline", 1.0)
        lines.append(
            f"  {key:<22}{cpu['median']:>15.2f} / {cpu['p95']:<8.2f}{entry['wall_ms']['median']:>10.2f}"
            f"{calls:>16}{ratio:>12}"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    print(report(run()))
