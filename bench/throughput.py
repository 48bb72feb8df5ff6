"""Sweep throughput with AWS's latency: emails per second with 1, 2, 4 and 8 workers, and what limits each.

Every AWS call the app makes reaches moto (in its own process) and is then held until it has taken the
modelled latency: SES ``SendEmail`` 60 ms, every DynamoDB call 8 ms (others with ``python -m
bench.throughput --ses-ms 80 --dynamodb-ms 10`` or ``run(Latency(...))``). SES's ``MaxSendRate`` is
simulated at 200/s and the sweep takes its configured share of it. The workers are the real ones
(``sweep.work``: claim, check, reserve, compose, send, record, the shared DynamoDB send-rate window),
each with a limiter of its own as each Lambda would have, as threads of this process, one per shard.

Time is slowed by a factor per row (every latency and every second of the limiter k times longer,
figures converted back), chosen so that the CPU this 2-core machine spends (moto's ~6 ms per call, the
app's own work) stays well under what it has: on AWS neither is ours to share, each worker is its own
Lambda and each service has its own machines. The CPU used during each row is printed beside it; the
app's CPU per email, which a worker does pay, is printed separately with what it means for a worker.

The baseline, measured in the same run, is the sweep before fan-out: every shard in turn, one email at a
time, no send-rate limiter.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.harness import create_store, moto_server, provision_local, save

SES_MS = 60.0
DYNAMODB_MS = 8.0
QUOTA = 200.0  # simulated MaxSendRate, emails per second
WORKERS = (1, 2, 4, 8)
MODELLED_SECONDS = 4.5  # how long each row runs, in modelled time (the rate is read over its whole seconds)
SLOWDOWN = {0: 3, 1: 4, 2: 6, 4: 9, 8: 12}  # workers (0: the baseline) -> time slowed by this factor
GOAL_RATE = 100.0
GOAL_SCALING = 6.0
FULL_VCPU_MB = 1769  # Lambda gives a full vCPU at 1,769 MB, in proportion below


def _worker_memory_mb() -> int:
    """The sweep worker's memory size, as .chalice/config.json deploys it."""
    config = json.loads((Path(__file__).resolve().parent.parent / ".chalice" / "config.json").read_text())
    return int(config["lambda_functions"]["sweep_worker"]["lambda_memory_size"])


@dataclass
class Latency:
    """Holds each AWS call until it has taken its modelled time times ``slowdown``; counts SES sends."""

    ses_ms: float = SES_MS
    dynamodb_ms: float = DYNAMODB_MS
    slowdown: float = 1.0

    def __post_init__(self) -> None:
        self._local = threading.local()
        self.sends: list[float] = []  # wall time every SES send was made
        self.calls = 0
        self._lock = threading.Lock()

    def attach(self, client: Any, service: str, ms: float) -> None:
        def started(**_: Any) -> None:
            self._local.started = time.perf_counter()
            self._local.sent_at = time.time()

        def finished(**_: Any) -> None:
            held = ms * self.slowdown / 1000 - (time.perf_counter() - self._local.started)
            if held > 0:
                time.sleep(held)
            with self._lock:
                self.calls += 1
                if service == "sesv2":
                    self.sends.append(self._local.sent_at)  # when SES received it: what its rate counts

        # per HTTP attempt, answered or refused (a lost condition takes its time too)
        client.meta.events.register(f"before-send.{service}", started)
        client.meta.events.register(f"needs-retry.{service}", finished)

    def per_second(self, since: float, until: float) -> list[int]:
        """SES sends in each whole modelled second between ``since`` and ``until`` (wall times), the same
        seconds the limiter counts (a modelled second lasts ``slowdown`` wall seconds)."""
        first, last = math.ceil(since / self.slowdown), math.floor(until / self.slowdown)
        counts = dict.fromkeys(range(first, last), 0)
        for at in self.sends:
            second = math.floor(at / self.slowdown)
            if second in counts:
                counts[second] += 1
        return list(counts.values())


def _moto_cpu(port: str) -> float:
    """CPU seconds of the moto server listening on ``port`` (found through /proc)."""
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            if b"moto.server" in command and port.encode() in command:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except OSError:
            continue
    return 0.0


def _seed(store_id: str, due: int) -> None:
    from bench.sweep import _seed as seed

    seed(store_id, due, 1)  # every item due now, each for its own customer


