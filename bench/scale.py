"""Capacity at 1 million and 100 million orders a month, from the figures the other benchmarks measured.

Nothing here runs at 100 million orders. The model multiplies per-order counts measured by the cost
simulation (webhooks, emails, DynamoDB units per table, returns, Step Functions transitions), per-call
figures from the ingest benchmark and per-worker rates from the throughput benchmark (all read from
bench/results.json, written by the same ``make bench`` run), by each size's order rate. It then sets the
results against AWS's default quotas (the table below: us-east-1, as AWS documents them; check your
account's in the Service Quotas console). Every output line names the run its input came from.

Assumptions, stated once: a month is 30 days; the busiest hour has ``PEAK_HOUR`` times the month's average
rate of orders and emails, and the busiest day ``PEAK_DAY`` times the average day (a Black-Friday week);
a real Lambda's DynamoDB call takes ``DYNAMODB_MS`` (the throughput benchmark's figure).
"""

from __future__ import annotations

import json
import math
from typing import Any

from bench.harness import RESULTS, save

SIZES = {"1M orders/month": 1_000_000, "100M orders/month": 100_000_000}
MONTH_SECONDS = 30 * 86_400
PEAK_HOUR = 10.0
PEAK_DAY = 3.0
DYNAMODB_MS = 8.0
CONFIG_CACHE_SECONDS = 30  # a warm Lambda reads a store's configuration and secrets at most this often
RETURN_WAIT_DAYS = 21  # the longest a return workflow waits for a parcel (returns.return_timeout default)
DUE_SHARDS_DEFAULT, DUE_SHARDS_MAX = 8, 64  # AFTERCARE_DUE_SHARDS (functions/shared/settings.py)
SWEEP_SHARE = 0.9  # of the SES MaxSendRate (AFTERCARE_SWEEP_SEND_SHARE)

QUOTAS = {  # AWS defaults, us-east-1
    "dynamodb_partition_write_units_per_s": 1_000,
    "dynamodb_partition_read_units_per_s": 3_000,
    "dynamodb_new_on_demand_table_write_units_per_s": 4_000,  # doubles with each sustained peak (30 min)
    "dynamodb_table_units_per_s": 40_000,  # per table, reads and writes each (adjustable)
    "lambda_concurrent_executions": 1_000,  # per account and region (adjustable)
    "ses_production_start_per_s": 14,  # a typical first production grant; raised on request
    "ses_production_start_per_day": 50_000,
    "sfn_start_execution_refill_per_s": 300,
    "sfn_state_transition_refill_per_s": 1_500,
    "sfn_open_executions": 1_000_000,  # standard workflows (adjustable to millions)
}


def _inputs(results: dict[str, Any]) -> dict[str, Any]:
    """Per-order and per-call figures of the other benchmarks' latest run."""
    cost, ingest, throughput = results["cost"], results["ingest"], results["throughput"]
    usage = cost["usage"]
    orders = usage["orders"]
    per_order = {
        "webhooks": usage["webhooks"] / orders,
        "api_requests": usage["api_requests"] / orders,
        "emails": usage["ses_emails"] / orders,
        "returns": usage["returns"] / orders,
        "answers": usage["answers"] / orders,
    }
    tables = {
        name: (entry["write_units_per_1000_orders"] / 1000, entry["read_units_per_1000_orders"] / 1000)
        for name, entry in cost["tables"].items()
    }
    webhook_calls = max(
        ingest[case]["dynamodb_calls_per_webhook"] for case in ("1_items", "1_items_next_event")
    )
    webhook_cpu = max(ingest[case]["app_cpu_ms"]["median"] for case in ("1_items", "1_items_next_event"))
    one_worker = next(row for row in throughput["rows"] if row["workers"] == 1)
    return {
        "per_order": per_order,
        "tables": tables,
        "webhook_ms": webhook_calls * DYNAMODB_MS + webhook_cpu,
        "webhook_calls": webhook_calls,
        "webhook_cpu_ms": webhook_cpu,
        "worker_emails_per_s": one_worker["emails_per_second"],
        "limiter_writes_per_email": max(row["limiter_writes_per_email"] for row in throughput["rows"][1:]),
        "sfn_transitions_per_return": usage["sfn_transitions"] / max(usage["returns"], 1),
        "cost_per_1000": cost["per_1000_orders_usd"],
        "fixed_per_month": sum(cost["fixed_per_month_usd"].values()),
    }


