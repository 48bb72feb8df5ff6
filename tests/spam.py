"""SpamAssassin's verdict on an email, as ``spamassassin -L -t`` gives it, from one ``spamd`` a test process.

The command line loads and compiles every rule for each message (about 1.7 s); ``spamd`` loads them once
and answers ``spamc`` in about 0.1 s with the same report. The daemon is started on first use, listens
only on a Unix socket in a fresh temporary folder (nothing on the network, no port to race for), runs the
same local rules as ``spamassassin -L`` (no network tests, no user preferences, no Bayes database to learn
into, which a fresh ``-t`` run cannot use either: it has learned no spam) and is stopped when the test
session ends (``pytest_sessionfinish`` in tests/conftest.py) or, failing that, when the process exits.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pytest

SPAMD = Path("/usr/sbin/spamd")
MISSING = "Debian {} is missing: `make system-deps` (run by `make test`) installs it"
_TOTAL = re.compile(r"^Content analysis details:\s+\((-?[\d.]+) points", re.M)
_RULE = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s+([A-Za-z0-9_]+)\s")  # " 2.7 MISSING_DATE", "1000 GTUBE"
MAX_SIZE = 256 * 1024 * 1024 - 1  # spamc passes larger messages through unchecked; none may be skipped


@dataclass(frozen=True)
class Verdict:
    """One email's score and every rule that hit it, with its points as SpamAssassin prints them."""

    score: float
    rules: tuple[tuple[str, str], ...]  # by name: SpamAssassin lists them in an order that varies by run
    report: str

    @property
    def hits(self) -> set[str]:
        """Every rule that hit, informational (0 points) and negative ones included."""
        return {name for name, _ in self.rules}

    @property
    def scoring(self) -> list[tuple[str, str]]:
        """The rules that added points, by name."""
        return [(name, points) for name, points in self.rules if float(points) > 0]

    def scoring_text(self) -> str:
        """The rules that added points, as ``NAME points, NAME points``."""
        return ", ".join(f"{name} {points}" for name, points in self.scoring)


def parse(report: str) -> Verdict:
    """The verdict in a report of ``spamassassin -t`` or ``spamc -R`` (the same text)."""
    total = _TOTAL.search(report)
    assert total, report
    # the table under the heading: one line a rule (descriptions may go on, indented, on the next lines),
    # up to the first empty line
    table = report[total.end() :].split("\n----", 1)[1].split("\n", 1)[1].split("\n\n", 1)[0]
    rules = sorted((hit.group(2), hit.group(1)) for hit in map(_RULE.match, table.splitlines()) if hit)
    return Verdict(float(total.group(1)), tuple(rules), report)


class Spamd:
    """One ``spamd`` on a Unix socket of its own, with its log beside it."""

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="aftercare-spamd-"))
        self.socket = self.folder / "spamd.sock"
        self.log = self.folder / "spamd.log"
        command = [
            str(SPAMD),
            "--local",  # as spamassassin -L: no network tests
            "--nouser-config",
            "--cf=use_bayes 0",
            "--cf=bayes_auto_learn 0",
            f"--socketpath={self.socket}",
            "--max-children=1",
            "--syslog=stderr",
        ]
        if os.geteuid() == 0:
            command.append("--username=nobody")  # spamd will not check mail as root; its parent stays
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, cwd=self.folder
            )
        self._wait_until_it_answers()

    def _wait_until_it_answers(self) -> None:
        for _ in range(1200):  # loading the rules takes 2 s alone, far longer on a busy machine
            if self.process.poll() is not None:
                raise RuntimeError(f"spamd stopped ({self.process.returncode}):\n{self.log.read_text()}")
            if self.socket.exists() and self._spamc("-K").returncode == 0:
                return
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(0.1)  # a tenth of a second for it to load, unless it stops
        self.stop()
        raise RuntimeError("spamd did not answer:\n" + self.log.read_text())

    def _spamc(self, *args: str, message: bytes = b"") -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(
            ["spamc", "-U", str(self.socket), "-x", *args],
            input=message,
            capture_output=True,
            timeout=300,
            check=False,
        )

    def verdict(self, message: bytes) -> Verdict:
        result = self._spamc("-R", "-s", str(MAX_SIZE), message=message)
        report = result.stdout.decode("utf-8", "replace")
        # -R exits 1 for spam and 0 for ham; -x makes every failure another code instead of a pass-through
        assert result.returncode in (0, 1), (
            f"spamc failed ({result.returncode}): {result.stderr.decode('utf-8', 'replace')}\n"
            + self.log.read_text()
        )
        return parse(report)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # spamd stops its children and removes the socket
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.folder, ignore_errors=True)


_daemon: Spamd | None = None
_lock = threading.Lock()


def _running() -> Spamd:
    global _daemon
    with _lock:
        if _daemon is None:
            for tool in ("spamassassin", "spamc"):
                if shutil.which(tool) is None:
                    pytest.fail(MISSING.format(tool))
            if not SPAMD.exists():
                pytest.fail(MISSING.format("spamd"))
            _daemon = Spamd()
            atexit.register(stop)
        return _daemon


def verdict(message: bytes) -> Verdict:
    """SpamAssassin's local verdict on one email (the same as ``spamassassin -L -t`` gives)."""
    return _running().verdict(message)


def verdicts(messages: Iterable[bytes]) -> list[Verdict]:
    """The verdicts of several emails, in their order."""
    daemon = _running()
    return [daemon.verdict(message) for message in messages]


def stop() -> None:
    """Stop this process's spamd, if it started one."""
    global _daemon
    with _lock:
        if _daemon is not None:
            _daemon.stop()
            _daemon = None
