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


def _attribute(value: Any) -> dict[str, Any]:
    """``TypeSerializer().serialize(_clean(value))``, with plain strings, dicts and lists done here: they are
    most of every item, and boto3's serializer asks a dozen ``isinstance`` questions of each value
    (a third of a webhook's own CPU). Anything else (numbers, floats, bytes, sets, other mappings) goes
    to boto3's serializer exactly as before; ``tests/unit/test_dynamo_codec.py`` checks the two agree."""
    kind = type(value)
    if kind is str:
        return {"S": value}
    if kind is dict:
        return {"M": {key: _attribute(inner) for key, inner in value.items() if inner is not None}}
    if kind is list or kind is tuple:
        return {"L": [_attribute(inner) for inner in value]}
    if kind is bool:
        return {"BOOL": value}
    serializer, _ = _codecs()
    result: dict[str, Any] = serializer.serialize(_clean(value))
    return result


def to_item(data: Mapping[str, Any]) -> dict[str, Any]:
    """Python dict → DynamoDB attribute map (None values dropped, floats as Decimal)."""
    return {key: _attribute(value) for key, value in data.items() if value is not None}


def to_value(value: Any) -> dict[str, Any]:
    return _attribute(value)


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


def _python(value: Mapping[str, Any]) -> Any:
    """``_plain(TypeDeserializer().deserialize(value))``, with strings, maps, lists and booleans done here
    (numbers, binary and sets go through boto3's deserializer as before)."""
    if "S" in value:
        return value["S"]
    if "M" in value:
        return {key: _python(inner) for key, inner in value["M"].items()}
    if "L" in value:
        return [_python(inner) for inner in value["L"]]
    if "BOOL" in value:
        return value["BOOL"]
    _, deserializer = _codecs()
    return _plain(deserializer.deserialize(value))


def from_item(item: Mapping[str, Any]) -> dict[str, Any]:
    """DynamoDB attribute map → plain Python (Decimals become int/float)."""
    return {key: _python(value) for key, value in item.items()}
