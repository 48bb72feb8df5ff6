"""Reading ``infra/``: the CloudFormation template and the state machine definitions.

The local stack, the tests and the packager all go through here, so the template stays the one
source of truth for table schemas, secrets, email configuration and function environment.
"""

from __future__ import annotations

import copy
import functools
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
INFRA = ROOT / "infra"
TEMPLATE = INFRA / "aftercare.yaml"
STATEMACHINES = INFRA / "statemachines"

_PLACEHOLDER = re.compile(r"\$\{([A-Za-z0-9_]+)\}")


class _CfnLoader(yaml.SafeLoader):
    """YAML loader that turns short-form intrinsics (!Ref, !Sub, ...) into their long form."""


def _construct(tag: str) -> Any:
    name = "Ref" if tag == "Ref" else f"Fn::{tag}"

    def construct(loader: yaml.SafeLoader, node: yaml.Node) -> dict[str, Any]:
        value: Any
        if isinstance(node, yaml.ScalarNode):
            value = loader.construct_scalar(node)
            if tag == "GetAtt":
                value = str(value).split(".", 1)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
        return {name: value}

    return construct


for _tag in (
    "Ref",
    "Sub",
    "GetAtt",
    "Join",
    "If",
    "Equals",
    "Select",
    "Split",
    "Not",
    "And",
    "Or",
    "FindInMap",
    "Base64",
    "ImportValue",
    "GetAZs",
    "Cidr",
):
    _CfnLoader.add_constructor(f"!{_tag}", _construct(_tag))


def load_template(path: Path = TEMPLATE) -> dict[str, Any]:
    """The template as data (a fresh copy each call: callers may change it)."""
    stat = path.stat()
    return copy.deepcopy(_parsed(path.resolve(), stat.st_mtime_ns, stat.st_size))


@functools.lru_cache(maxsize=8)
def _parsed(path: Path, mtime_ns: int, size: int) -> dict[str, Any]:
    """Parsing is the slow part (~0.2 s for infra/aftercare.yaml, once per test's moto account without
    this cache); a changed file has another mtime or size and is parsed again."""
    data = yaml.load(path.read_text(encoding="utf-8"), Loader=_CfnLoader)  # noqa: S506  # SafeLoader subclass
    if not isinstance(data, dict) or "Resources" not in data:
        raise ValueError(f"{path} is not a CloudFormation template")
    return data


def resources_of_type(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {name: res for name, res in template["Resources"].items() if res.get("Type") == kind}


def function_environment(template: dict[str, Any]) -> dict[str, Any]:
    """The environment every function gets (Globals.Function.Environment.Variables)."""
    variables: dict[str, Any] = (
        template.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {})
    )
    return variables


@dataclass(frozen=True)
class StateMachineSource:
    name: str
    path: Path
    definition: dict[str, Any]

    @property
    def placeholders(self) -> set[str]:
        return set(_PLACEHOLDER.findall(json.dumps(self.definition)))


def state_machines(directory: Path | None = None) -> list[StateMachineSource]:
    sources = []
    for path in sorted((directory or STATEMACHINES).glob("*.asl.json")):
        sources.append(
            StateMachineSource(path.name.removesuffix(".asl.json"), path, json.loads(path.read_text()))
        )
    return sources


def definition_for(resource: dict[str, Any]) -> StateMachineSource:
    """The ASL file a state machine resource names in ``Metadata.DefinitionFile``."""
    file_name = Path(resource.get("Metadata", {}).get("DefinitionFile", "")).name
    for source in state_machines():
        if source.path.name == file_name:
            return source
    raise ValueError(f"no infra/statemachines/{file_name or '<Metadata.DefinitionFile>'} for a state machine")


def substitute(definition: dict[str, Any], values: dict[str, str]) -> str:
    """The definition as JSON text with every ``${Name}`` replaced; unknown names are an error."""
    text = json.dumps(definition)
    missing = sorted({name for name in _PLACEHOLDER.findall(text) if name not in values})
    if missing:
        raise KeyError(f"no value for placeholder(s) {', '.join(missing)}")
    return _PLACEHOLDER.sub(lambda match: values[match.group(1)], text)
