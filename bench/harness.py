"""Shared benchmark plumbing: a moto server in its own process (so this process's CPU time is the
application's alone), provisioning from infra/, and counting AWS calls."""

from __future__ import annotations

import json
import os
import socket
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results.json"

# The functions' Powertools settings, then quiet local-only ones, before any module creates its Logger.
for _key, _value in __import__("aftercare.devstack.runner", fromlist=["x"]).chalice_environment().items():
    os.environ.setdefault(_key, _value)
os.environ.update(
    {
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_DISABLED": "true",
        "POWERTOOLS_LOG_LEVEL": "ERROR",
        "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
    }
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def moto_server() -> Iterator[str]:
    """A moto server in a separate process; yields its URL with the AWS environment pointed at it."""
    port = _free_port()
    env = {**os.environ, "MOTO_PORT": str(port)}
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.05)
        os.environ.update(
            {
                "AWS_ENDPOINT_URL": url,
                "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": "testing",
                "AWS_DEFAULT_REGION": "us-east-1",
                "AWS_REGION": "us-east-1",
                "POWERTOOLS_TRACE_DISABLED": "true",
                "POWERTOOLS_METRICS_DISABLED": "true",
                "POWERTOOLS_LOG_LEVEL": "ERROR",
            }
        )
        yield url
    finally:
        process.terminate()
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


def provision_local(prefix: str) -> Any:
    """Provision infra/ on the running moto and point the app's settings at it."""
    import app
    from aftercare.devstack.provision import local_function_refs, provision
    from functions import composition
    from functions.shared import aws, secrets

    provisioned = provision(
        prefix, public_base_url="https://care.example.com", function_refs=local_function_refs(app.app, prefix)
    )
    os.environ.update(provisioned.environment)
    composition.reset()
    aws.reset_clients()
    secrets.reset_secrets()
    return provisioned


class CallCounter:
    """Counts API calls made through a boto3 client, by operation."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()

    def attach(self, client: Any, service: str) -> None:
        def count(model: Any, **kwargs: Any) -> None:
            self.calls[f"{service}:{model.name}"] += 1

        client.meta.events.register(f"before-call.{service}.*", count)

    def total(self, prefix: str = "") -> int:
        return sum(n for name, n in self.calls.items() if name.startswith(prefix))

    def reset(self) -> None:
        self.calls.clear()


def summarize(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {"median": round(statistics.median(ordered), 3), "p95": round(p95, 3), "n": len(ordered)}


def save(section: str, figures: dict[str, Any]) -> None:
    data = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    data[section] = figures
    RESULTS.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")


def create_store(provisioned: Any, store_id: str) -> dict[str, Any]:
    """Create a store as an operator does, through the admin API; its answer (webhook secrets, admin key)."""
    import app as application
    from tests.helpers import ApiClient, bearer, minimal_store_config

    created = ApiClient(application.app).post(
        "/v1/admin/stores",
        json_body={"config": minimal_store_config(store_id)},
        headers=bearer(provisioned.secret_values["OperatorKeySecret"]),
    )
    assert created.status == 201, created.text
    return dict(created.json)
