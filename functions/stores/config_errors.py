"""Store configuration errors a person can act on: the setting, the bad value, what to write instead.

pydantic refuses a store.yaml in its own words ("Input should be a valid timedelta, invalid character in
hour", "String should match pattern '^[A-Z]{3}$'"). :func:`explain` turns each problem into one sentence
for the setting's dotted path: the value as written, what is expected and an example of a good value,
e.g. ``currency``: ``"usd" is not a currency code; use three capital letters (ISO 4217), e.g. "EUR"``.
An unknown setting gets the closest known one ("did you mean default_locale?").

The validators in :mod:`functions.stores.models` raise :class:`Unfit` with those parts; pydantic's own
errors are told from the model's fields (their type, range, default and examples). ``aftercare store
create/update`` and the admin API's 422 ``fields`` both show these sentences. Pure code, no AWS.
"""

from __future__ import annotations

import difflib
import json
import re
import types
from collections.abc import Iterable
from datetime import date, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any, Literal, Union, get_args, get_origin

if TYPE_CHECKING:
    from pydantic import BaseModel, ValidationError
    from pydantic.fields import FieldInfo

MAX_SHOWN = 60  # characters of a bad value quoted back
_NONE: Any = object()  # "no example"
_PLAIN_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


class Words(str):
    """A value or example already written out, shown as is (several values, words around them)."""


class Unfit(ValueError):
    """A value the configuration refuses, in parts: ``<value> <problem>; <expected>, e.g. <example>``.

    ``at`` names where below the validated field the value sits (a key of a map, a list index), so a
    validator of a whole map can still point at the one bad entry.
    """

    def __init__(
        self, value: Any, problem: str, expected: str = "", example: Any = _NONE, *, at: tuple[Any, ...] = ()
    ) -> None:
        self.value = value
        self.problem = problem
        self.expected = expected
        self.example = example
        self.at = at
        super().__init__(sentence(value, problem, expected, example))


def shown(value: Any) -> str:
    """A value as the person wrote it in YAML or JSON, quoted and cut short when long."""
    if isinstance(value, Words):
        return str(value)
    if value is None:
        return "an empty value"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | Decimal):
        return str(value)
    if isinstance(value, timedelta):
        return f'"{iso_duration(value)}"'
    if isinstance(value, date):
        return f'"{value.isoformat()}"'
    if isinstance(value, str):
        text = value if len(value) <= MAX_SHOWN else value[: MAX_SHOWN - 1] + "…"
        return json.dumps(text, ensure_ascii=False)
    text = json.dumps(value, ensure_ascii=False, default=str, separators=(", ", ": "))
    return text if len(text) <= MAX_SHOWN else text[: MAX_SHOWN - 1] + "…"


def sentence(value: Any, problem: str, expected: str = "", example: Any = _NONE) -> str:
    """``"usd" is not a currency code; use three capital letters (ISO 4217), e.g. "EUR"``."""
    text = f"{shown(value)} {problem}"
    tail = expected
    if example is not _NONE:
        good = shown(example)
        tail = f"{tail}, e.g. {good}" if tail else f"use e.g. {good}"
    return f"{text}; {tail}" if tail else text


def iso_duration(value: timedelta) -> str:
    """A duration as ISO-8601 (P7D, PT12H, PT15M, P1DT2H)."""
    seconds = int(value.total_seconds())
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    time = "".join(f"{n}{unit}" for n, unit in ((hours, "H"), (minutes, "M"), (seconds, "S")) if n)
    return "P" + (f"{days}D" if days else "") + (f"T{time}" if time else "" if days else "T0S")


