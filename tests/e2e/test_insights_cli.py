"""An operator rebuilds a store's insights counters on the local stack: `aftercare insights rebuild`."""

from __future__ import annotations

import re
import subprocess
from typing import Any

import pytest

from tests.conftest import DevStackProcess

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("devstack")]


def cli(devstack: DevStackProcess, *args: str) -> Any:
    return subprocess.run(
        [devstack.command, *args],
        cwd=devstack.workdir,
        env=devstack.env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def figures(output: str) -> tuple[str, ...]:
    """What a rebuild read and wrote (not how long it took)."""
    found = re.search(
        r"read (\d+) answers, (\d+) requests, (\d+) flags, (\d+) returns; wrote (\d+) weeks", output
    )
    assert found, output
    return found.groups()


def test_rebuild_runs_against_the_local_stack_and_twice_is_once(devstack: DevStackProcess) -> None:
    first = cli(devstack, "insights", "rebuild", "--store", "demo")
    assert first.returncode == 0, first.stdout + first.stderr
    assert first.stdout.startswith(f"Rebuilt the insights of store demo at {devstack.url}")

    again = cli(devstack, "insights", "rebuild", "--store", "demo")
    assert again.returncode == 0, again.stderr
    assert figures(again.stdout) == figures(first.stdout)


def test_rebuild_of_an_unknown_store_says_so(devstack: DevStackProcess) -> None:
    result = cli(devstack, "insights", "rebuild", "--store", "no-such-store")
    assert result.returncode == 4
    assert result.stderr.startswith("aftercare: 404:")
