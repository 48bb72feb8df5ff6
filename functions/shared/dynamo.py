"""Small helpers for the DynamoDB low-level client (used only by the stores/adapters)."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

_serializer: Any = None
_deserializer: Any = None


def _codecs() -> tuple[Any, Any]:
    global _serializer, _deserializer
    if _serializer is None:
        from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

        _serializer, _deserializer = TypeSerializer(), TypeDeserializer()
    return _serializer, _deserializer


def _clean(value: Any) -> Any:
    if isinstance(value, float):
        return Decimal(str(value))
    if isinstance(value, Mapping):
        return {k: _clean(v) for k, v in value.items() if v is not None}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


def to_item(data: Mapping[str, Any]) -> dict[str, Any]:
    """Python dict → DynamoDB attribute map (None values dropped, floats as Decimal)."""
    serializer, _ = _codecs()
    return {key: serializer.serialize(_clean(value)) for key, value in data.items() if value is not None}


def to_value(value: Any) -> dict[str, Any]:
    serializer, _ = _codecs()
    result: dict[str, Any] = serializer.serialize(_clean(value))
    return result


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, set):
        return sorted(_plain(v) for v in value)
    return value


def from_item(item: Mapping[str, Any]) -> dict[str, Any]:
    """DynamoDB attribute map → plain Python (Decimals become int/float)."""
    _, deserializer = _codecs()
    return {key: _plain(deserializer.deserialize(value)) for key, value in item.items()}
