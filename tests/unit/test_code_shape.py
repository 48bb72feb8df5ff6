"""The shape the code keeps: no function in ``functions/`` is too branchy or too long to read at once.

Complexity is radon's cyclomatic complexity (one plus the branches); length counts the lines from
``def`` to the function's last line. A function over either limit is split into named steps.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from radon.complexity import cc_visit

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2] / "functions"
MAX_COMPLEXITY = 15
MAX_LINES = 60


def _sources() -> list[Path]:
    return sorted(ROOT.rglob("*.py"))


def test_no_function_is_above_the_complexity_limit() -> None:
    over = []
    for path in _sources():
        for block in cc_visit(path.read_text(encoding="utf-8")):
            if block.complexity > MAX_COMPLEXITY:
                where = f"{path.relative_to(ROOT.parent)}:{block.lineno}"
                over.append(f"{where} {block.name} ({block.complexity})")
    assert not over, "split these into named steps:\n" + "\n".join(over)


def test_no_function_is_longer_than_a_screen() -> None:
    over = []
    for path in _sources():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > MAX_LINES:
                    where = f"{path.relative_to(ROOT.parent)}:{node.lineno}"
                    over.append(f"{where} {node.name} ({length} lines)")
    assert not over, "split these into named steps:\n" + "\n".join(over)
