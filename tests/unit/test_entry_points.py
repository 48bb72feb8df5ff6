"""Every packaged Lambda handler runs with the app's middleware, and the code has no import cycle.

Lambda imports a function's module from its handler string and calls the attribute. Chalice names a
blueprint's handler after the blueprint's module, so a function declared on a blueprint would run without
the middleware unless that module imported ``app`` itself (an import cycle nothing checked). Every
function is therefore declared in ``app.py``; these tests keep it so.
"""

from __future__ import annotations

import ast
import importlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from aftercare.devstack.lambdas import LocalLambdaContext
from aftercare.infra import ROOT

CAPABILITY_HANDLERS = (
    "functions.outreach.handlers",
    "functions.flags.handlers",
    "functions.returns.handlers",
    "functions.insights.handlers",
    "functions.digest.handlers",
)


def packaged_functions() -> list[tuple[str, str]]:
    """(function name, handler string) of every Lambda function Chalice packages, besides the API's."""
    import app

    functions = [(f.name, f.handler_string) for f in app.app.pure_lambda_functions]
    sources = [(s.name, s.handler_string) for s in app.app.event_sources]
    return sorted(functions + sources)


def test_every_function_is_declared_on_the_app() -> None:
    functions = packaged_functions()
    assert {name for name, _ in functions} == {
        "sweep",
        "sweep_worker",
        "ses_events",
        "flag_responses",
        "count_insights",
        "escalate",
        "returns_step",
        "returns_refund",
        "returns_deadlines",
        "digest",
    }
    assert {handler.rpartition(".")[0] for _, handler in functions} == {"app"}


@pytest.mark.parametrize(("name", "handler_string"), packaged_functions())
def test_every_packaged_handler_runs_inside_the_middleware(
    name: str, handler_string: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from functions.shared import observability

    # Given the capability function behind the entry point records what it sees when it runs
    seen: dict[str, Any] = {}

    def record(*args: Any) -> dict[str, Any]:
        seen["correlation_id"] = observability.current_correlation_id()
        seen["function_name"] = observability.logger.get_current_keys().get("function_name")
        return {}

    module = next(m for m in CAPABILITY_HANDLERS if hasattr(importlib.import_module(m), name))
    monkeypatch.setattr(importlib.import_module(module), name, record)
    observability.logger.remove_keys(["function_name"])
    observability.logger.set_correlation_id(None)

    # When Lambda resolves the handler string and calls it
    module_name, _, attribute = handler_string.rpartition(".")
    handler = getattr(importlib.import_module(module_name), attribute)
    event = {  # what EventBridge sends a schedule's target; stream and workflow events are plain dicts
        "version": "0",
        "id": "00000000-0000-0000-0000-000000000000",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": "2026-11-02T09:00:00Z",
        "region": "us-east-1",
        "resources": [],
        "detail": {},
    }
    handler(event, LocalLambdaContext(function_name=f"aftercare-{name}"))

    # Then it ran with a correlation id and the function's name in every log line
    assert seen["correlation_id"]
    assert seen["function_name"] == f"aftercare-{name}"


def python_modules() -> Iterator[tuple[str, Path]]:
    yield "app", ROOT / "app.py"
    for package in ("functions", "aftercare"):
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            yield ".".join(parts[:-1] if parts[-1] == "__init__" else parts), path


def imports_at_load(module: str, path: Path, known: set[str]) -> set[str]:
    """The project modules a module imports when it is loaded (imports inside functions run later)."""
    found: set[str] = set()
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.parse(path.read_text()).body:
        statements = [node]
        if isinstance(node, ast.If):  # e.g. `if TYPE_CHECKING:` blocks are not run
            statements = [] if "TYPE_CHECKING" in ast.unparse(node.test) else node.body
        for statement in statements:
            names: list[str] = []
            if isinstance(statement, ast.Import):
                names = [alias.name for alias in statement.names]
            elif isinstance(statement, ast.ImportFrom):
                base = statement.module or ""
                if statement.level:
                    base = ".".join(package.split(".")[: len(package.split(".")) - statement.level + 1])
                    base = f"{base}.{statement.module}" if statement.module else base
                names = [base, *(f"{base}.{alias.name}" for alias in statement.names)]
            found.update(name for name in names if name in known)
    for call in load_time_nodes(ast.parse(path.read_text())):
        if (
            isinstance(call, ast.Call)
            and ast.unparse(call.func).endswith("import_module")
            and call.args
            and isinstance(call.args[0], ast.Constant)
            and call.args[0].value in known
        ):
            found.add(str(call.args[0].value))  # importlib.import_module("app") at load time
    return found - {module}


def load_time_nodes(node: ast.AST) -> Iterator[ast.AST]:
    """Every node that runs when the module loads: not the bodies of functions and lambdas."""
    for child in ast.iter_child_nodes(node):
        if not isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            yield child
            yield from load_time_nodes(child)


def test_no_import_cycle_and_nothing_imports_app() -> None:
    modules = dict(python_modules())
    graph = {module: imports_at_load(module, path, set(modules)) for module, path in modules.items()}
    importers_of_app = sorted(module for module, imported in graph.items() if "app" in imported)
    assert importers_of_app == []

    cycles: list[list[str]] = []
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(module: str, path: list[str]) -> None:
        state[module] = 1
        for imported in sorted(graph[module]):
            if state.get(imported) == 1:
                cycles.append([*path[path.index(imported) :], imported])
            elif imported not in state:
                visit(imported, [*path, imported])
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert cycles == []
