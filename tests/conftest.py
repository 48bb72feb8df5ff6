"""Shared fixtures. AWS credentials are fake everywhere: no test can reach a real account."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_DISABLED": "true",
        "POWERTOOLS_LOG_LEVEL": "WARNING",
        "AFTERCARE_SENTIMENT": "local",
        "AFTERCARE_ALLOW_LOOPBACK_ENDPOINTS": "true",  # test refund endpoints listen on 127.0.0.1
    }
)
os.environ.pop("AWS_ENDPOINT_URL", None)
for _key, _value in __import__("aftercare.devstack.runner", fromlist=["x"]).chalice_environment().items():
    os.environ.setdefault(_key, _value)
os.environ.pop("AWS_PROFILE", None)

SFN_CONFIG: Any = {"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}


def _reset_process_caches() -> None:
    from functions import composition
    from functions.shared import aws, secrets
    from functions.shared.clock import clock

    composition.reset()
    aws.reset_clients()
    secrets.reset_secrets()
    clock.reset()


def _remember_valid_state_machines() -> None:
    """Check each Step Functions definition once per test process instead of once per test.

    moto validates a definition by parsing it with its ANTLR grammar on every CreateStateMachine, about
    0.27 s, a third of a fresh moto account's setup, and the definition is the same in every test. A
    definition that parsed once is not parsed again; an invalid one still fails every time.
    """
    from moto.stepfunctions.parser.models import StepFunctionsParserBackend

    original = StepFunctionsParserBackend._validate_definition
    if getattr(original, "remembers", False):
        return
    valid: set[str] = set()

    def validate(definition: str) -> None:
        if definition not in valid:
            original(definition)
            valid.add(definition)

    validate.remembers = True  # type: ignore[attr-defined]
    StepFunctionsParserBackend._validate_definition = staticmethod(validate)  # type: ignore[method-assign]


def _share_botocore_data() -> None:
    """Read botocore's model files once per test process instead of once per client.

    Each test starts a fresh moto account and drops the code's cached clients, so every test builds its
    clients anew (about eight), each through a new boto3 session whose loader parses the service model,
    the endpoint rules and the partitions from JSON again: a quarter of an integration test's time. The
    loader's own per-session cache is made one cache per search path for the whole process, as if every
    session shared one loader, which is what a long-running process with one session has. The data is the
    same; clients are still built per test, against each test's own moto.
    """
    from botocore import loaders

    if getattr(loaders.Loader.load_service_model, "shared", False):
        return
    for name in (
        "list_available_services",
        "determine_latest_version",
        "list_api_versions",
        "load_service_model",
        "load_data_with_path",
    ):
        per_loader = getattr(loaders.Loader, name)
        results: dict[Any, Any] = {}

        def shared(
            self: Any, *args: Any, _method: Any = per_loader, _results: Any = results, **kwargs: Any
        ) -> Any:
            key = (tuple(self.search_paths), tuple(self.extras_types), args, tuple(sorted(kwargs.items())))
            if key not in _results:
                _results[key] = _method(self, *args, **kwargs)
            return _results[key]

        shared.shared = True  # type: ignore[attr-defined]
        setattr(loaders.Loader, name, shared)


def _reuse_kms_key_material() -> None:
    """Give every moto KMS key of a kind the same key material, made once per test process.

    moto makes an RSA key pair for every KMS key, even a symmetric one, and each fresh account's first
    encrypted table creates DynamoDB's default key: 60 ms of every test's setup. Nothing here encrypts or
    signs with KMS; the keys themselves (ids, aliases, ARNs) are still made per account.
    """
    from moto.kms import models as kms_models

    models: Any = kms_models  # generate_private_key is moto's, not in its exported names
    original = getattr(models, "generate_private_key")  # noqa: B009 (moto does not export it)
    if getattr(original, "reused", False):
        return
    made: dict[str, Any] = {}

    def reuse(key_spec: str) -> Any:
        if key_spec not in made:
            made[key_spec] = original(key_spec)
        return made[key_spec]

    reuse.reused = True  # type: ignore[attr-defined]
    setattr(models, "generate_private_key", reuse)  # noqa: B010


def shut_down_at_once(shutdown: Any, address: Any) -> None:
    """Run the blocking ``shutdown`` of an ``http.server`` serving on ``address``, waking it with a
    connection: its loop looks for the stop only between polls, half a second apart when nothing comes."""
    import contextlib
    import socket
    import threading

    stopping = threading.Thread(target=shutdown, name="shut-down")
    stopping.start()
    while stopping.is_alive():
        with contextlib.suppress(OSError):  # refused once it stops listening: done, or about to be
            socket.create_connection(address[:2], timeout=5).close()
        stopping.join(0.05)


@pytest.fixture
def aws_stack(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A fresh moto account with everything in infra/ provisioned and the environment wired."""
    from moto import mock_aws

    import app
    from aftercare.devstack import lambdas
    from aftercare.devstack.motolock import serialize_dynamodb
    from aftercare.devstack.provision import local_function_refs, provision

    serialize_dynamodb()  # DynamoDB's atomicity, which in-process moto lacks (stays on for the session)
    _remember_valid_state_machines()
    _share_botocore_data()
    _reuse_kms_key_material()
    with mock_aws(config=SFN_CONFIG):
        lambdas.install()
        lambdas.register_app(app.app, "test")  # Step Functions tasks run the real handlers
        provisioned = provision(
            "test",
            public_base_url="https://care.example.com",
            function_refs=local_function_refs(app.app, "test"),
        )
        for key, value in provisioned.environment.items():
            monkeypatch.setenv(key, value)
        _reset_process_caches()
        yield provisioned
        lambdas.clear()
        lambdas.uninstall()
    _reset_process_caches()


