"""Cold start: wall time of importing each Lambda entry point in a fresh interpreter.

Compared with ``import boto3``, the floor any boto3 Lambda pays. Median of 9 runs each;
goal: ``import app`` at most 1.3 times ``import boto3``."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.harness import save

ROOT = Path(__file__).resolve().parent.parent
RUNS = 9
ENTRY_POINTS = {
    "boto3 (baseline)": "import boto3",
    "app (every function: the API, schedules, stream, workflow)": "import app",
    "app + boto3 (what a first request pays)": "import app, boto3",
}


def _time(statement: str) -> float:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AFTERCARE_", "AWS_ENDPOINT"))}
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", statement], cwd=ROOT, env=env, check=True)
    return time.perf_counter() - started


def run() -> dict[str, Any]:
    for statement in ENTRY_POINTS.values():  # warm the file cache once
        _time(statement)
    figures: dict[str, Any] = {}
    for name, statement in ENTRY_POINTS.items():
        samples = [_time(statement) for _ in range(RUNS)]
        figures[name] = {"median_ms": round(statistics.median(samples) * 1000, 1), "runs": RUNS}
    base = figures["boto3 (baseline)"]["median_ms"]
    for entry in figures.values():
        entry["ratio_to_boto3"] = round(entry["median_ms"] / base, 2)
    save("coldstart", figures)
    return figures


def report(figures: dict[str, Any]) -> str:
    lines = [f"Cold start (fresh interpreter, median of {RUNS}; goal app <= 1.3x boto3)"]
    for name, entry in figures.items():
        lines.append(f"  {name:<78}{entry['median_ms']:>8.1f} ms  {entry['ratio_to_boto3']:>5}x")
    return "\n".join(lines)


if __name__ == "__main__":
    print(report(run()))