def path(loc: Iterable[Any]) -> str:
    """A location as a dotted path: ``outreach.product_types.apparel.review_delay``,
    ``staff.alert_emails[0]``, ``emails.texts.en["review.subject"]``."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        elif _PLAIN_KEY.fullmatch(str(part)):
            text += f".{part}"
        else:
            text += f"[{json.dumps(str(part), ensure_ascii=False)}]"
    return text.lstrip(".")


def explain(error: ValidationError, root: type[BaseModel]) -> list[tuple[tuple[Any, ...], str]]:
    """Each problem of ``error`` (raised validating ``root``) as (location, sentence), in order, once."""
    found: list[tuple[tuple[Any, ...], str]] = []
    for item in error.errors(include_url=False):
        told = _tell(dict(item), root)
        if told not in found:
            found.append(told)
    return found


def fields(error: ValidationError, root: type[BaseModel]) -> list[dict[str, str]]:
    """The problems as the API answers them: ``[{"field": "config.currency", "problem": "..."}]``."""
    return [{"field": path(loc) or "(body)", "problem": text} for loc, text in explain(error, root)]


# ------------------------------------------------------------------------------------- one problem

# What a setting is, what to write and an example, for settings whose type alone does not say.
_NAMED: dict[str, tuple[str, str, Any]] = {
    "currency": ("is not a currency code", "use three capital letters (ISO 4217)", "EUR"),
    "accent_color": ("is not a colour", "use # and six hexadecimal digits", "#2f6f5e"),
    "id": ("is not a store id", "use 3-40 lowercase letters, digits or hyphens", "acme-goods"),
}
_EXAMPLES: dict[str, Any] = {
    "id": "acme-goods",
    "name": "Acme Goods",
    "email": "hello@acme-goods.example.com",
    "reply_to": "care@acme-goods.example.com",
    "unsubscribe_mailto": "unsubscribe@acme-goods.example.com",
    "alert_emails": ["care@acme-goods.example.com"],
    "escalation_emails": ["manager@acme-goods.example.com"],
    "owners": ["owner@acme-goods.example.com"],
    "postal_address": "Acme Goods, 1 Main Street, Springfield 12345",
    "return_address": "Acme Goods Returns, 1 Main Street, Springfield 12345",
    "timezone": "Europe/Berlin",
    "refund_endpoint": "https://shop.example.com/aftercare/refund",
    "logo_url": "https://shop.example.com/logo.png",
    "weekly": {"monday": ["09:00-17:00"]},
    "holidays": ["2026-12-25"],
    "product_types": {"clothing": {"review_delay": "P14D"}},
    "non_returnable_types": ["gift card"],
    "keywords": ["broken"],
    "auto_approve_below": "25.00",
    "keep_it_below": "10.00",
    "sender": {"email": "hello@acme-goods.example.com", "name": "Acme Goods"},
    "staff": {"alert_emails": ["care@acme-goods.example.com"]},
    "config": {"id": "acme-goods", "name": "Acme Goods", "...": "..."},
}
_KEYS_ARE = {"integrations": "an integration", "webhook_secrets": "an integration", "weekly": "a weekday"}


def _tell(item: dict[str, Any], root: type[BaseModel]) -> tuple[tuple[Any, ...], str]:
    kind: str = item["type"]
    loc = tuple(item["loc"])
    value = item.get("input")
    ctx: dict[str, Any] = item.get("ctx") or {}
    cause = ctx.get("error")
    if kind == "value_error" and isinstance(cause, Unfit):
        return _tell_unfit(cause, loc, value, root)
    structural = _tell_structure(kind, loc, value, ctx, root)
    if structural is not None:
        return structural
    return loc, _tell_value(item, kind, loc, value, ctx, root)


def _tell_unfit(
    cause: Unfit, loc: tuple[Any, ...], value: Any, root: type[BaseModel]
) -> tuple[tuple[Any, ...], str]:
    """A problem one of our own validators described (``Unfit``)."""
    if cause.at or isinstance(cause.value, Words):  # an entry of a map, or a value not to quote back
        loc, value = loc + cause.at, cause.value
    example = cause.example if cause.example is not _NONE else _example(root, loc)
    if isinstance(value, bool):  # true/false read as a number of seconds or an amount
        return loc, sentence(value, "is not " + _noun(root, loc), cause.expected, example)
    return loc, sentence(value, cause.problem, cause.expected, example)


def _tell_structure(
    kind: str, loc: tuple[Any, ...], value: Any, ctx: dict[str, Any], root: type[BaseModel]
) -> tuple[tuple[Any, ...], str] | None:
    """A bad key, an unknown setting or a missing one; None for a problem with a value."""
    if loc and loc[-1] == "[key]":
        return loc[:-1], _bad_key(root, loc[:-1], str(value), ctx)
    if kind == "extra_forbidden":
        return loc, _unknown_setting(root, loc)
    if kind == "missing":
        name = str(loc[-1]) if loc else "config"
        example = _example(root, loc)
        add = f"; add it, e.g. {name}: {shown(example)}" if example is not _NONE else ""
        return loc, f"required but missing{add}"
    return None


def _tell_value(
    item: dict[str, Any],
    kind: str,
    loc: tuple[Any, ...],
    value: Any,
    ctx: dict[str, Any],
    root: type[BaseModel],
) -> str:
    """A value of the wrong kind, shape, length or range, in words."""
    name = _name(loc)
    annotation, info = _locate(root, loc)
    example = _example(root, loc)
    if kind == "value_error" and "reason" in ctx:  # pydantic's email check
        reason = str(ctx["reason"]).rstrip(".")
        reason = reason[:1].lower() + reason[1:]
        return sentence(value, f"is not an email address ({reason})", "", example)
    if kind == "string_pattern_mismatch" and name in _NAMED:
        problem, expected, good = _NAMED[name]
        return sentence(value, problem, expected, good)
    if kind in ("string_too_short", "string_too_long"):
        return _length(value, kind, ctx, example)
    if kind in ("too_short", "too_long"):
        return _count(value, kind, ctx, example)
    if kind in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
        return sentence(value, "is out of range", _range_words(annotation, info, ctx), example)
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return _not_a_section(value, annotation, example)
    if kind == "literal_error":
        choices = [str(c) for c in get_args(annotation)] or _choices(ctx)
        return _one_of(value, choices, _noun(root, loc))
    if kind.endswith(("_type", "_parsing", "_from_float", "finite_number")) or kind == "enum":
        return sentence(value, f"is not {_noun(root, loc)}", _expected(annotation, info, ctx), example)
    message = str(item.get("msg", "")).removeprefix("Value error, ")
    return sentence(value, f"is not accepted ({message})", "", example)


def _name(loc: tuple[Any, ...]) -> str:
    named = [str(part) for part in loc if isinstance(part, str) and part != "[key]"]
    return named[-1] if named else ""


def _unwrap(annotation: Any) -> Any:
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation = get_args(annotation)[0]
        elif origin in (Union, types.UnionType):
            options = [a for a in get_args(annotation) if a is not type(None)]
            annotation = options[0] if options else annotation
            if len(options) <= 1:
                continue
            return annotation
        else:
            return annotation


def _is_model(annotation: Any) -> bool:
    from pydantic import BaseModel

    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _locate(root: type[BaseModel], loc: tuple[Any, ...]) -> tuple[Any, FieldInfo | None]:
    """The type expected at ``loc`` and the model field it belongs to (None inside maps and lists)."""
    annotation: Any = root
    info: FieldInfo | None = None
    for part in loc:
        annotation = _unwrap(annotation)
        origin = get_origin(annotation)
        if _is_model(annotation):
            info = annotation.model_fields.get(str(part))
            if info is None:
                return None, None
            annotation = info.annotation
        elif origin is dict:
            annotation, info = get_args(annotation)[1], None
        elif origin is list:
            annotation, info = get_args(annotation)[0], None
        else:
            return None, None
    return _unwrap(annotation), info


def _example(root: type[BaseModel], loc: tuple[Any, ...]) -> Any:
    """A good value for ``loc``: a known example, the field's default, or one for its type."""
    name = _name(loc)
    annotation, info = _locate(root, loc)
    if loc and isinstance(loc[-1], int):  # an item of a list: an example item
        listed = _EXAMPLES.get(name)
        if isinstance(listed, list):
            return listed[0]
    elif name in _EXAMPLES:
        return _EXAMPLES[name]
    if info is not None and info.examples:
        return info.examples[0]
    default = _default_of(info)
    if default is not _NONE:
        return default
    return _example_of_type(annotation, info)


