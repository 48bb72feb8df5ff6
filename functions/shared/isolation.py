"""One item's failure stays with that item: schedules that work through many items use ``each``."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TypeVar

from functions.shared.observability import logger, metrics

T = TypeVar("T")


def each(
    items: Iterable[T], act: Callable[[T], int], *, failure: str, metric: str, label: Callable[[T], object]
) -> int:
    """Run ``act`` on every item and add up what it returns.

    An item whose ``act`` raises is logged as ``failure`` (with ``label(item)``) and counted under the
    metric ``metric``; the others proceed (decision 28).
    """
    done = 0
    for item in items:
        try:
            done += act(item)
        except Exception:
            logger.exception(failure, extra={"item": label(item)})
            metrics.add_metric(name=metric, unit="Count", value=1)
    return done
