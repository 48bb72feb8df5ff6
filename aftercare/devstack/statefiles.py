"""Where a local stack keeps its files, one directory per port (docs/decisions.md, "local stacks per port").

``.aftercare/stack-<port>/dev.json``   the connection file: endpoint, operator key, demo secrets, the secrets
                                       the CLI remembered; ``pid`` while the stack runs. Only that stack
                                       writes it (and the CLI, for the stack whose endpoint it names).
``.aftercare/stack-<port>/state.json`` the saved data (``aftercare.devstack.persist``).
``.aftercare/dev.json``                a pointer to the default stack, the one the CLI talks to without
                                       ``--endpoint``: claimed by a stack only when no running stack holds
                                       it, removed on stop only by the stack it names.

Two stacks on two ports never share a file, and stopping one never removes what the other relies on.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Any

ROOT = Path(".aftercare")
POINTER = "dev.json"


def stack_dir(port: int, root: Path = ROOT) -> Path:
    return root / f"stack-{port}"


def connection_file(port: int, root: Path = ROOT) -> Path:
    return stack_dir(port, root) / "dev.json"


def pid_alive(pid: Any) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def read(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def write(path: Path, data: dict[str, Any]) -> None:
    """Write atomically (a reader never sees half a file), readable by the owner only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(json.dumps(data, indent=2), encoding="utf-8")
    temporary.chmod(0o600)
    temporary.replace(path)


def claim_default(port: int, endpoint: str, root: Path = ROOT) -> bool:
    """Point ``.aftercare/dev.json`` at this stack unless another running stack holds it."""
    pointer = read(root / POINTER)
    if pointer and pointer.get("pid") != os.getpid() and pid_alive(pointer.get("pid")):
        return False
    write(
        root / POINTER,
        {"endpoint": endpoint, "port": port, "pid": os.getpid(), "file": f"stack-{port}/dev.json"},
    )
    return True


def release_default(root: Path = ROOT) -> None:
    """Remove the pointer if, and only if, it names this process."""
    pointer = read(root / POINTER)
    if pointer.get("pid") == os.getpid():
        with contextlib.suppress(FileNotFoundError):
            (root / POINTER).unlink()


def running(root: Path = ROOT) -> list[tuple[Path, dict[str, Any]]]:
    """Connection files of the stacks running now, oldest start first."""
    found = []
    for path in sorted(root.glob("stack-*/dev.json")):
        data = read(path)
        if data and pid_alive(data.get("pid")):
            found.append((path, data))
    return sorted(found, key=lambda item: str(item[1].get("started_at", "")))


def find(endpoint: str | None = None, root: Path = ROOT) -> tuple[Path | None, dict[str, Any]]:
    """The connection file the CLI should use: the stack at ``endpoint`` (running or not), else the default
    stack, else the oldest running one. ``(None, {})`` when there is none."""
    if endpoint:
        wanted = endpoint.rstrip("/")
        for path in sorted(root.glob("stack-*/dev.json")):
            data = read(path)
            if str(data.get("endpoint", "")).rstrip("/") == wanted:
                return path, data
        return None, {}
    pointer = read(root / POINTER)
    if pointer and pid_alive(pointer.get("pid")):
        path = root / str(pointer.get("file") or f"stack-{pointer.get('port')}/dev.json")
        if path.is_file():
            return path, read(path)
    live = running(root)
    return live[0] if live else (None, {})
