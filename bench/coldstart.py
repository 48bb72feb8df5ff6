"""Cold start: wall time of importing each Lambda entry point in a fresh interpreter, from the
development tree and from the deployment package as Lambda lays it out.

From the tree, compared with ``import boto3``, the floor any boto3 Lambda pays. From the package
(``make package``'s zip unzipped into a temporary folder, first on sys.path, with the venv's boto3
after it the way the Lambda runtime provides it, and no site-packages), compared with ``import boto3``
in that same layout, measured in the same run. Median of 9 runs each. Goals: ``import app`` at most
1.3 times ``import boto3`` in both layouts, and the zip at most 10 MiB."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.harness import save

ROOT = Path(__file__).resolve().parent.parent
RUNS = 9
GOAL_RATIO = 1.3
TREE = {
    "boto3 (baseline)": "import boto3",
    "app (every function: the API, schedules, stream, workflow)": "import app",
    "app + boto3 (what a first request pays)": "import app, boto3",
}
PACKAGE = {
    "boto3, Lambda layout (baseline)": "import boto3",
    "app from the package": "import app",
    "app + boto3 from the package": "import app, boto3",
}


def _time_tree(statement: str) -> float:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AFTERCARE_", "AWS_ENDPOINT"))}
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", statement], cwd=ROOT, env=env, check=True)
    return time.perf_counter() - started


def _package_timer(code: Path, runtime: Path) -> Callable[[str], float]:
    from aftercare import packaging

    def timed(statement: str) -> float:
        started = time.perf_counter()
        result = packaging.run_in_package(code, runtime, statement)
        elapsed = time.perf_counter() - started
        if result.returncode != 0:
            raise RuntimeError(f"{statement!r} failed from the package:\n{result.stderr[-2000:]}")
        return elapsed

    return timed


def _measure(statements: dict[str, str], timer: Callable[[str], float]) -> dict[str, Any]:
    for statement in statements.values():  # warm the file cache once
        timer(statement)
    figures: dict[str, Any] = {}
    for name, statement in statements.items():
        samples = [timer(statement) for _ in range(RUNS)]
        figures[name] = {"median_ms": round(statistics.median(samples) * 1000, 1), "runs": RUNS}
    base = next(iter(figures.values()))["median_ms"]
    for entry in figures.values():
        entry["ratio_to_boto3"] = round(entry["median_ms"] / base, 2)
    return figures


def run() -> dict[str, Any]:
    from aftercare import packaging

    figures: dict[str, Any] = {"tree": _measure(TREE, _time_tree)}
    with tempfile.TemporaryDirectory(prefix="aftercare-coldstart-") as temp:
        out = Path(temp) / "package"
        packaging.build(out, lint=False)
        zip_path = out / "deployment.zip"
        code = packaging.unzip(zip_path, Path(temp) / "task")
        runtime = packaging.lambda_runtime(Path(temp) / "runtime")
        figures["package"] = _measure(PACKAGE, _package_timer(code, runtime))
        figures["zip"] = {
            "bytes": zip_path.stat().st_size,
            "limit_bytes": packaging.ZIP_LIMIT_BYTES,
            "biggest": packaging.biggest_entries(zip_path, 3),
        }
    save("coldstart", figures)
    return figures


def report(figures: dict[str, Any]) -> str:
    lines = [
        f"Cold start (fresh interpreter, median of {RUNS}; goal app <= {GOAL_RATIO}x boto3 in each layout)"
    ]
    for layout, title in (("tree", "from the development tree"), ("package", "from the unzipped package")):
        lines.append(f"  {title}:")
        for name, entry in figures[layout].items():
            verdict = ""
            if name.startswith("app ") and "boto3" not in name.removeprefix("app "):
                verdict = "  meets the goal" if entry["ratio_to_boto3"] <= GOAL_RATIO else "  MISSES the goal"
            lines.append(
                f"    {name:<66}{entry['median_ms']:>8.1f} ms  {entry['ratio_to_boto3']:>5}x{verdict}"
            )
    size = figures["zip"]
    verdict = "meets the goal" if size["bytes"] <= size["limit_bytes"] else "MISSES the goal"
    lines.append(
        f"  deployment.zip {size['bytes'] / 2**20:.1f} MiB (goal <= {size['limit_bytes'] / 2**20:.0f} MiB): "
        f"{verdict}; biggest entry {size['biggest'][0][0]} ({size['biggest'][0][1] / 2**20:.1f} MiB)"
    )
    return "\n".join(lines)


if __name__ == "__main__":
    print(report(run()))