@pytest.fixture
def api(aws_stack: Any) -> Any:
    import app
    from tests.helpers import ApiClient

    return ApiClient(app.app)


@pytest.fixture
def operator_key(aws_stack: Any) -> str:
    return str(aws_stack.secret_values["OperatorKeySecret"])


@pytest.fixture
def frozen(aws_stack: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The clock pinned at T0, with SES retries made fast."""
    from functions import composition
    from functions.shared import clock
    from tests.shop import T0

    monkeypatch.setenv("AFTERCARE_SEND_RETRY_BASE_MS", "1")
    composition.reset()
    clock.clock.freeze(T0)
    yield aws_stack


@pytest.fixture
def world(frozen: Any, api: Any, operator_key: str) -> Iterator[Any]:
    """The whole system in this process (tests/world.py): stores, time, streams, a store refund desk."""
    from aftercare.devstack import lambdas
    from aftercare.devstack.streams import Mapping, StreamPump
    from tests.world import StoreDesk, World

    pump = StreamPump(
        [
            Mapping(
                table=frozen.tables["ResponsesTable"],
                stream_arn=frozen.stream_arns["ResponsesTable"],
                function_name="test-flag_responses",
                handler=lambdas._handlers["test-flag_responses"],
                batch_size=10,
                max_retries=2,
            )
        ]
    )
    desk = StoreDesk()
    yield World(api, operator_key, desk, pump)
    shut_down_at_once(desk.close, desk.server.server_address)


@pytest.fixture
def store_config() -> dict[str, Any]:
    from tests.helpers import minimal_store_config

    return minimal_store_config()


# ----------------------------------------------------------------------------- local stack process


class DevStackProcess:
    """``aftercare dev --demo`` running as a real process, as a developer would start it (``demo=False``:
    ``aftercare dev``, no demo store or history, for tests of the stack itself)."""

    def __init__(self, workdir: Any, port: int, *, demo: bool = True, extra: tuple[str, ...] = ()) -> None:
        import subprocess
        import sys
        import threading
        from pathlib import Path

        self.workdir = workdir
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.command = str(Path(sys.executable).parent / "aftercare")
        env = {
            k: v for k, v in os.environ.items() if not k.startswith("AFTERCARE_") and k != "AWS_ENDPOINT_URL"
        }
        self.env = env
        self.process = subprocess.Popen(
            [self.command, "dev", *(["--demo"] if demo else []), "--port", str(port), *extra],
            cwd=workdir,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.output: list[str] = []
        self._ready = threading.Event()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        if not self._ready.wait(180):  # the demo history takes ~20 s alone, longer beside other tests
            self.stop()
            raise RuntimeError("local stack did not start:\n" + "".join(self.output))

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.output.append(line)
            if line.startswith("Stop: Ctrl-C"):
                self._ready.set()
        self._ready.set()

    @property
    def state(self) -> dict[str, Any]:
        import json

        return dict(json.loads((self.workdir / ".aftercare" / f"stack-{self.port}" / "dev.json").read_text()))

    def cli(self, *args: str) -> Any:
        import subprocess

        return subprocess.run(
            [self.command, *args],
            cwd=self.workdir,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    def stop(self) -> int:
        import signal
        import subprocess

        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return int(self.process.returncode)


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def devstack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevStackProcess]:
    stack = DevStackProcess(tmp_path_factory.mktemp("devstack"), free_port())
    yield stack
    stack.stop()


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Keep ``--dist loadgroup`` working: tests of one ``xdist_group`` run on one worker.

    pytest-xdist 3.8 names a test's group by appending ``@<group>`` to ``item._nodeid``, which pytest 9 no
    longer reads (a node's id lives in ``item._id``), so its grouping silently did nothing and every worker
    started its own local stack. This applies the same suffix where pytest 9 reads it; it does nothing
    when xdist has applied it already or when tests are not distributed by group.
    """
    if not getattr(config.option, "loadgroup", False):
        return
    from _pytest.nodeid import coerce_node_id

    for item in items:
        names = sorted(
            {
                str(mark.args[0] if mark.args else mark.kwargs.get("name", "default"))
                for mark in item.iter_markers("xdist_group")
            }
        )
        suffix = "@" + "_".join(names)
        if names and not item.nodeid.endswith(suffix):
            item._id = coerce_node_id(item.nodeid + suffix)


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Stop the spamd that this process started for SpamAssassin's verdicts (tests/spam.py), if any."""
    import sys

    spam = sys.modules.get("tests.spam")
    if spam is not None:
        spam.stop()


_STARTED = __import__("time").time()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Add up the audit's counts: tests/browser/test_audit.py writes one report per locale it judged."""
    import json
    from pathlib import Path

    reports = Path(__file__).resolve().parents[1] / "build" / "audit"
    judged = [
        json.loads(path.read_text(encoding="utf-8"))
        for path in sorted(reports.glob("*.json"))
        if path.stat().st_mtime >= _STARTED
    ]
    if not judged:
        return
    terminalreporter.section("audit of every email and page")
    for report in judged:
        terminalreporter.line(
            f"{report['locale']}: {report['emails']} emails and {report['pages']} pages, "
            f"{report['renders']} renders, {report['violations']} axe violations, "
            f"{len(report['problems'])} problems, max SpamAssassin {report['max_spam_score'] + 0.0:.1f}"
        )
    terminalreporter.line(
        f"all: {sum(r['renders'] for r in judged)} renders in {len(judged)} locales, "
        f"{sum(r['violations'] for r in judged)} axe violations, "
        f"{sum(len(r['problems']) for r in judged)} problems, "
        f"max SpamAssassin {max(r['max_spam_score'] for r in judged) + 0.0:.1f}"
    )