def _size(orders: int, given: dict[str, Any]) -> dict[str, Any]:
    per_order = given["per_order"]
    average = orders / MONTH_SECONDS
    peak = average * PEAK_HOUR
    emails_peak = peak * per_order["emails"]
    workers = math.ceil(emails_peak / given["worker_emails_per_s"])
    shards = min(max(DUE_SHARDS_DEFAULT, workers), DUE_SHARDS_MAX)
    api_concurrency = peak * per_order["api_requests"] * given["webhook_ms"] / 1000
    outreach_writes = given["tables"].get("OutreachTable", (0.0, 0.0))[0]
    returns_per_day = orders / 30 * per_order["returns"]
    table_peaks = {
        name: {"writes_per_s": round(peak * writes, 1), "reads_per_s": round(peak * reads, 1)}
        for name, (writes, reads) in given["tables"].items()
    }
    busiest = max(table_peaks.items(), key=lambda item: item[1]["writes_per_s"])
    per_1000 = given["cost_per_1000"]
    non_ses = sum(v for k, v in per_1000.items() if k != "SES")
    fixed_per_1000 = given["fixed_per_month"] / (orders / 1000)
    return {
        "orders_per_s": {"average": round(average, 2), "peak_hour": round(peak, 1)},
        "webhooks_per_s_peak": round(peak * per_order["webhooks"], 1),
        "emails": {
            "per_month": round(orders * per_order["emails"]),
            "per_peak_day": round(orders / 30 * PEAK_DAY * per_order["emails"]),
            "per_s_average": round(average * per_order["emails"], 1),
            "per_s_peak": round(emails_peak, 1),
            "ses_max_send_rate_needed": math.ceil(emails_peak / SWEEP_SHARE),
        },
        "sweep": {
            "workers_needed_at_peak": workers,
            "due_shards": shards,
            "due_shards_enough": workers <= DUE_SHARDS_MAX,
            "due_index_writes_per_shard_per_s": round(peak * outreach_writes / shards, 1),
            "due_index_reads_per_shard_per_s": round(emails_peak * 0.5 / shards, 1),
            "send_rate_item_writes_per_s": round(emails_peak * given["limiter_writes_per_email"], 1),
        },
        "lambda_concurrency_peak": {
            "api": math.ceil(api_concurrency),
            "sweep_workers": shards,
            "total": math.ceil(api_concurrency) + shards + 1,  # + the coordinator
        },
        "stores_partition_reads_per_s": round(math.ceil(api_concurrency) * 2 / CONFIG_CACHE_SECONDS, 2),
        "tables_peak": table_peaks,
        "busiest_table": {"name": busiest[0], **busiest[1]},
        "step_functions": {
            "starts_per_s_peak": round(peak * per_order["returns"], 2),
            "transitions_per_s_peak": round(
                peak * per_order["returns"] * given["sfn_transitions_per_return"], 1
            ),
            "open_executions_bound": round(returns_per_day * RETURN_WAIT_DAYS),
        },
        "cost_per_1000_orders_usd": {
            "SES": round(per_1000.get("SES", 0.0), 4),
            "everything else": round(non_ses, 4),
            "fixed costs spread": round(fixed_per_1000, 4),
            "total": round(per_1000.get("SES", 0.0) + non_ses + fixed_per_1000, 4),
        },
    }


