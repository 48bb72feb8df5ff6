"""The README's `send-event` examples can be pasted as they are: every example file is shown, with the
integration and, for Shopify, the topic it needs (a topic Aftercare acts on, never one it ignores)."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest

from aftercare.cli import build_parser
from functions.webhooks.shopify import HANDLED_TOPICS

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]


def send_event_commands() -> list[list[str]]:
    commands = []
    for line in (ROOT / "README.md").read_text(encoding="utf-8").splitlines():
        if line.startswith(".venv/bin/aftercare send-event "):
            commands.append(shlex.split(line)[1:])
    return commands


def test_every_example_event_is_shown_with_the_options_it_needs() -> None:
    # Given the README's send-event lines, parsed by the CLI's own parser
    shown = {}
    for argv in send_event_commands():
        args = build_parser().parse_args(argv)
        shown[Path(args.file).name] = (args.integration, args.topic)
        # Then each names a file that exists and is JSON
        json.loads((ROOT / args.file).read_text(encoding="utf-8"))
    # And every example file is shown once at least; Shopify ones with a topic Aftercare acts on
    assert set(shown) == {path.name for path in (ROOT / "examples" / "events").glob("*.json")}
    for name, (integration, topic) in shown.items():
        assert integration == name.split("-")[0], name
        if integration == "shopify":
            assert topic in HANDLED_TOPICS, (name, topic)
