"""The composition root: the one place the running system is wired together.

``adapters()`` builds, once per process, every adapter from the typed ``Settings``: one repository per
table, the mailer, the Step Functions client, the sentiment analyzer, the signing key (read from
Secrets Manager on first use), the clock and the refund client. Each capability's ``*_ports()``
function below hands that capability exactly the ports it declares. Entry points (blueprint routes and
the functions declared in ``app.py``) get their ports here and nowhere else; services take ports as an
argument, so tests pass in-memory fakes that implement the same Protocols.

Building is cheap: no AWS client exists until an adapter first calls AWS, and ``import app`` does not
import this module's adapters at all (they are imported inside ``adapters()``).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from functions.customers.store import CustomerRepository
    from functions.digest.ports import Ports as DigestPorts
    from functions.flags.ports import Ports as FlagPorts
    from functions.flags.sentiment import Analyzer
    from functions.flags.store import FlagRepository
    from functions.insights.ports import Ports as InsightsPorts
    from functions.insights.store import InsightsRepository
    from functions.orders.store import OrderRepository
    from functions.outreach.limiter import SendRateLimiter
    from functions.outreach.ports import HistoryPorts
    from functions.outreach.ports import Ports as SweepPorts
    from functions.outreach.store import OutreachQueue
    from functions.outreach.sweep import Workers
    from functions.privacy.ports import Ports as PrivacyPorts
    from functions.responses.ports import Ports as ResponsePorts
    from functions.responses.store import ResponseRepository
    from functions.returns.ports import Ports as ReturnPorts
    from functions.returns.refund_client import HttpRefundClient
    from functions.returns.store import ReturnRepository
    from functions.returns.workflow import StepFunctionsWorkflow
    from functions.shared.clock import Clock
    from functions.shared.mailer import Mailer
    from functions.shared.settings import Settings
    from functions.stores.retention import Ports as RetentionPorts
    from functions.stores.store import StoreRepository
    from functions.webhooks.idempotency import PowertoolsOnce
    from functions.webhooks.ports import Ports as WebhookPorts
    from functions.workspace.ports import Ports as WorkspacePorts
    from functions.workspace.store import WorkspaceRepository


@dataclass
class Adapters:
    """Every adapter of this process, built from one ``Settings``."""

    settings: Settings
    clock: Clock
    stores: StoreRepository
    orders: OrderRepository
    outreach: OutreachQueue
    customers: CustomerRepository
    responses: ResponseRepository
    flags: FlagRepository
    returns: ReturnRepository
    workspace: WorkspaceRepository
    insights: InsightsRepository
    mailer: Mailer
    send_rate: SendRateLimiter  # the sweep's pacer, shared by this process's workers and with every other
    sweep_mailer: Mailer  # ``mailer`` waiting for ``send_rate`` before every attempt
    analyzer: Analyzer
    idempotency: PowertoolsOnce
    workflow: StepFunctionsWorkflow
    refunds: HttpRefundClient
    _signing_key: bytes | None = field(default=None, repr=False)

    @property
    def signing_key(self) -> bytes:
        """The deployment's token key, read from Secrets Manager on first use and kept while warm."""
        if self._signing_key is None:
            from functions.shared.secrets import get_secret

            self._signing_key = get_secret(self.settings.signing_key_secret_arn).encode("utf-8")
        return self._signing_key


