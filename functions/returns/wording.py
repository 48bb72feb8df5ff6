"""What a return recorded in English, said in the staff's language when a page or an email shows it.

The workflow writes its audit trail (who, which step, what came of it), the refund's problem and the
policy's reasons in English, and they stay stored so (the read API, the logs and the tests read them).
Staff read them through the tables here: a known wording becomes its catalog text with its variable
parts read back; anything else (a note a person wrote, an error's name) is shown as written.
"""

from __future__ import annotations

import re
from typing import Any

from functions.returns import reasons
from functions.returns.emails import outcome_word
from functions.shared import clock
from functions.shared.i18n import Translator, format_date, format_moment

Table = tuple[tuple[re.Pattern[str], str], ...]


def _table(*rows: tuple[str, str]) -> Table:
    return tuple((re.compile(f"^{pattern}$", re.DOTALL), key) for pattern, key in rows)


# Why the store's return policy refuses items (``functions.returns.policy``), each ending with a period.
POLICY = _table(
    (
        r"(?P<names>.+) cannot be returned \(the store does not take back this kind of product\)\.",
        "staff_policy_kind_one",
    ),
    (
        r"(?P<names>.+) cannot be returned \(the store does not take back these kinds of product\)\.",
        "staff_policy_kind_many",
    ),
    (r"The (?P<days>\d+)-day return window closed on (?P<date>\d{4}-\d{2}-\d{2})\.", "staff_policy_window"),
    (r"The request names no items to return\.", "staff_policy_no_items"),
)
# Why a refund did not happen (``refund_problem``: ``functions.returns.steps``, the order's ledger).
PROBLEMS = _table(
    (r"the store has no refund endpoint configured", "staff_problem_no_endpoint"),
    (r"the refund endpoint's address is not allowed \((?P<why>.+)\)", "staff_problem_not_allowed"),
    (r"the refund endpoint did not answer in time \(attempt (?P<attempt>\d+)\)", "staff_problem_timed_out"),
    (r"the refund endpoint could not be reached \(attempt (?P<attempt>\d+)\)", "staff_problem_unreachable"),
    (r"the refund endpoint answered HTTP (?P<status>\d+) \(attempt (?P<attempt>\d+)\)", "staff_problem_busy"),
    (
        r"the refund endpoint redirected the call, which Aftercare does not follow \(HTTP (?P<status>\d+)\)",
        "staff_problem_redirected",
    ),
    (r"the refund endpoint refused the refund \(HTTP (?P<status>\d+)\)", "staff_problem_refused"),
    (r"the refund step took too long", "staff_problem_step_timeout"),
    (r"the refund step could not run", "staff_problem_step_failed"),
    (r"the refund step stopped unexpectedly", "staff_problem_step_stopped"),
    (r"Nothing can be returned: the order was cancelled", "staff_ledger_cancelled"),
    (r"Nothing can be returned: the order was refunded in full", "staff_ledger_refunded"),
    (r"The order has no line item (?P<lines>.+)", "staff_ledger_no_line"),
    (r"Already returned or refunded \((?P<left>.+)\)", "staff_ledger_taken"),
    (r"This return holds no items on the order", "staff_ledger_holds_nothing"),
    (r"This return was closed; its items were released", "staff_ledger_released"),
    (r"This return request was already made with other items", "staff_ledger_other_items"),
    (r"no order (?P<order>.+) for this store", "staff_ledger_no_order"),
)
# What an audit step's outcome says (``functions.returns.steps`` and ``functions.returns.service``).
OUTCOMES = _table(
    (r"(?P<outcome>\S+) requested for (?P<count>\d+) item\(s\)", "staff_audit_requested"),
    (r"within the return policy", "staff_audit_within_policy"),
    (r"outside the return policy, offered by staff anyway: (?P<policy>.+)", "staff_audit_outside_policy"),
    (r"below (?P<limit>\S+) (?P<currency>\S+): the customer keeps the item", "staff_audit_keeps_item"),
    (r"offered by staff, so approved", "staff_audit_offered"),
    (r"below (?P<limit>\S+) (?P<currency>\S+): approved automatically", "staff_audit_auto_approved"),
    (r"emailed (?P<people>.*)", "staff_audit_emailed"),
    (r"no decision after escalation", "staff_audit_no_decision"),
    (r"the request has no customer email", "staff_audit_no_customer_email"),
    (r"the store received the returned item", "staff_audit_received"),
    (r"nothing to refund: the items cost nothing", "staff_audit_nothing_to_refund"),
    (
        r"(?P<outcome>\S+) issued on attempt (?P<attempt>\d+) \(key (?P<idempotency_key>.+)\)",
        "staff_audit_issued",
    ),
    (r"retry (?P<attempt>\d+) asked for by staff", "staff_audit_retry"),
    (
        r"closed; the returned items left the review plan \((?P<changes>\d+) change\(s\)\)",
        "staff_audit_completed",
    ),
    (r"nothing happened by (?P<deadline>\S+)", "staff_audit_nothing_by"),
)
ACTORS = _table(
    (r"system", "staff_actor_system"),
    (r"store (?P<store>.+)", "staff_actor_store"),
    (r"customer", "staff_actor_customer"),
    (r"customer (?P<email>.+)", "staff_actor_customer_email"),
)
STEP_NAMES = (
    "requested",
    "eligible",
    "not eligible",
    "approval requested",
    "escalated for approval",
    "approved",
    "rejected",
    "expired",
    "approval timed out",
    "parcel timed out",
    "received",
    "customer emailed",
    "customer not emailed",
    "refund not called",
    "refund call failed",
    "refund refused",
    "refund issued",
    "refund not issued",
    "refund failed",
    "refund retried",
    "settled",
    "completed",
    "workflow error",
)
STEPS = {name: "staff_step_" + name.replace(" ", "_") for name in STEP_NAMES}
# What the customer was told (the kind of ``emails.CUSTOMER_EMAILS``), on "customer emailed".
TOLD = {
    said: "staff_told_" + said.replace(" ", "_")
    for said in (
        "received",
        "refused",
        "rejected",
        "instructions",
        "reminder",
        "kept",
        "done",
        "not received",
        "expired",
    )
}
PERSONAL = frozenset({"approved", "rejected", "settled"})  # their outcome is the note a person wrote
DEFAULT_NOTES = {"no note": "staff_audit_no_note", "settled outside Aftercare": "staff_audit_settled_outside"}


