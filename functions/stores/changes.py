"""What a change to a store is: a readable config diff, the history record kept for it, and its refusals.

Pure domain code (no AWS): the service builds a :class:`ConfigChange` for every change and the adapter
writes it in the same transaction as the change itself.
"""

from __future__ import annotations

import json
import re
from typing import Any

from functions.shared.errors import Conflict
from functions.stores.models import ConfigChange, Store

CREATE, UPDATE, ROTATE_SECRET, ROTATE_ADMIN_KEY = "create", "update", "rotate-secret", "rotate-admin-key"
ACTIONS = (CREATE, UPDATE, ROTATE_SECRET, ROTATE_ADMIN_KEY)

OPERATOR = "operator"  # the deployment's operator key
STORE_ADMIN = "store admin key"  # the store's own admin API key
# A workspace owner is recorded by the email address of their session.

NOT_SET = "(not set)"
MAX_VALUE_CHARS = 200  # per old/new value kept in the history (the diff shown before applying is whole)
MAX_RECORDED_CHANGES = 100  # per history item; the summary still counts them all
_PLAIN_KEY = re.compile(r"^[A-Za-z0-9_-]+$")
_MISSING = object()


class StaleVersion(Conflict):
    """The update was based on a version of the configuration that is no longer the current one."""


class ChangedMeanwhile(Conflict):
    """Another change to the store was committed between reading it and writing this one."""


class TooManySecrets(Conflict):
    """An integration already has as many secrets in their grace period as a rotation may leave."""


def _segment(key: str) -> str:
    return f".{key}" if _PLAIN_KEY.fullmatch(key) else f"[{json.dumps(key, ensure_ascii=False)}]"


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """Leaves of a JSON-like value by dotted path (maps are walked, lists and scalars are leaves).

    A key that is not a plain word is written in brackets: ``emails.texts.en["review.subject"]``.
    An empty map is a leaf too, so adding or removing one shows.
    """
    if isinstance(value, dict) and value:
        found: dict[str, Any] = {}
        for key, inner in value.items():
            found.update(flatten(inner, f"{prefix}{_segment(str(key))}"))
        return found
    return {prefix.lstrip("."): value}


def render(value: Any) -> str:
    """A value as the diff shows it: JSON (strings quoted), or ``(not set)``."""
    if value is _MISSING:
        return NOT_SET
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(", ", ": "))


def diff(old: dict[str, Any], new: dict[str, Any]) -> list[dict[str, str]]:
    """Every path whose value differs between two configurations (as JSON), in path order."""
    before, after = flatten(old), flatten(new)
    changes = []
    for path in sorted(before.keys() | after.keys()):
        was, now = before.get(path, _MISSING), after.get(path, _MISSING)
        if was != now or type(was) is not type(now):
            changes.append({"path": path, "old": render(was), "new": render(now)})
    return changes


def config_diff(old: Store, new_config: Any) -> list[dict[str, str]]:
    """The difference between a stored store's configuration and a new ``StoreConfig``."""
    return diff(old.config.model_dump(mode="json"), new_config.model_dump(mode="json"))


def readable(changes: list[dict[str, str]]) -> list[str]:
    """One line per change: ``path: old -> new``."""
    return [f"{change['path']}: {change['old']} -> {change['new']}" for change in changes]


def _short(text: str) -> str:
    return text if len(text) <= MAX_VALUE_CHARS else text[: MAX_VALUE_CHARS - 1] + "…"


def created(store: Store) -> ConfigChange:
    enabled = sorted(name for name, item in store.config.integrations.items() if item.enabled)
    return ConfigChange(
        at=store.created_at,
        actor=store.created_by,
        action=CREATE,
        summary=f"created the store with integrations: {', '.join(enabled) or 'none'}",
        changes=[],
        version=store.version,
    )


def updated(
    at: str, actor: str, changes: list[dict[str, str]], version: int, issued: list[str]
) -> ConfigChange:
    paths = [change["path"] for change in changes]
    shown = ", ".join(paths[:5]) + (f" and {len(paths) - 5} more" if len(paths) > 5 else "")
    summary = f"changed {len(paths)} setting{'s' if len(paths) != 1 else ''}: {shown}"
    if issued:
        summary += f"; issued a first webhook secret for {', '.join(issued)}"
    kept = [
        {"path": c["path"], "old": _short(c["old"]), "new": _short(c["new"])}
        for c in changes[:MAX_RECORDED_CHANGES]
    ]
    return ConfigChange(at=at, actor=actor, action=UPDATE, summary=summary, changes=kept, version=version)


def secret_rotated(
    at: str, actor: str, integration: str, old_until: str | None, version: int
) -> ConfigChange:
    if old_until is None:
        after = "there was no previous secret"
    elif old_until == at:
        after = "the previous one stopped working at once"
    else:
        after = f"the previous one keeps working until {old_until}"
    return ConfigChange(
        at=at,
        actor=actor,
        action=ROTATE_SECRET,
        summary=f"rotated the {integration} webhook secret; {after}",
        changes=[],
        version=version,
    )


def admin_key_rotated(at: str, actor: str, version: int) -> ConfigChange:
    return ConfigChange(
        at=at,
        actor=actor,
        action=ROTATE_ADMIN_KEY,
        summary="rotated the admin API key; the previous key stopped working at once",
        changes=[],
        version=version,
    )