def build(settings: Settings) -> Adapters:
    """Every adapter for these settings (no AWS call is made here)."""
    from functions.customers.store import CustomerRepository
    from functions.flags.sentiment import analyzer
    from functions.flags.store import FlagRepository
    from functions.insights.store import InsightsRepository
    from functions.orders.store import OrderRepository
    from functions.outreach.limiter import SendRateLimiter, SendRateWindows
    from functions.outreach.store import OutreachQueue
    from functions.responses.store import ResponseRepository
    from functions.returns.refund_client import HttpRefundClient
    from functions.returns.store import ReturnRepository
    from functions.returns.workflow import StepFunctionsWorkflow
    from functions.shared.clock import clock
    from functions.shared.mailer import SesMailer, SesQuota
    from functions.stores.store import StoreRepository
    from functions.webhooks.idempotency import PowertoolsOnce
    from functions.workspace.store import WorkspaceRepository

    outreach = OutreachQueue(settings.outreach_table, settings.due_shards)
    mailer = SesMailer(settings.ses_configuration_set, settings.send_retries, settings.send_retry_base_ms)
    send_rate = SendRateLimiter(
        SendRateWindows(settings.send_rate_table),
        SesQuota(settings.send_rate),
        settings.sweep_send_share,
        chunk=settings.sweep_worker_concurrency,
    )
    built: list[Adapters] = []  # the customers' kept-suppression hash needs the signing key, read lazily
    found = Adapters(
        settings=settings,
        clock=clock,
        stores=StoreRepository(settings.stores_table),
        orders=OrderRepository(settings.orders_table, outreach),
        outreach=outreach,
        customers=CustomerRepository(settings.customers_table, lambda: built[0].signing_key),
        responses=ResponseRepository(settings.responses_table),
        flags=FlagRepository(settings.flags_table),
        returns=ReturnRepository(settings.returns_table),
        workspace=WorkspaceRepository(settings.workspace_table),
        insights=InsightsRepository(settings.insights_table),
        mailer=mailer,
        send_rate=send_rate,
        sweep_mailer=mailer.paced(send_rate),
        analyzer=analyzer(settings.sentiment),
        idempotency=PowertoolsOnce(settings.idempotency_table),
        workflow=StepFunctionsWorkflow(settings.returns_state_machine_arn),
        refunds=HttpRefundClient(settings.refund_timeout_seconds, settings.allow_loopback_endpoints),
    )
    built.append(found)
    return found


_lock = threading.Lock()
_root: dict[str, Adapters] = {}


def adapters() -> Adapters:
    """This process's adapters, built on first use from the environment's settings."""
    found = _root.get("adapters")
    if found is None:
        from functions.shared.settings import load_settings

        with _lock:
            found = _root.get("adapters")
            if found is None:
                found = _root["adapters"] = build(load_settings())
    return found


def reset() -> None:
    """Forget the adapters (tests and the local stack change the environment between runs)."""
    with _lock:
        _root.clear()


# ------------------------------------------------------------------------------ capability ports
# One function per capability; each returns that capability's own ``Ports``.


def webhook_ports() -> WebhookPorts:
    """Receiving webhooks: stores, the order/response/return owners, the once-only runner, the clock."""
    from functions.webhooks.ports import Ports

    found = adapters()
    return Ports(
        stores=found.stores,
        orders=found.orders,
        responses=found.responses,
        returns=returns_ports(),
        once=found.idempotency,
        clock=found.clock,
    )


def flag_ports() -> FlagPorts:
    """Flagging, the staff page and escalation: the flags owner and what a flag is about, mail, analyzer."""
    from functions.flags.ports import Ports
    from functions.flags.returns_desk import ReturnsDesk

    found = adapters()
    return Ports(
        flags=found.flags,
        stores=found.stores,
        customers=found.customers,
        responses=found.responses,
        orders=found.orders,
        returns=ReturnsDesk(returns_ports),
        mailer=found.mailer,
        analyzer=found.analyzer,
        clock=found.clock,
        signing_key=lambda: found.signing_key,
        base_url=found.settings.public_base_url,
    )


def response_ports() -> ResponsePorts:
    """The survey page: stores, outreach requests, answers, the signing key and the clock."""
    from functions.responses.ports import Ports

    found = adapters()
    return Ports(
        stores=found.stores,
        outreach=found.outreach,
        responses=found.responses,
        signing_key=found.signing_key,
        clock=found.clock,
    )


def sweep_ports() -> SweepPorts:
    """The due sweep: the outreach queue, what it reads of stores, orders and customers, mail, links."""
    from functions.outreach.ports import Ports, SweepSettings

    found = adapters()
    settings = found.settings
    return Ports(
        queue=found.outreach,
        stores=found.stores,
        orders=found.orders,
        customers=found.customers,
        mailer=found.sweep_mailer,
        signing_key=found.signing_key,
        clock=found.clock,
        settings=SweepSettings(
            base_url=settings.public_base_url,
            batch=settings.sweep_batch,
            max_emails=settings.sweep_max_emails,
            max_attempts=settings.max_send_attempts,
            concurrency=settings.sweep_worker_concurrency,
        ),
    )