def run() -> dict[str, Any]:
    results = json.loads(RESULTS.read_text())
    given = _inputs(results)
    figures = {
        "inputs": {
            "webhooks_per_order (cost)": round(given["per_order"]["webhooks"], 3),
            "api_requests_per_order (cost)": round(given["per_order"]["api_requests"], 3),
            "emails_per_order (cost)": round(given["per_order"]["emails"], 3),
            "returns_per_order (cost)": round(given["per_order"]["returns"], 3),
            "dynamodb_units_per_order_by_table (cost)": {
                name: [round(w, 2), round(r, 2)] for name, (w, r) in given["tables"].items()
            },
            "webhook_dynamodb_calls (ingest)": given["webhook_calls"],
            "webhook_app_cpu_ms (ingest)": given["webhook_cpu_ms"],
            "webhook_ms_modelled": round(given["webhook_ms"], 1),
            "worker_emails_per_s (throughput, 1 worker x 3 threads)": given["worker_emails_per_s"],
            "limiter_writes_per_email (throughput)": given["limiter_writes_per_email"],
            "sfn_transitions_per_return (cost)": round(given["sfn_transitions_per_return"], 1),
        },
        "assumptions": {
            "peak_hour_factor": PEAK_HOUR,
            "peak_day_factor": PEAK_DAY,
            "dynamodb_ms": DYNAMODB_MS,
            "return_wait_days": RETURN_WAIT_DAYS,
        },
        "quotas": QUOTAS,
        "sizes": {name: _size(orders, given) for name, orders in SIZES.items()},
    }
    save("scale", figures)
    return figures


def _check(value: float, limit: float) -> str:
    return f"{value:,} of {limit:,} ({'ok' if value <= limit else 'OVER: raise it'})"


def report(figures: dict[str, Any]) -> str:
    quotas = figures["quotas"]
    lines = [
        "Scale model (bench/scale.py; per-order inputs from this run's cost, ingest and throughput"
        f" benchmarks; peak hour {figures['assumptions']['peak_hour_factor']:g} x the average)",
        "  inputs: "
        + "; ".join(
            f"{name} {value}" for name, value in figures["inputs"].items() if not isinstance(value, dict)
        ),
    ]
    for name, size in figures["sizes"].items():
        emails, sweep, sfn = size["emails"], size["sweep"], size["step_functions"]
        concurrency = size["lambda_concurrency_peak"]
        cost = size["cost_per_1000_orders_usd"]
        lines += [
            f"  {name}: {size['orders_per_s']['average']} orders/s on average,"
            f" {size['orders_per_s']['peak_hour']} in the peak hour;"
            f" {size['webhooks_per_s_peak']} webhooks/s at peak",
            f"    SES: {emails['per_month']:,} emails a month, {emails['per_s_peak']}/s at peak; MaxSendRate"
            f" needed {emails['ses_max_send_rate_needed']}/s: "
            + _check(emails["ses_max_send_rate_needed"], quotas["ses_production_start_per_s"])
            + "; a peak day's emails: "
            + _check(emails["per_peak_day"], quotas["ses_production_start_per_day"])
            + " (a first production grant)",
            f"    sweep: {sweep['workers_needed_at_peak']} workers at peak -> due shards"
            f" {sweep['due_shards']} ({'within' if sweep['due_shards_enough'] else 'beyond'}"
            f" the setting's {DUE_SHARDS_MAX});"
            f" due index writes per shard/s "
            + _check(
                sweep["due_index_writes_per_shard_per_s"], quotas["dynamodb_partition_write_units_per_s"]
            )
            + "; send-rate item writes/s "
            + _check(sweep["send_rate_item_writes_per_s"], quotas["dynamodb_partition_write_units_per_s"]),
            "    Lambda concurrency at peak "
            + _check(concurrency["total"], quotas["lambda_concurrent_executions"])
            + f"; stores partition reads/s {size['stores_partition_reads_per_s']}",
            f"    busiest table {size['busiest_table']['name']}: writes/s "
            + _check(
                size["busiest_table"]["writes_per_s"],
                quotas["dynamodb_new_on_demand_table_write_units_per_s"],
            )
            + f" (a new on-demand table's instant capacity; the table quota is"
            f" {quotas['dynamodb_table_units_per_s']:,})",
            "    Step Functions: starts/s "
            + _check(sfn["starts_per_s_peak"], quotas["sfn_start_execution_refill_per_s"])
            + "; transitions/s "
            + _check(sfn["transitions_per_s_peak"], quotas["sfn_state_transition_refill_per_s"])
            + "; open executions (bound) "
            + _check(sfn["open_executions_bound"], quotas["sfn_open_executions"]),
            f"    cost per 1,000 orders: SES ${cost['SES']:.4f} + everything else"
            f" ${cost['everything else']:.4f} + fixed costs spread ${cost['fixed costs spread']:.4f}"
            f" = ${cost['total']:.4f}",
        ]
    return "\n".join(lines)


if __name__ == "__main__":
    print(report(run()))