def _left(t: Translator, text: str) -> str:
    """ "l1: 0 left, l2: 1 left" (the ledger's units left per line item) in ``t``'s language."""
    return re.sub(
        r"(?P<line>[^,:]+): (?P<count>\d+) left",
        lambda m: t("staff_ledger_left", line=m["line"], count=m["count"]),
        text,
    )


def _value(t: Translator, zone: str, name: str, value: str) -> str:
    """One variable part read back from the English, made readable in ``t``'s language."""
    if name == "outcome":
        return outcome_word(t, value)
    if name == "policy":
        return policy_said(t, value)
    if name == "left":
        return _left(t, value)
    if name == "date":  # a day (YYYY-MM-DD)
        return format_date(clock.parse_iso(f"{value}T00:00:00Z"), t.language, "UTC")
    if name == "deadline":  # a moment, said in the store's time
        try:
            return format_moment(clock.parse_iso(value), t.language, zone)
        except ValueError:
            return value
    return value  # kept in its own direction by the sentence it goes into (``Translator``)


def _said(t: Translator, text: str, table: Table, zone: str = "UTC") -> str | None:
    """``text`` in ``t``'s language, when ``table`` knows its wording."""
    for pattern, key in table:
        found = pattern.match(text)
        if found:
            return t(key, **{name: _value(t, zone, name, v) for name, v in found.groupdict().items()})
    return None


def policy_said(t: Translator, text: str) -> str:
    """Why the return policy refuses items, in ``t``'s language (a wording it does not know, as written)."""
    return _said(t, text, POLICY) or text


def problem_said(t: Translator, text: str) -> str:
    """Why a refund did not happen, in ``t``'s language, without a closing period (callers add their own)."""
    bare = text.strip().removesuffix(".")
    return _said(t, bare, PROBLEMS) or bare


def reason_said(t: Translator, reason: str) -> str:
    """The reason: the customer's or the store's words as written, Aftercare's own in ``t``'s language."""
    if not reason or reason == "not given":
        return t("approval_reason_none")
    if reason.startswith("offered by staff: "):
        note = reason.removeprefix("offered by staff: ")
        return t("staff_reason_offered", note=t(DEFAULT_NOTES[note]) if note in DEFAULT_NOTES else note)
    return reasons.said(t, reason)


def actor_said(t: Translator, actor: str) -> str:
    """Who took an audit step: the system, the store, the customer (a staff member's address as written)."""
    return _said(t, actor, ACTORS) or actor


def outcome_said(t: Translator, step: str, outcome: str, zone: str) -> str:
    """What came of an audit step, in ``t``'s language; a note a person wrote stays as written."""
    if step in PERSONAL:
        return t(DEFAULT_NOTES[outcome]) if outcome in DEFAULT_NOTES else outcome
    if step == "customer emailed":
        return t(TOLD[outcome]) if outcome in TOLD else outcome
    if step == "eligible":  # the policy's notes, joined by "; "
        return "; ".join(_said(t, note, OUTCOMES) or note for note in outcome.split("; "))
    if step == "not eligible":
        return policy_said(t, outcome)
    return _said(t, outcome, OUTCOMES, zone) or _said(t, outcome.removesuffix("."), PROBLEMS) or outcome


def audit_row(t: Translator, zone: str, step: dict[str, Any]) -> dict[str, Any]:
    """One audit step as a staff page lists it: when (store time), who, which step, what came of it."""
    name = str(step.get("step", ""))
    return {
        **step,
        "at": format_moment(clock.parse_iso(str(step["at"])), t.language, zone),
        "actor": actor_said(t, str(step.get("actor", ""))),
        "step": t(STEPS[name]) if name in STEPS else name,
        "outcome": outcome_said(t, name, str(step.get("outcome", "")), zone),
    }
