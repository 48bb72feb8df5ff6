"""Sending the weekly digest: every store, once per week, to each owner who has not opted out.

The schedule runs hourly. For each store in the registry whose digest is due (``weeks.DigestWeek``), the
run claims the week's sent marker with a conditional write before sending anything, so repeated and
overlapping runs send each store's digest once. Each owner who receives it is recorded on the marker at
once; if a send fails the claim is released and the next run sends to the owners still missing. A run
that dies holding a claim leaves it to the first run after ``STALE_CLAIM``. One store whose data is
broken is logged and counted and never stops the others' digests.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from functions.digest import compose, subscription
from functions.digest.weeks import DigestWeek
from functions.shared import clock, isolation
from functions.shared.mailer import PermanentSendError, TransientSendError
from functions.shared.observability import logger, metrics

if TYPE_CHECKING:
    from functions.digest.ports import Ports
    from functions.stores.models import Store

STALE_CLAIM = timedelta(minutes=15)  # far longer than a run (the function times out after 30 s)
KEEP_MARKER = timedelta(days=90)
REPORT_WEEKS = 13  # read from the insights counters: the charts show the last full ones
COMMENTS_READ = 1000  # negative comments of one week read at most (the newest, if there are more)
FLAGS_COUNTED = 1000  # open flags counted at most ("1000+")
FAILED = isolation.OnFailure("could not send a store's weekly digest", "DigestFailed", "store_id")


@dataclass(frozen=True)
class RunReport:
    stores: int  # in the registry
    sent: int  # digests emailed (one per owner)


def run(ports: Ports) -> RunReport:
    """Send every due digest (the hourly schedule)."""
    now = ports.clock.now()
    ids = ports.stores.list_ids()
    sent = isolation.each(
        ({"store_id": store_id} for store_id in ids),
        lambda item: _store(ports, item["store_id"], now),
        FAILED,
    )
    if sent:
        metrics.add_metric(name="DigestSent", unit="Count", value=sent)
    return RunReport(stores=len(ids), sent=sent)


def recipients(ports: Ports, store: Store) -> dict[str, str]:
    """The store's owners who have not opted out, by owner key (no owners: nobody)."""
    owners = {subscription.owner_key(str(owner)): str(owner) for owner in store.config.staff.owners}
    if not owners:
        return {}
    opted_out = ports.digests.digest_opt_outs(store.id)
    return {key: owner for key, owner in owners.items() if key not in opted_out}


def _store(ports: Ports, store_id: str, now: datetime) -> int:
    store = ports.stores.get(store_id, cached=True)
    week = DigestWeek.of(now, store.config.timezone)
    if not week.due(now, clock.parse_iso(store.created_at)):
        return 0
    wanted = recipients(ports, store)
    if not wanted:
        return 0
    claim_id = uuid.uuid4().hex
    delivered = ports.digests.claim_digest(
        store.id, week.key, claim_id, now, now - STALE_CLAIM, week.send_at + KEEP_MARKER
    )
    if delivered is None:
        return 0  # sent already, or another run is sending it
    missing = {key: owner for key, owner in wanted.items() if key not in delivered}
    try:
        sent, failed = _deliver(ports, gather(ports, store, week, now), missing)
    except Exception:
        ports.digests.release_digest(store.id, week.key, claim_id, ports.clock.now())
        raise
    if failed:
        ports.digests.release_digest(store.id, week.key, claim_id, ports.clock.now())
        metrics.add_metric(name="DigestFailed", unit="Count", value=failed)
    else:
        ports.digests.finish_digest(store.id, week.key, claim_id, ports.clock.now())
    return sent


def _deliver(ports: Ports, facts: compose.Facts, owners: dict[str, str]) -> tuple[int, int]:
    """Email each owner (recording each delivery at once); the numbers sent and failed."""
    store, week = facts.store, facts.week
    sent = failed = 0
    for key, owner in sorted(owners.items(), key=lambda item: item[1]):
        try:
            ports.mailer.send(compose.digest_email(facts, owner, links(ports, store, key, week)))
        except (TransientSendError, PermanentSendError):
            logger.exception("digest email failed", extra={"store_id": store.id, "week": week.key})
            failed += 1
            continue
        ports.digests.digest_delivered(store.id, week.key, key)
        sent += 1
    return sent, failed


def links(ports: Ports, store: Store, owner: str, week: DigestWeek) -> compose.Links:
    base = ports.base_url.rstrip("/")
    return compose.Links(
        inbox=f"{base}/workspace/",
        insights=f"{base}/workspace/insights",
        unsubscribe=subscription.unsubscribe_url(ports.signing_key(), base, store.id, owner, week),
        flag=lambda flag_id: f"{base}/workspace/flags/{flag_id}",
    )


# ------------------------------------------------------------------------------ the facts


def gather(ports: Ports, store: Store, week: DigestWeek, now: datetime) -> compose.Facts:
    """What the store's digest says this week: counters, the week's worst comments, open flags."""
    from functions.insights.report import build

    report = build(store, REPORT_WEEKS, now, ports.insights)
    full = [found for found in report.weeks if found.start < week.monday]  # the current week is partial
    return compose.Facts(
        store=store,
        week=week,
        this=full[-1],
        before=full[-2],
        trend=full[-compose.TREND_WEEKS :],
        comments=comments(ports, store, week),
        flags=flag_counts(ports, store.id, now),
    )


def comments(ports: Ports, store: Store, week: DigestWeek) -> list[compose.Comment]:
    """The reported week's most negative answers with a comment, lowest score first."""
    from functions.flags.store import flag_id

    start, end = week.reported_span
    found = ports.responses.by_time(
        store.id, start, end - timedelta(seconds=1), COMMENTS_READ, compose.is_negative_comment
    )
    return [
        _comment(answer, ports.flags.get(store.id, flag_id(str(answer["pk"]), str(answer["sk"]))))
        for answer in compose.most_negative(found)
    ]


def _comment(answer: dict[str, Any], flag: dict[str, Any] | None) -> compose.Comment:
    """A comment as the digest shows it; its flag (if one was raised) links it and names the product."""
    product = (flag or {}).get("product") or {}
    return compose.Comment(
        kind=str(answer.get("kind", "review")),
        score=int(answer.get("score", 0)),
        text=str(answer.get("comment") or ""),
        product=str(product.get("name") or answer.get("product_name") or ""),
        at=clock.parse_iso(str(answer["responded_at"])),
        flag_id=str(flag["flag_id"]) if flag else None,
    )


def flag_counts(ports: Ports, store_id: str, now: datetime) -> compose.FlagCounts:
    """Open flags, and those past their deadline without a reply (as the inbox counts them)."""
    found = ports.flags.list(store_id, "open", now, FLAGS_COUNTED)
    overdue = sum(
        1
        for flag in found
        if not flag.get("first_reply_at") and clock.parse_iso(str(flag["sla_deadline"])) <= now
    )
    return compose.FlagCounts(open=len(found), overdue=overdue, more=len(found) >= FLAGS_COUNTED)
