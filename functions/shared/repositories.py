"""One adapter instance per class and table per process: built on first use, reused while warm."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

_lock = threading.Lock()
_instances: dict[tuple[str, tuple[Any, ...]], Any] = {}


def shared(build: Callable[..., T], *args: Any) -> T:
    """``build(*args)``, created once per process for the same arguments (table names, shard counts)."""
    key = (f"{build.__module__}.{build.__qualname__}", args)
    found = _instances.get(key)
    if found is None:
        with _lock:
            found = _instances.setdefault(key, build(*args))
    return found  # type: ignore[no-any-return]


def forget() -> None:
    """Drop every instance (tests and the local stack change tables between runs)."""
    with _lock:
        _instances.clear()
