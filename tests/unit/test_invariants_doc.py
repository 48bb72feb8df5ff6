"""docs/invariants.md names real places: every enforcing function and every proving test exists.

A restructure that moves or renames the one place an invariant is enforced must move the document with
it; otherwise the table points a reader at code that is gone.
"""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "invariants.md").read_text(encoding="utf-8")
SHORT = {"ledger": "orders.ledger", "planning": "orders.planning", "sweep": "outreach.sweep"}
CLASSES = {
    "CustomerRepository": "customers.store",
    "FlagRepository": "flags.store",
    "InsightsRepository": "insights.store",
    "OrderRepository": "orders.store",
    "OutreachQueue": "outreach.store",
    "ResponseRepository": "responses.store",
    "StoreRepository": "stores.store",
    "WorkspaceRepository": "workspace.store",
}
NOT_CODE = {"outreach.max_lateness"}  # a store setting, not a function


def _code_references() -> list[str]:
    found = set(re.findall(r"`([A-Za-z_][\w]*(?:\.[A-Za-z_]\w*)+)`", DOC))
    return sorted(r for r in found if not r.endswith(".py") and r not in NOT_CODE)


def _resolve(reference: str) -> object:
    """The module, function or method a reference names (``sweep._send_group``, ``Class.method``)."""
    head, *rest = reference.split(".")
    if head in CLASSES:
        target: object = getattr(importlib.import_module(f"functions.{CLASSES[head]}"), head)
    else:
        parts = [*SHORT.get(head, head).split("."), *rest]
        for cut in range(len(parts), 0, -1):  # the longest importable prefix, then attributes
            try:
                target = importlib.import_module("functions." + ".".join(parts[:cut]))
            except ModuleNotFoundError:
                continue
            rest = parts[cut:]
            break
        else:
            raise AssertionError(f"docs/invariants.md names {reference}: no such module")
    for part in rest:
        assert hasattr(target, part), f"docs/invariants.md names {reference}, which does not exist"
        target = getattr(target, part)
    return target


@pytest.mark.parametrize("reference", _code_references())
def test_every_enforcing_place_exists(reference: str) -> None:
    assert _resolve(reference) is not None


def _test_references() -> list[tuple[str, str]]:
    return sorted(set(re.findall(r"`(test_\w+\.py)::(test_\w+)`", DOC)))


@pytest.mark.parametrize(("file", "name"), _test_references())
def test_every_proving_test_exists(file: str, name: str) -> None:
    [path] = [p for p in (ROOT / "tests").rglob(file)]
    defined = {
        n.name
        for n in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(n, ast.FunctionDef)
    }
    assert name in defined, f"docs/invariants.md cites {file}::{name}, which does not exist"
