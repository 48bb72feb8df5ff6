"""Import a module on first use, to keep it off the cold-start path of routes that never need it.

Use it with a ``TYPE_CHECKING`` import so type checkers still see the real module::

    if TYPE_CHECKING:
        from functions.flags import staff
    else:
        staff = lazy_module("functions.flags.staff")
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any


class LazyModule(ModuleType):
    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.__dict__["_loaded"] = None

    def _load(self) -> ModuleType:
        loaded = self.__dict__["_loaded"]
        if loaded is None:
            loaded = self.__dict__["_loaded"] = importlib.import_module(self.__name__)
        return loaded  # type: ignore[no-any-return]

    def __getattr__(self, attribute: str) -> Any:
        return getattr(self._load(), attribute)


def lazy_module(name: str) -> Any:
    return LazyModule(name)