@dataclass
class ModelTime:
    """The limiter's seconds in modelled time: a modelled second lasts ``slowdown`` wall seconds."""

    slowdown: float

    def seconds(self) -> float:
        return time.time() / self.slowdown

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds * self.slowdown)


def _row(workers: int, latency: Latency, port: str, first: int) -> dict[str, Any]:
    """Run the sweep with ``workers`` shard workers (0: the pre-fan-out baseline), starting at shard
    ``first``, for ``MODELLED_SECONDS``."""
    from concurrent.futures import ThreadPoolExecutor
    from dataclasses import replace

    from functions import composition
    from functions.outreach import sweep
    from functions.outreach.limiter import SendRateLimiter

    slowdown = SLOWDOWN[workers]
    latency.slowdown = slowdown
    os.environ["AFTERCARE_SEND_RATE"] = str(QUOTA)
    composition.reset()
    adapters = composition.adapters()
    ports = composition.sweep_ports()
    settings = adapters.settings
    concurrency = ports.settings.concurrency
    deadline = time.monotonic() + MODELLED_SECONDS * slowdown

    def remaining_ms() -> int:  # workers stop starting groups 15 s before a Lambda's end: stop at SECONDS
        return int((deadline - time.monotonic()) * 1000) + sweep.TIME_MARGIN_MS

    # Each worker is its own Lambda on AWS, so each has its own limiter (sharing the DynamoDB windows)
    limiters = [
        SendRateLimiter(
            adapters.send_rate.windows,
            adapters.send_rate.quota,
            settings.sweep_send_share,
            chunk=concurrency,
            timer=ModelTime(slowdown),
        )
        for _ in range(max(workers, 1))
    ]
    shards = [(first + n) % ports.queue.shards for n in range(max(workers, 1))]  # each row its own shards
    windows = adapters.send_rate.windows
    writes = windows.writes  # type: ignore[attr-defined]
    started, since, cpu, moto = time.perf_counter(), time.time(), time.process_time(), _moto_cpu(port)
    with contextlib.redirect_stdout(io.StringIO()):  # EMF metric lines are noise here
        report = sweep.Report()
        if workers == 0:
            old = replace(ports, mailer=adapters.mailer, settings=replace(ports.settings, concurrency=1))
            for shard in range(ports.queue.shards):
                report.add(sweep.work(old, (first + shard) % ports.queue.shards, remaining_ms))
        else:
            own = [replace(ports, mailer=adapters.mailer.paced(limiter)) for limiter in limiters]  # type: ignore[attr-defined]
            with ThreadPoolExecutor(workers) as pool:
                for done in pool.map(lambda n: sweep.work(own[n], shards[n], remaining_ms), range(workers)):
                    report.add(done)
    wall = time.perf_counter() - started
    cpu = time.process_time() - cpu
    moto = _moto_cpu(port) - moto
    modelled = wall / slowdown
    seconds = latency.per_second(since, time.time())
    rate = sum(seconds) / len(seconds) if seconds else report.emails / modelled
    allowed = QUOTA * settings.sweep_send_share
    waited = sum(limiter.waited_seconds for limiter in limiters) * slowdown  # wall seconds
    return {
        "workers": workers,
        "modelled_seconds": round(modelled, 2),
        "threads_per_worker": 1 if workers == 0 else concurrency,
        "slowdown": slowdown,
        "emails": report.emails,
        "emails_per_second": round(rate, 1),
        "ms_per_email_per_thread": round(
            1000 * modelled * (1 if workers == 0 else workers * concurrency) / max(report.emails, 1), 1
        ),
        "limiter_waited_share": round(waited / max(wall, 1e-9) / max(workers, 1), 3),
        "allowed_per_second": allowed,
        "busiest_ses_second": max(seconds, default=0),
        "whole_seconds": len(seconds),
        "machine_cpu_share": round((cpu + moto) / wall / 2, 2),
        "app_cpu_ms_per_email": round(1000 * cpu / max(report.emails, 1), 1),
        "limiter_writes_per_email": round(
            (windows.writes - writes) / max(report.emails, 1),  # type: ignore[attr-defined]
            2,
        ),
        "failed": report.failed,
        "retried": report.retried,
    }


