"""Run every benchmark, print a table per benchmark and a closing summary of every figure against its goal,
write bench/results.json. A benchmark that fails is reported and the others still run."""

from __future__ import annotations

import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

Row = tuple[str, str, str, str]  # what, measured, goal, verdict


def _row(name: str, figure: str, goal: str, met: bool | None) -> Row:
    return name, figure, goal, "-" if met is None else ("\u2713 met" if met else "\u2717 MISSED")


def _coldstart(figures: dict[str, Any]) -> list[Row]:
    from bench import coldstart

    app = figures["package"]["app from the package"]["ratio_to_boto3"]
    size = figures["zip"]
    limit = size["limit_bytes"]
    return [
        _row(
            "cold start: import app from the package",
            f"{app} x boto3",
            f"<= {coldstart.GOAL_RATIO} x",
            app <= coldstart.GOAL_RATIO,
        ),
        _row(
            "package: deployment.zip",
            f"{size['bytes'] / 2**20:.1f} MiB",
            f"<= {limit / 2**20:.0f} MiB",
            size["bytes"] <= limit,
        ),
    ]


def _ingest(figures: dict[str, Any]) -> list[Row]:
    from bench import ingest

    rows = []
    for case, title in (("1_items", "first event"), ("1_items_next_event", "next event")):
        entry = figures[case]
        ratio, calls = entry["cpu_ratio_to_baseline"], entry["dynamodb_calls_median"]
        measured = f"{ratio} x baseline (floor {entry['floor_ratio_to_baseline']} x)"
        rows.append(
            _row(
                f"ingest, {title}, 1 item: app CPU",
                measured,
                f"<= {ingest.GOAL_CPU_RATIO:g} x",
                ratio <= ingest.GOAL_CPU_RATIO,
            )
        )
        rows.append(
            _row(
                f"ingest, {title}, 1 item: DynamoDB calls",
                f"{calls:g}",
                f"<= {ingest.GOAL_CALLS}",
                calls <= ingest.GOAL_CALLS,
            )
        )
    twenty = figures["20_items"]["cpu_ratio_to_baseline"]
    rows.append(_row("ingest, first event, 20 items: app CPU", f"{twenty} x baseline", "(no goal)", None))
    return rows


def _sweep(figures: dict[str, Any]) -> list[Row]:
    read = figures["index_items_read_per_email"]
    return [_row("due sweep: index items read per email", f"{read}", "<= 1.2", read <= 1.2)]


def _throughput(figures: dict[str, Any]) -> list[Row]:
    from bench import throughput

    return [
        _row(
            "throughput: 8 workers, 200/s quota",
            f"{figures['eight_workers_emails_per_second']} emails/s",
            f">= {throughput.GOAL_RATE:g}/s",
            figures["goal_rate_met"],
        ),
        _row(
            "throughput: 8 workers vs 1",
            f"{figures['eight_vs_one_worker']} x",
            f">= {throughput.GOAL_SCALING:g} x",
            figures["goal_scaling_met"],
        ),
    ]


def _alerts(figures: dict[str, Any]) -> list[Row]:
    from bench import alerts

    latency = figures["latency"]
    p95 = latency["seconds"].get("p95", 99.0)
    every = latency["alerts_seen"] == latency["answers"]
    return [
        _row(
            "alert latency: p95 (median)",
            f"{p95} s ({latency['seconds'].get('median')} s)",
            f"< {alerts.GOAL_P95_SECONDS:g} s",
            every and p95 < alerts.GOAL_P95_SECONDS,
        ),
    ]


def _insights(figures: dict[str, Any]) -> list[Row]:
    from bench import insights

    reads = figures["items_read_52_weeks"]
    return [
        _row(
            "insights: items read for 52 weeks",
            f"{reads}",
            f"<= {insights.GOAL_READS}",
            reads <= insights.GOAL_READS,
        )
    ]


def _cost(figures: dict[str, Any]) -> list[Row]:
    from bench import cost

    non_ses, total = figures["non_ses_per_1000_orders_usd"], figures["total_per_1000_orders_usd"]
    return [
        _row(
            "cost per 1,000 orders, all but SES",
            f"${non_ses:.4f}",
            f"<= ${cost.GOAL_NON_SES:.2f}",
            non_ses <= cost.GOAL_NON_SES,
        ),
        _row("cost per 1,000 orders, total", f"${total:.4f}", "(no goal; SES most of it)", None),
    ]


SECTIONS: dict[str, Callable[[dict[str, Any]], list[Row]]] = {
    "coldstart": _coldstart,
    "ingest": _ingest,
    "sweep": _sweep,
    "throughput": _throughput,
    "alerts": _alerts,
    "insights": _insights,
    "cost": _cost,
}


def summary(figures: dict[str, dict[str, Any]]) -> list[Row]:
    """Every figure that has a goal, from this run's figures; a benchmark that failed is not measured."""
    rows: list[Row] = []
    for name, section in SECTIONS.items():
        if name in figures:
            rows += section(figures[name])
        else:
            rows.append(_row(f"{name}: not measured (it failed, see above)", "-", "-", False))
    return rows


def _table(rows: list[Row]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)) for row in rows]
    return "\n".join(["Summary: every figure against its goal (this run)", *("  " + line for line in lines)])


def main() -> int:
    from bench import alerts, coldstart, cost, ingest, insights, scale, sweep, throughput

    started = time.perf_counter()
    figures: dict[str, dict[str, Any]] = {}
    for name, module in (
        ("coldstart", coldstart),
        ("ingest", ingest),
        ("sweep", sweep),
        ("throughput", throughput),
        ("alerts", alerts),
        ("insights", insights),
        ("cost", cost),
        ("scale", scale),  # last: it reads what the others wrote
    ):
        try:
            figures[name] = module.run()
        except Exception:  # one benchmark's failure (moto timing out on a busy machine) loses no other
            print(f"{name}: FAILED, not measured\n{traceback.format_exc()}")
            continue
        print(module.report(figures[name]))
        print()
    print(_table([("what", "measured", "goal", "verdict"), *summary(figures)]))
    print(
        f"\nFigures written to {Path(__file__).parent / 'results.json'}"
        f" in {time.perf_counter() - started:.0f} s"
    )
    return 0 if all(name in figures for name in SECTIONS) else 1


if __name__ == "__main__":
    sys.exit(main())