def sweep_workers() -> Workers:
    """Where the sweep's shards are worked on: one asynchronous invocation of the worker Lambda per shard,
    or, without one (the local stack and tests), a thread per shard in this process."""
    from functions.outreach.sweep import ThreadWorkers
    from functions.outreach.workers import LambdaWorkers

    function = adapters().settings.sweep_worker_function
    return LambdaWorkers(function) if function else ThreadWorkers(sweep_ports())


def returns_ports() -> ReturnPorts:
    """Returns and refunds: the returns owner, orders, stores, mail, Step Functions, the refund client."""
    from functions.returns.order_plan import OrderPlanAdapter
    from functions.returns.ports import Ports

    found = adapters()
    return Ports(
        returns=found.returns,
        orders=found.orders,
        order_plan=OrderPlanAdapter(found.orders),
        stores=found.stores,
        mailer=found.mailer,
        workflow=found.workflow,
        refunds=found.refunds,
        signing_key=lambda: found.signing_key,
        clock=found.clock,
        base_url=found.settings.public_base_url,
    )


def request_history_ports() -> HistoryPorts:
    """The workspace's request history: the outreach table's history reads and the sweep's ports."""
    from functions.outreach.ports import HistoryPorts

    return HistoryPorts(history=adapters().outreach, sweep=sweep_ports())


def insights_ports() -> InsightsPorts:
    """Insights: the counters, the stores, and the four source tables whose streams and items it counts."""
    from functions.insights.counting import Source
    from functions.insights.ports import Ports

    found = adapters()
    settings = found.settings
    return Ports(
        insights=found.insights,
        stores=found.stores,
        outreach=found.outreach,
        responses=found.responses,
        flags=found.flags,
        returns=found.returns,
        clock=found.clock,
        sources={
            settings.responses_table: Source.RESPONSES,
            settings.outreach_table: Source.OUTREACH,
            settings.flags_table: Source.FLAGS,
            settings.returns_table: Source.RETURNS,
        },
    )


def workspace_ports() -> WorkspacePorts:
    """The workspace: stores (and their history), its own table, flags, returns, mail, links, the clock."""
    from functions.workspace.ports import Ports

    found = adapters()
    return Ports(
        stores=found.stores,
        workspace=found.workspace,
        flags=found.flags,
        returns=found.returns,
        mailer=found.mailer,
        clock=found.clock,
        signing_key=lambda: found.signing_key,
        base_url=found.settings.public_base_url,
    )


def digest_ports() -> DigestPorts:
    """The weekly digest: the store registry, its markers and opt-outs, counters, answers, flags, mail."""
    from functions.digest.ports import Ports

    found = adapters()
    return Ports(
        stores=found.stores,
        digests=found.workspace,
        insights=found.insights,
        responses=found.responses,
        flags=found.flags,
        mailer=found.mailer,
        clock=found.clock,
        signing_key=lambda: found.signing_key,
        base_url=found.settings.public_base_url,
    )


def retention_ports() -> RetentionPorts:
    """Putting a store's retention on what it holds: the owner of each kind of customer data."""
    from functions.stores.retention import Ports

    found = adapters()
    return Ports(
        orders=found.orders,
        requests=found.outreach,
        answers=found.responses,
        flags=found.flags,
        returns=found.returns,
    )


def privacy_ports() -> PrivacyPorts:
    """Customer export and erase: every owner of a customer's data, Step Functions, the idempotency table."""
    from functions.privacy.ports import Ports

    found = adapters()
    return Ports(
        stores=found.stores,
        customers=found.customers,
        orders=found.orders,
        requests=found.outreach,
        answers=found.responses,
        flags=found.flags,
        returns=found.returns,
        workflows=found.workflow,
        deliveries=found.idempotency,
        clock=found.clock,
    )
