"""``aftercare dev``: the whole stack in one process on 127.0.0.1.

moto serves DynamoDB, SES, Step Functions, Secrets Manager and Lambda; everything is provisioned
from infra/; the Chalice app is served like API Gateway would; a background loop fires schedules on
the simulated clock and delivers DynamoDB stream records; the dev console lives at /_dev/.
"""

from __future__ import annotations

import contextlib
import errno
import importlib
import json
import logging
import os
import signal
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

FUNCTION_PREFIX = "aftercare-local"
DEMO_OWNER = "owner@demo-outfitters.example"
SFN_CONFIG = {"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}


def chalice_environment() -> dict[str, str]:
    """The environment .chalice/config.json gives every function (Powertools settings)."""
    from aftercare.infra import ROOT

    config = json.loads((ROOT / ".chalice" / "config.json").read_text(encoding="utf-8"))
    return {str(k): str(v) for k, v in config.get("environment_variables", {}).items()}


def local_aws_environment(verbose: bool = False) -> None:
    """Credentials and settings that keep every AWS call on this machine."""
    chosen_level = os.environ.get("POWERTOOLS_LOG_LEVEL")  # the developer's own, before .chalice's INFO
    for key, value in chalice_environment().items():
        os.environ.setdefault(key, value)
    os.environ.update(
        {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_REGION": "us-east-1",
            "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
            "POWERTOOLS_TRACE_DISABLED": "true",
            "AFTERCARE_SENTIMENT": "local",  # the lexicon analyzer stands in for Comprehend locally
            "AFTERCARE_ALLOW_LOOPBACK_ENDPOINTS": "true",  # the demo store's refund endpoint is on 127.0.0.1
        }
    )
    if not verbose:  # the terminal shows the request log and warnings; --verbose shows every log line
        os.environ["POWERTOOLS_LOG_LEVEL"] = chosen_level or "WARNING"
        os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")


@dataclass
class Running:
    base_url: str
    moto_url: str
    stack: Any
    stop: threading.Event
    threads: list[threading.Thread]
    servers: list[Any]
    saver: Any = None  # aftercare.devstack.runner.Saver, or None when nothing is kept
    restored: str = ""  # what was loaded from a saved state, in words

    def shutdown(self) -> None:
        """Stop serving, then save (moto still answers), then stop moto."""
        self.stop.set()
        http, *others = self.servers
        with contextlib.suppress(Exception):  # best effort while exiting
            http.shutdown()
        for thread in self.threads:
            thread.join(timeout=5)
        if self.saver is not None:
            self.saver.save("on stop")
        for server in others:
            with contextlib.suppress(Exception):
                server.shutdown() if hasattr(server, "shutdown") else server.stop()


class Saver:
    """Saves the stack to ``directory`` on stop and, after a change, at most every ``every`` seconds."""

    def __init__(
        self, stack: Any, directory: Path, archived: list[dict[str, Any]], every: float = 5.0
    ) -> None:
        self.stack = stack
        self.directory = directory
        self.archived = archived
        self.every = every
        self.saved_at = time.monotonic()
        self.seen = -1
        self.last_seconds = 0.0

    def fingerprint(self) -> int:
        from aftercare.devstack import outbox

        return int(self.stack.changes) + outbox.count()

    def maybe_save(self) -> None:
        if time.monotonic() - self.saved_at >= self.every and self.fingerprint() != self.seen:
            self.save("after a change")

    def save(self, why: str) -> None:
        from aftercare.devstack import persist
        from functions.shared.observability import logger

        seen = self.fingerprint()
        try:
            self.last_seconds = persist.save(self.stack, self.directory, self.archived)
        except Exception:  # a failed save must not stop the stack; the next one may work
            logger.exception("saving the local stack failed")
            return
        finally:
            self.saved_at = time.monotonic()
        self.seen = seen
        logger.debug(f"saved the local stack {why} in {self.last_seconds:.2f} s")


def _stream_mappings(provisioned: Any, app: Any) -> list[Any]:
    from chalice.utils import to_cfn_resource_name

    from aftercare import infra
    from aftercare.devstack import lambdas
    from aftercare.devstack.streams import Mapping

    functions = {to_cfn_resource_name(f.name): f for f in getattr(app, "pure_lambda_functions", [])}
    mappings = []
    template = infra.load_template()
    for resource in infra.resources_of_type(template, "AWS::Lambda::EventSourceMapping").values():
        properties = resource["Properties"]
        table_logical = properties["EventSourceArn"]["Fn::GetAtt"][0]
        function_ref = properties["FunctionName"]
        function_logical = function_ref.get("Ref") or function_ref["Fn::GetAtt"][0]
        function = functions[function_logical]
        local_name = f"{FUNCTION_PREFIX}-{function.name}"
        mappings.append(
            Mapping(
                table=provisioned.tables[table_logical],
                stream_arn=provisioned.stream_arns[table_logical],
                function_name=local_name,
                handler=lambdas._handlers[local_name],
                batch_size=int(properties.get("BatchSize", 100)),
                max_retries=int(properties.get("MaximumRetryAttempts", 3)),
            )
        )
    return mappings


def start(
    host: str = "127.0.0.1",
    port: int = 8000,
    *,
    demo: bool = False,
    verbose: bool = False,
    state_dir: Path | None = None,
    fresh: bool = False,
    streams: str = "write",
) -> Running:
    """Start everything and return once the HTTP server accepts requests.

    With ``state_dir``, what was saved there is loaded first (unless ``fresh``) and kept there while the
    stack runs (``aftercare.devstack.persist``). ``streams``: ``write`` delivers stream records as soon
    as they are written (decision 58), ``poll`` only at the one-second tick (``bench/alerts.py``
    measures both).
    """
    from aftercare.devstack import persist

    saved = None
    if state_dir is not None:
        if fresh:
            with contextlib.suppress(FileNotFoundError):
                (state_dir / persist.STATE).unlink()
        saved = persist.load(state_dir)
    local_aws_environment(verbose)
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    import requests
    from moto.server import ThreadedMotoServer

    from aftercare.devstack.motolock import serialize_dynamodb
    from aftercare.devstack.mototx import cached_module_list, cheap_transaction_backups

    serialize_dynamodb()  # DynamoDB makes each conditional write and transaction atomic; moto must too
    cheap_transaction_backups()  # a transaction costs what it touches; stream readers survive a rollback
    cached_module_list()  # moto's server no longer lists its own package on every request
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    moto.start()
    moto_host, moto_port = moto.get_host_and_port()
    moto_url = f"http://{moto_host}:{moto_port}"
    os.environ["AWS_ENDPOINT_URL"] = moto_url
    os.environ["MOTO_PORT"] = str(moto_port)
    requests.post(f"{moto_url}/moto-api/config", json=SFN_CONFIG, timeout=10).raise_for_status()

    from aftercare.devstack import console, lambdas
    from aftercare.devstack.provision import provision
    from aftercare.devstack.schedules import Scheduler
    from aftercare.devstack.server import create_server
    from aftercare.devstack.stack import DevStack
    from aftercare.devstack.streams import StreamPump

    # Bind first so the public base URL carries the real port (port 0 picks a free one).
    from aftercare.infra import ROOT
    from functions import composition
    from functions.shared import aws, clock, secrets

    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    app_module = importlib.import_module("app")
    app = app_module.app
    try:
        server = create_server(app, host, port)
    except OSError as error:
        moto.stop()
        if error.errno in (errno.EADDRINUSE, errno.EACCES):
            raise PortInUse(host, port) from None
        raise
    bound_port = server.server.server_address[1]
    base_url = f"http://{host}:{bound_port}"

    from aftercare.devstack.provision import local_function_refs

    persist.journal.install()
    provisioned = provision(
        FUNCTION_PREFIX,
        public_base_url=base_url,
        function_refs=local_function_refs(app, FUNCTION_PREFIX),
        secret_values=(saved or {}).get("secrets"),
    )
    os.environ.update(provisioned.environment)
    composition.reset()
    aws.reset_clients()
    secrets.reset_secrets()
    if saved is not None:
        persist.restore_data(saved, provisioned)

    lambdas.install()
    lambdas.register_app(app, FUNCTION_PREFIX)
    stack = DevStack(
        provisioned=provisioned,
        scheduler=Scheduler.from_app(app, FUNCTION_PREFIX),
        pump=StreamPump(_stream_mappings(provisioned, app)),
        base_url=base_url,
        moto_url=moto_url,
        operator_key=provisioned.secret_values["OperatorKeySecret"],
    )
    # the clock stops wherever something comes due (emails, SLA deadlines, return deadlines, digests)
    from aftercare.devstack import deadlines

    stack.next_due_hints.extend(deadlines.every_deadline(composition.adapters().settings))
    archived: list[dict[str, Any]] = []
    if saved is not None:
        persist.restore_stack(saved, stack)
        archived = persist.resume_executions(saved, stack, FUNCTION_PREFIX)
        stack.pump.skip_existing()  # delivered before the save: never twice
    console.attach(stack, archived)
    app.register_blueprint(console.blueprint, url_prefix="/_dev")
    from aftercare.devstack.server import request_log

    request_log.changed = stack.changed
    request_log.verbose = verbose

    stop = threading.Event()
    http_thread = threading.Thread(target=server.serve_forever, name="aftercare-http", daemon=True)
    http_thread.start()
    if demo and not stack.demo:
        if saved is None:
            create_demo(stack, base_url)
        else:
            stack.demo_data = {"line": "none: this saved stack began without --demo (see --fresh --demo)"}
    saver = Saver(stack, state_dir, archived) if state_dir is not None else None
    if saver is not None and saved is None:
        saver.save("at start")  # a stack killed early still comes back with its keys and demo

    def loop() -> None:
        while not stop.wait(1.0):
            try:
                stack.tick()
                if saver is not None:
                    saver.maybe_save()
            except Exception:  # keep the loop alive; failures show in the console
                from functions.shared.observability import logger

                logger.exception("dev loop tick failed")

    loop_thread = threading.Thread(target=loop, name="aftercare-loop", daemon=True)
    loop_thread.start()
    threads = [http_thread, loop_thread]
    if streams != "poll":
        threads.append(_deliver_on_write(stack, stop))
    restored = ""
    if saved is not None and state_dir is not None:
        registry = [
            i for i in saved["tables"].get("StoresTable", []) if i.get("pk", {}).get("S") == "#stores"
        ]
        restored = (
            f"{state_dir / persist.STATE}: {len(registry)} store(s), {len(saved.get('outbox', []))} emails, "
            f"clock at {clock.isoformat(clock.now())}"
        )
    return Running(base_url, moto_url, stack, stop, threads, [server, moto], saver, restored)


def _deliver_on_write(stack: Any, stop: threading.Event) -> threading.Thread:
    """A thread that delivers stream records as soon as moto appends them (decision 58). Started after
    the demo is made, which pumps the streams itself with the clock pinned at each of its moments."""
    from aftercare.devstack import streams

    streams.watch_appends()
    streams.APPENDED.set()  # a first pass for anything written before the thread started

    def deliver() -> None:
        while not stop.is_set():
            if not streams.APPENDED.wait(timeout=0.5):
                continue
            streams.APPENDED.clear()  # cleared before reading: a record appended meanwhile sets it again
            try:
                stack.deliver_streams()
            except Exception:  # keep delivering; failures show in the console
                from functions.shared.observability import logger

                logger.exception("stream delivery failed")

    thread = threading.Thread(target=deliver, name="aftercare-streams", daemon=True)
    thread.start()
    return thread


def create_demo(stack: Any, base_url: str) -> None:
    """The demo store, created eight weeks ago, and eight weeks of its history (``aftercare.devstack.demo``).

    Runs before the banner is printed and before the background loop starts, so nobody sees the clock in
    the past: the stack is ready when it says so, with the history in place.
    """
    from aftercare.devstack import demo
    from functions.composition import adapters
    from functions.shared.observability import logger

    start = demo.history_start()
    demo.rewind(start)
    quiet = logger.log_level
    logger.setLevel("WARNING")  # hundreds of sweeps in a few seconds: their INFO lines would bury the banner
    try:
        stack.demo = create_demo_store(base_url)
        store = demo.Demo(
            base_url,
            stack.demo["store_id"],
            stack.demo["generic_webhook_secret"],
            stack.demo["admin_key"],
            tuple(str(a) for a in adapters().stores.get(stack.demo["store_id"]).config.staff.alert_emails),
        )
        print(f"Making {demo.WEEKS} weeks of demo history (about 20 s)...", flush=True)
        try:
            stack.demo_data = demo.generate(stack, store, start).as_dict()
        except Exception as error:  # the stack is still worth starting: say what went wrong
            logger.exception("demo data generation failed")
            stack.demo_data = {
                "line": f"not generated ({type(error).__name__}: {error})",
                "problems": [str(error)],
            }
    finally:
        demo.land()  # whatever happened, the clock runs with the wall again
        logger.setLevel(quiet)


def create_demo_store(base_url: str) -> dict[str, Any]:
    """Register examples/store.yaml as the demo store (with an owner); return its URLs and secrets."""
    import yaml

    from aftercare.infra import ROOT
    from functions.composition import adapters
    from functions.stores import email_identity, service
    from functions.stores.models import StoreCreateRequest

    config = yaml.safe_load((ROOT / "examples" / "store.yaml").read_text(encoding="utf-8"))
    config["id"], config["name"] = "demo", "Demo Store"  # leaves examples/store.yaml free to create
    config["sender"]["name"] = "Demo Store"
    config.setdefault("returns", {})["refund_endpoint"] = f"{base_url}/_dev/refunds/demo"  # the stand-in
    staff = config.setdefault("staff", {})
    staff["owners"] = staff.get("owners") or [DEMO_OWNER]  # someone to sign in to the workspace as
    root = adapters()
    created = service.create_store(
        StoreCreateRequest(config=config), root.stores, allow_loopback=root.settings.allow_loopback_endpoints
    )
    email_identity.ensure_sender_domain(str(created.store.config.sender.email))
    view = service.public_view(created.store, base_url)
    return {
        "store_id": created.store.id,
        "owner": str(created.store.config.staff.owners[0]),
        "admin_key": created.admin_key,
        **{f"{name}_webhook_url": url for name, url in view["webhook_urls"].items()},
        **{f"{name}_webhook_secret": secret for name, secret in created.webhook_secrets.items()},
    }


def write_state(running: Running, path: Path) -> None:
    """The stack's connection file, keeping what the CLI remembered there before (store secrets)."""
    from aftercare.devstack import statefiles

    state = statefiles.read(path)
    state.update(
        {
            "endpoint": running.base_url,
            "operator_key": running.stack.operator_key,
            "pid": os.getpid(),
            "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "demo": running.stack.demo,
            "demo_data": running.stack.demo_data,
        }
    )
    statefiles.write(path, state)


def mark_stopped(path: Path) -> None:
    from aftercare.devstack import statefiles

    state = statefiles.read(path)
    if state.get("pid") == os.getpid():
        state["pid"] = None
        statefiles.write(path, state)


class PortInUse(Exception):
    def __init__(self, host: str, port: int) -> None:
        suggestion = free_port_after(host, port)
        super().__init__(
            f"Port {port} is in use (another local stack?). "
            f"Start on another port: make run PORT={suggestion} (or aftercare dev --port {suggestion})."
        )


def port_free(host: str, port: int) -> bool:
    """Whether the HTTP server could bind ``port`` (as it will: with SO_REUSEADDR)."""
    import socket

    if port == 0:
        return True
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def free_port_after(host: str, port: int) -> int:
    for candidate in range(port + 1, min(port + 100, 65535)):
        if port_free(host, candidate):
            return candidate
    return port + 1


def serve(
    host: str, port: int, *, demo: bool, verbose: bool, fresh: bool = False, streams: str = "write"
) -> int:
    """Run until Ctrl-C or SIGTERM; print where everything is."""
    from aftercare.devstack import statefiles

    if not port_free(host, port):
        raise PortInUse(host, port)
    state_dir = statefiles.stack_dir(port) if port else None  # port 0: a new port each time, nothing kept
    running = start(host, port, demo=demo, verbose=verbose, state_dir=state_dir, fresh=fresh, streams=streams)
    bound_port = int(running.base_url.rsplit(":", 1)[1])
    state_file = statefiles.connection_file(bound_port)
    write_state(running, state_file)
    default = statefiles.claim_default(bound_port, running.base_url)
    done = threading.Event()

    def stop(signum: int, frame: Any) -> None:
        done.set()

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    lines = [
        "",
        "Aftercare local stack is running.",
        f"  API          {running.base_url}",
        f"  Dev console  {running.base_url}/_dev/",
        f"  Operator key {running.stack.operator_key}   (also in {state_file})",
    ]
    if running.restored:
        lines.append(f"  Restored     {running.restored}   (aftercare dev --fresh starts empty)")
    if not default:
        lines.append(
            f"  CLI          another stack is the default: pass --endpoint {running.base_url} for this one"
        )
    if running.stack.demo:
        lines.append("  Demo store (keep these secrets; the state file keeps them too):")
        lines.extend(f"    {key:<28} {value}" for key, value in running.stack.demo.items())
        lines += [
            f"  Workspace    {running.base_url}/workspace/",
            f"               signed in as {running.stack.demo['owner']} by the button on the dev console",
        ]
    if running.stack.demo_data:
        lines.append(f"  Demo data    {running.stack.demo_data['line']}")
    lines += ["", "Create a store:  aftercare store create --config examples/store.yaml", "Stop: Ctrl-C", ""]
    print("\n".join(lines), flush=True)
    from aftercare.devstack.server import request_log

    request_log.enabled = True  # from here on, one line per request
    try:
        while not done.wait(0.5):
            pass
    finally:
        print("Stopping the local stack...", flush=True)
        running.shutdown()
        if running.saver is not None:
            print(f"Saved to {running.saver.directory}/ in {running.saver.last_seconds:.1f} s", flush=True)
        mark_stopped(state_file)
        statefiles.release_default()
        time.sleep(0.1)
    return 0
