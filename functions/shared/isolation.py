"""One item's failure stays with that item: schedules that work through many items use ``each``."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from functions.shared.observability import logger, metrics

Item = TypeVar("Item", bound=Mapping[str, Any])


@dataclass(frozen=True)
class OnFailure:
    """How a failed item is reported: the log message, the metric counted, the attribute naming the item."""

    message: str
    metric: str
    key: str


def each(items: Iterable[Item], act: Callable[[Item], int], on_failure: OnFailure) -> int:
    """Run ``act`` on every item and add up what it returns.

    An item whose ``act`` raises is logged and counted as ``on_failure`` says; the others proceed
    (decision 28).
    """
    done = 0
    for item in items:
        try:
            done += act(item)
        except Exception:
            logger.exception(on_failure.message, extra={on_failure.key: item.get(on_failure.key)})
            metrics.add_metric(name=on_failure.metric, unit="Count", value=1)
    return done
