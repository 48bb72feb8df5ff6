"""Give moto's DynamoDB the atomicity real DynamoDB has: one request at a time.

DynamoDB makes every conditional write and every transaction atomic: two ``PutItem`` calls with
``attribute_not_exists(pk)`` on one key never both succeed, and ``TransactWriteItems`` either applies
all its writes or none. moto's in-memory backend has no lock. Two threads can both pass the same
``ConditionExpression`` before either writes, and concurrent ``TransactWriteItems`` can fail inside moto
("dictionary changed size during iteration", answered as a 500). Exactly-once promises (overlapping
sweeps, parallel webhooks, double-submitted answers) can only be tested for real when moto handles
DynamoDB requests one at a time, which is what ``serialize_dynamodb`` arranges.

Where the lock goes: every DynamoDB request moto handles, in-process (``mock_aws``: botocore's stubber
calls the URL's callback) and in a ``ThreadedMotoServer`` (Flask calls the same callback), is
``DynamoHandler.dispatch`` from ``moto/dynamodb/urls.py``. That classmethod is captured as a bound
method when moto builds its URL maps, so wrapping ``dispatch`` afterwards would miss it; but it calls
``cls()._dispatch(...)``, looked up on every request, and ``_dispatch`` (parse the request, then
``call_action``: run the action and serialize its answer) is the whole of the request's work, so that
is the method wrapped, on ``DynamoHandler`` and on ``DynamoDBStreamsHandler`` (so a stream read never
sees a table mid-write). Step Functions' ``arn:aws:states:::dynamodb:*`` tasks and ``aws-sdk:dynamodb``
tasks call DynamoDB through a boto3 client (``moto/stepfunctions/parser/asl/utils/boto_client.py``),
which reaches the same handler in either mode; the only other in-process users of the DynamoDB
backend are Lambda's ``CreateEventSourceMapping`` (setup only; the local stack delivers stream records
itself, through ``dynamodbstreams`` requests) and moto's reset.

The lock is re-entrant and process-wide: requests are short, and nothing inside a DynamoDB request waits
for another thread. This patches a private method of moto's response classes;
``tests/integration/test_moto_serialization.py`` is its contract test and fails loudly if a moto
upgrade moves or renames it.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any

LOCK = threading.RLock()
PATCHED_METHOD = "_dispatch"  # BaseResponse._dispatch: what DynamoHandler.dispatch calls per request
_MARK = "__aftercare_serialized__"
_originals: dict[type, Any] = {}  # handler class -> its own _dispatch before patching (None: inherited)


def handler_classes() -> tuple[type, ...]:
    """moto's response classes for DynamoDB and DynamoDB Streams."""
    from moto.dynamodb.responses import DynamoHandler
    from moto.dynamodbstreams.responses import DynamoDBStreamsHandler

    return (DynamoHandler, DynamoDBStreamsHandler)


def _serialized(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def dispatch(self: Any, *args: Any, **kwargs: Any) -> Any:
        with LOCK:
            return original(self, *args, **kwargs)

    setattr(dispatch, _MARK, True)
    return dispatch


def serialize_dynamodb() -> None:
    """Handle moto's DynamoDB and DynamoDB Streams requests one at a time. Installing twice is a no-op."""
    with LOCK:
        for handler in handler_classes():
            if handler in _originals:
                continue
            original = getattr(handler, PATCHED_METHOD, None)
            if not callable(original):
                raise RuntimeError(
                    f"moto's {handler.__name__} has no {PATCHED_METHOD}(); aftercare.devstack.motolock "
                    "needs updating for this moto version"
                )
            _originals[handler] = handler.__dict__.get(PATCHED_METHOD)
            setattr(handler, PATCHED_METHOD, _serialized(original))


def unserialize_dynamodb() -> None:
    """Undo ``serialize_dynamodb`` (a no-op when it is not installed)."""
    with LOCK:
        for handler, own in list(_originals.items()):
            if own is None:
                delattr(handler, PATCHED_METHOD)  # back to the inherited BaseResponse._dispatch
            else:
                setattr(handler, PATCHED_METHOD, own)
            del _originals[handler]


def is_serialized() -> bool:
    """Whether every handler class carries the lock on the method moto dispatches through."""
    return all(getattr(handler.__dict__.get(PATCHED_METHOD), _MARK, False) for handler in handler_classes())