def _bottleneck(row: dict[str, Any]) -> str:
    if row["workers"] == 0:
        return f"one email at a time: {row['ms_per_email_per_thread']:.0f} ms of AWS calls each"
    if row["emails_per_second"] >= 0.9 * row["allowed_per_second"] or row["limiter_waited_share"] > 0.05:
        return f"the SES quota (the limiter holds all workers to {row['allowed_per_second']:.0f}/s)"
    threads = row["workers"] * row["threads_per_worker"]
    return f"{threads} threads x {row['ms_per_email_per_thread']:.0f} ms of AWS calls per email"


def run(latency: Latency | None = None, due: int = 3200) -> dict[str, Any]:
    from functions.shared import aws

    latency = latency or Latency()
    with moto_server() as url:
        provisioned = provision_local("bench-throughput")
        create_store(provisioned, "sweep-shop")
        _seed("sweep-shop", due)
        latency.attach(aws.dynamodb(), "dynamodb", latency.dynamodb_ms)
        latency.attach(aws.sesv2(), "sesv2", latency.ses_ms)
        port = url.rsplit(":", 1)[1]
        rows = [_row(workers, latency, port, first) for first, workers in enumerate((0, *WORKERS))]
    baseline = rows[0]["emails_per_second"]
    single = rows[1]["emails_per_second"]
    for row in rows:
        row["vs_baseline"] = round(row["emails_per_second"] / baseline, 1)
        row["bottleneck"] = _bottleneck(row)
    eight = rows[-1]
    app_cpu = rows[0]["app_cpu_ms_per_email"]  # one thread: the app's own work, least disturbed
    figures = {
        "ses_ms": latency.ses_ms,
        "dynamodb_ms": latency.dynamodb_ms,
        "max_send_rate": QUOTA,
        "rows": rows,
        "baseline_emails_per_second": baseline,
        "eight_workers_emails_per_second": eight["emails_per_second"],
        "eight_vs_one_worker": round(eight["emails_per_second"] / single, 1),
        "goal_rate_met": eight["emails_per_second"] >= GOAL_RATE,
        "goal_scaling_met": eight["emails_per_second"] >= GOAL_SCALING * single,
        "app_cpu_ms_per_email": app_cpu,
        "worker_memory_mb": _worker_memory_mb(),
        "worker_cpu_ceiling": round(1000 / app_cpu * min(1.0, _worker_memory_mb() / FULL_VCPU_MB), 1),
    }
    save("throughput", figures)
    return figures


def report(figures: dict[str, Any]) -> str:
    rate_goal = "met" if figures["goal_rate_met"] else "MISSED"
    scaling_goal = "met" if figures["goal_scaling_met"] else "MISSED"
    lines = [
        f"Sweep throughput (SES {figures['ses_ms']:.0f} ms, DynamoDB {figures['dynamodb_ms']:.0f} ms a call, "
        f"MaxSendRate {figures['max_send_rate']:.0f}/s; moto in its own process)",
        "  workers x threads   emails/s  vs baseline  busiest SES second  CPU used  bottleneck",
    ]
    for row in figures["rows"]:
        name = (
            "baseline (old sweep)"
            if row["workers"] == 0
            else f"{row['workers']} x {row['threads_per_worker']}"
        )
        lines.append(
            f"  {name:<20}{row['emails_per_second']:>8}{row['vs_baseline']:>13}"
            f"{row['busiest_ses_second']:>20}{row['machine_cpu_share']:>10.0%}  {row['bottleneck']}"
        )
    lines += [
        f"  goal: >= 100 emails/s with 8 workers and a 200/s quota: "
        f"{figures['eight_workers_emails_per_second']} ({rate_goal}); "
        f"8 workers >= 6 x 1 worker: {figures['eight_vs_one_worker']} x ({scaling_goal})",
        f"  app CPU per email {figures['app_cpu_ms_per_email']} ms: a worker at its "
        f"{figures['worker_memory_mb']:,} MB could send at most {figures['worker_cpu_ceiling']}/s "
        f"(8 workers need {figures['max_send_rate'] * 0.9 / 8:.1f}/s each to reach the quota)",
        "  (emails/s: SES sends per whole second of each row's run; each row's time slowed so this machine's",
        "  CPU is never the limit, figures given in real time)",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ses-ms", type=float, default=SES_MS, help="SES SendEmail latency")
    parser.add_argument("--dynamodb-ms", type=float, default=DYNAMODB_MS, help="latency of a DynamoDB call")
    arguments = parser.parse_args()
    print(report(run(Latency(arguments.ses_ms, arguments.dynamodb_ms))))