def _default_of(info: Any) -> Any:
    """The field's default as a person would write it; ``_NONE`` when it has none worth showing."""
    from pydantic_core import PydanticUndefined

    if info is None:
        return _NONE
    default = info.default
    if default is PydanticUndefined and info.default_factory is not None:
        default = info.default_factory()
    if default in (None, PydanticUndefined, [], {}) or _is_model(type(default)):
        return _NONE
    return _durations(default) if isinstance(default, timedelta) else _plain(default)


def _example_of_type(annotation: Any, info: Any) -> Any:
    """A plain good value of a field's type."""
    if annotation is timedelta:
        return _durations(timedelta(days=7))
    if annotation is bool:
        return True
    if annotation is int:
        low = _bounds(annotation, info, {})[0]
        return low if low is not None else 1
    if annotation is Decimal:
        return "25.00"
    if annotation is date:
        return "2026-12-25"
    if get_origin(annotation) is Literal:
        return get_args(annotation)[0]
    return _NONE


def _durations(good: timedelta) -> Words:
    days = good.days
    words = f' or "{days} day{"s" if days != 1 else ""}"' if good == timedelta(days=days) and days else ""
    return Words(f'"{iso_duration(good)}"{words} (ISO 8601; 12 hours is "PT12H")')


def _plain(value: Any) -> Any:
    """A default as the person would write it (models as their settings, decimals as text)."""
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json", exclude_defaults=True)
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, Decimal):
        return str(value)
    return value


def _noun(root: type[BaseModel], loc: tuple[Any, ...]) -> str:
    annotation, _ = _locate(root, loc)
    origin = get_origin(annotation)
    return (
        {
            timedelta: "a duration",
            bool: "true or false",
            int: "a whole number",
            Decimal: "an amount",
            date: "a date",
            str: "text",
        }.get(annotation)
        or (
            "a list"
            if origin is list
            else "a map of settings"
            if origin is dict or _is_model(annotation)
            else ""
        )
        or ("one of the allowed values" if origin is Literal else "a valid value")
    )


