"""The DynamoDB codec's fast paths give exactly what boto3's serializer and deserializer gave."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from enum import StrEnum
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from hypothesis import given, settings
from hypothesis import strategies as st

from functions.shared import dynamo


class Colour(StrEnum):
    RED = "red"


def boto3_to_item(data: Mapping[str, Any]) -> dict[str, Any]:
    """What ``to_item`` was: boto3's serializer over the cleaned value."""
    serializer = TypeSerializer()
    cleaned = {key: dynamo._clean(value) for key, value in data.items() if value is not None}
    return {key: serializer.serialize(value) for key, value in cleaned.items()}


def boto3_from_item(item: Mapping[str, Any]) -> dict[str, Any]:
    deserializer = TypeDeserializer()
    return {key: dynamo._plain(deserializer.deserialize(value)) for key, value in item.items()}


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.decimals(allow_nan=False, allow_infinity=False, places=4, min_value=-(10**9), max_value=10**9),
    st.text(max_size=12),
    st.binary(min_size=1, max_size=8),
    st.just(Colour.RED),
    st.frozensets(st.text(min_size=1, max_size=4), min_size=1, max_size=3).map(set),
    st.frozensets(st.integers(-100, 100), min_size=1, max_size=3).map(set),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.lists(inner, max_size=3).map(tuple),
        st.dictionaries(st.text(max_size=6), inner, max_size=4),
    ),
    max_leaves=20,
)
items = st.dictionaries(st.text(min_size=1, max_size=6), values, max_size=6)


@settings(max_examples=400, deadline=None)
@given(items)
def test_to_item_is_what_boto3_serializes(data: dict[str, Any]) -> None:
    assert dynamo.to_item(data) == boto3_to_item(data)


@settings(max_examples=400, deadline=None)
@given(items)
def test_from_item_is_what_boto3_deserializes(data: dict[str, Any]) -> None:
    stored = boto3_to_item(data)
    assert dynamo.from_item(stored) == boto3_from_item(stored)


def test_an_unstorable_value_is_refused_as_before() -> None:
    for bad in (float("nan"), object()):
        for convert in (dynamo.to_item, boto3_to_item):
            try:
                convert({"x": bad})
            except (TypeError, ArithmeticError) as error:
                assert type(error).__name__ in {"TypeError", "InvalidOperation"}
            else:
                raise AssertionError(f"{bad!r} was stored")


def test_a_number_keeps_its_exact_decimal_text() -> None:
    item = dynamo.to_item({"price": Decimal("19.9900"), "count": 3, "ratio": 0.1})
    assert item == {"price": {"N": "19.9900"}, "count": {"N": "3"}, "ratio": {"N": "0.1"}}
    assert dynamo.from_item(item) == {"price": 19.99, "count": 3, "ratio": 0.1}