def _bounds(annotation: Any, info: FieldInfo | None, ctx: dict[str, Any]) -> tuple[Any, Any]:
    low, high = ctx.get("ge", ctx.get("gt")), ctx.get("le", ctx.get("lt"))
    for rule in info.metadata if info is not None else []:
        low = getattr(rule, "ge", getattr(rule, "gt", low))
        high = getattr(rule, "le", getattr(rule, "lt", high))
    return low, high


def _range_words(annotation: Any, info: FieldInfo | None, ctx: dict[str, Any]) -> str:
    low, high = _bounds(annotation, info, ctx)
    noun = "a whole number" if annotation is int else "a number"
    if low is not None and high is not None:
        return f"use {noun} from {low} to {high}"
    if low is not None:
        return f"use {noun} of at least {low}"
    return f"use {noun} of at most {high}"


def _expected(annotation: Any, info: FieldInfo | None, ctx: dict[str, Any]) -> str:
    if annotation is timedelta:
        return ""
    if annotation is bool:
        return "write true or false"
    if annotation is int:
        low, high = _bounds(annotation, info, ctx)
        return _range_words(annotation, info, ctx) if low is not None or high is not None else "use digits"
    if annotation is Decimal:
        return "write a number with at most 4 decimal places, in quotes"
    if annotation is date:
        return "write it as YYYY-MM-DD"
    if get_origin(annotation) is list:
        return "write a list (one `- item` per line in YAML)"
    if annotation is str:
        return "write text (in quotes if it looks like a number or true/false)"
    return ""


def _length(value: Any, kind: str, ctx: dict[str, Any], example: Any) -> str:
    size = len(value) if isinstance(value, str) else 0
    if kind == "string_too_short":
        least = ctx.get("min_length", 1)
        what = "is empty" if size == 0 else f"is too short ({size} characters)"
        return sentence(value, what, f"write at least {least} character{'s' if least != 1 else ''}", example)
    return sentence(
        value, f"is too long ({size} characters)", f"write at most {ctx.get('max_length')}", example
    )


def _count(value: Any, kind: str, ctx: dict[str, Any], example: Any) -> str:
    things = "entries" if ctx.get("field_type") == "Dictionary" else "items"
    actual = ctx.get("actual_length", len(value) if isinstance(value, list | dict) else 0)
    if kind == "too_short":
        least = ctx.get("min_length", 1)
        problem = f"has no {things}" if not actual else f"has {actual} {things}"
        return sentence(value, problem, f"give at least {least}", example)
    return sentence(value, f"has {actual} {things}", f"give at most {ctx.get('max_length')}", example)


def _not_a_section(value: Any, annotation: Any, example: Any) -> str:
    if _is_model(annotation):
        names = ", ".join(annotation.model_fields)
        return sentence(value, "is not a map of settings", f"write its settings indented below it ({names})")
    return sentence(value, "is not a map", "write `key: value` lines indented below it", example)


def _choices(ctx: dict[str, Any]) -> list[str]:
    return re.findall(r"'([^']*)'", str(ctx.get("expected", "")))


def _one_of(value: Any, choices: list[str], noun: str) -> str:
    close = difflib.get_close_matches(str(value), choices, n=1, cutoff=0.5)
    hint = f"; did you mean {close[0]}?" if close else ""
    return f"{shown(value)} is not {noun}; use one of {', '.join(choices)}{hint}"


def _bad_key(root: type[BaseModel], loc: tuple[Any, ...], key: str, ctx: dict[str, Any]) -> str:
    """A map key that is not allowed (``integrations: {shopfy: ...}``, ``weekly: {mon: ...}``)."""
    parent, _ = _locate(root, loc[:-1])
    key_type = _unwrap(get_args(parent)[0]) if get_origin(parent) is dict else None
    choices = [str(c) for c in get_args(key_type)] if get_origin(key_type) is Literal else _choices(ctx)
    return _one_of(key, choices, _KEYS_ARE.get(_name(loc[:-1]), "a known key"))


def _unknown_setting(root: type[BaseModel], loc: tuple[Any, ...]) -> str:
    owner, _ = _locate(root, loc[:-1])
    known = list(owner.model_fields) if _is_model(owner) else []
    key = str(loc[-1])
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    if close:
        return f"unknown setting {shown(key)}; did you mean {close[0]}?"
    return f"unknown setting {shown(key)}; the settings here are {', '.join(known)}"
