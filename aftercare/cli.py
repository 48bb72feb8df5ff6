"""The ``aftercare`` command: run the local stack and manage stores (locally or on AWS)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

import requests
import yaml
from pydantic import ValidationError

from aftercare.devstack import statefiles

EXIT_USAGE = 2
EXIT_INVALID = 3
EXIT_REMOTE = 4


class CliError(Exception):
    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


def _local_state(endpoint: str | None = None) -> dict[str, Any]:
    """The connection file of the local stack at ``endpoint`` (by default: the default running stack,
    see ``aftercare.devstack.statefiles``); empty when there is none."""
    return statefiles.find(endpoint)[1]


def _target(args: argparse.Namespace) -> tuple[str, str]:
    """Endpoint and operator key: flags, then environment, then a running local stack."""
    state = _local_state(args.endpoint or os.environ.get("AFTERCARE_ENDPOINT"))
    endpoint = args.endpoint or os.environ.get("AFTERCARE_ENDPOINT") or state.get("endpoint")
    key = args.operator_key or os.environ.get("AFTERCARE_OPERATOR_KEY")
    if not key and state and (not args.endpoint or args.endpoint.rstrip("/") == state.get("endpoint")):
        key = state.get("operator_key")
    if not endpoint:
        raise CliError(
            "No endpoint: pass --endpoint URL, set AFTERCARE_ENDPOINT, or start `aftercare dev`.", EXIT_USAGE
        )
    if not key:
        raise CliError(
            "No operator key: pass --operator-key, or set AFTERCARE_OPERATOR_KEY (on AWS it is in the secret "
            "named by the stack output OperatorKeySecretArn).",
            EXIT_USAGE,
        )
    return endpoint.rstrip("/"), key


def _call(method: str, url: str, key: str, body: Any = None) -> Any:
    try:
        response = requests.request(
            method, url, json=body, headers={"Authorization": f"Bearer {key}"}, timeout=30
        )
    except requests.RequestException as error:
        raise CliError(f"Could not reach {url}: {error}", EXIT_REMOTE) from None
    try:
        payload = response.json()
    except ValueError:
        payload = {"message": response.text[:500]}
    if response.status_code >= 400:
        lines = [f"{response.status_code}: {payload.get('message', 'request failed')}"]
        for field in payload.get("fields", []):
            lines.append(f"  - {field['field']}: {field['problem']}")
        raise CliError("\n".join(lines), EXIT_REMOTE)
    return payload


def _load_config(path: Path, secret_args: list[str]) -> dict[str, Any]:
    from functions.stores.models import StoreCreateRequest

    try:
        config = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CliError(f"{path}: no such file", EXIT_USAGE) from None
    except yaml.YAMLError as error:
        raise CliError(f"{path}: not valid YAML: {error}", EXIT_INVALID) from None
    secrets: dict[str, str] = {}
    for item in secret_args:
        name, sep, value = item.partition("=")
        if not sep:
            raise CliError(f"--secret takes INTEGRATION=VALUE, got {item!r}", EXIT_USAGE)
        secrets[name] = value
    body = {"config": config, "webhook_secrets": secrets}
    try:
        StoreCreateRequest.model_validate(body)
    except ValidationError as error:
        from functions.stores.config_errors import explain
        from functions.stores.config_errors import path as dotted

        lines = [f"{path} is not a valid store configuration:"]
        for loc, problem in explain(error, StoreCreateRequest):
            if loc[:1] == ("webhook_secrets",):
                location = "--secret " + dotted(loc[1:])
            else:
                location = dotted(loc[1:]) or "(the whole file)"
            lines.append(f"  - {location}: {problem}")
        raise CliError("\n".join(lines), EXIT_INVALID) from None
    return body


def cmd_store_create(args: argparse.Namespace) -> int:
    body = _load_config(Path(args.config), args.secret or [])
    endpoint, key = _target(args)
    result = _call("POST", f"{endpoint}/v1/admin/stores", key, body)
    store = result["store"]
    _remember_secrets(endpoint, store["id"], result["webhook_secrets"])
    print(f"Created store {store['id']} at {endpoint}")
    print("\nShown once, keep them safe:")
    print(f"  admin API key      {result['admin_key']}")
    for name, secret in result["webhook_secrets"].items():
        print(f"  {name + ' secret':<18} {secret}")
    print("\nWebhook URLs:")
    for name, url in store["webhook_urls"].items():
        print(f"  {name:<12} {url}")
    _print_identity(result.get("sender_identity") or {})
    return 0


def _print_identity(identity: dict[str, Any]) -> None:
    # The local stack verifies nothing (its SES is simulated) and says so with verification_needed: false.
    if identity and identity.get("verification_needed", not identity.get("verified")):
        records = identity.get("dkim_records", [])
        domain = identity["domain"]
        print(f"\nSES has not verified {domain} yet; Aftercare cannot email for this store until it is.")
        if records:
            print("Publish these DNS records:")
        for record in records:
            print(f"  {record['type']} {record['name']} -> {record['value']}")


def _remember_secrets(endpoint: str, store_id: str, secrets: dict[str, str], admin_key: str = "") -> None:
    """Against the local stack, keep a store's webhook secrets so `send-event` can sign for it.

    New secrets (a rotation, an integration an update enabled) are merged into what is kept; the demo
    store's own entries are kept current too.
    """
    path, state = statefiles.find(endpoint)
    if path is None or not state or state.get("endpoint") != endpoint or not (secrets or admin_key):
        return
    state.setdefault("stores", {}).setdefault(store_id, {}).update(secrets)
    demo = state.get("demo") or {}
    if demo.get("store_id") == store_id:
        demo.update({f"{name}_webhook_secret": secret for name, secret in secrets.items()})
        if admin_key:
            demo["admin_key"] = admin_key
    statefiles.write(path, state)


def _webhook_secret(args: argparse.Namespace, endpoint: str) -> str:
    if args.secret:
        return str(args.secret)
    if os.environ.get("AFTERCARE_WEBHOOK_SECRET"):
        return os.environ["AFTERCARE_WEBHOOK_SECRET"]
    state = _local_state(endpoint)
    if state.get("endpoint") == endpoint:
        demo = state.get("demo") or {}
        if demo.get("store_id") == args.store and demo.get(f"{args.integration}_webhook_secret"):
            return str(demo[f"{args.integration}_webhook_secret"])
        remembered = (state.get("stores") or {}).get(args.store, {}).get(args.integration)
        if remembered:
            return str(remembered)
    _check_store(args, endpoint, state)
    raise CliError(
        f"No {args.integration} secret for store {args.store}: "
        "pass --secret or set AFTERCARE_WEBHOOK_SECRET.",
        EXIT_USAGE,
    )


def _check_store(args: argparse.Namespace, endpoint: str, state: dict[str, Any]) -> None:
    """Say so when the store does not exist or has the integration off, if the operator key lets us ask."""
    import difflib

    key = os.environ.get("AFTERCARE_OPERATOR_KEY")
    if not key and state.get("endpoint") == endpoint:
        key = state.get("operator_key")
    if not key:
        return
    headers = {"Authorization": f"Bearer {key}"}
    try:
        found = requests.get(f"{endpoint}/v1/admin/stores/{args.store}", headers=headers, timeout=10)
        if found.status_code == 200:
            enabled = [
                name
                for name, item in (found.json().get("config", {}).get("integrations") or {}).items()
                if (item or {}).get("enabled", True)
            ]
            if args.integration not in enabled:
                raise CliError(
                    f"Store '{args.store}' has no {args.integration} integration enabled "
                    f"(enabled: {', '.join(enabled) or 'none'}); enable it with `aftercare store update`.",
                    EXIT_USAGE,
                )
            return
        if found.status_code != 404:
            return
        listed = requests.get(f"{endpoint}/v1/admin/stores?limit=1000", headers=headers, timeout=10)
        known = [str(store["id"]) for store in listed.json().get("stores", [])] if listed.ok else []
    except (requests.RequestException, ValueError, AttributeError):
        return  # cannot tell: the missing secret is what we report
    close = difflib.get_close_matches(args.store, known, n=1)
    hint = f" Did you mean '{close[0]}'?" if close else ""
    raise CliError(
        f"Unknown store '{args.store}' at {endpoint}.{hint} Known stores: {', '.join(known) or 'none'} "
        "(`aftercare store list`; create one with `aftercare store create`).",
        EXIT_USAGE,
    )


def cmd_send_event(args: argparse.Namespace) -> int:
    import time
    import uuid

    from functions.shared.signatures import sign_base64, sign_generic

    try:
        body = Path(args.file).read_bytes()
    except FileNotFoundError:
        raise CliError(f"{args.file}: no such file", EXIT_USAGE) from None
    state = _local_state(args.endpoint or os.environ.get("AFTERCARE_ENDPOINT"))
    endpoint = (args.endpoint or os.environ.get("AFTERCARE_ENDPOINT") or state.get("endpoint") or "").rstrip(
        "/"
    )
    if not endpoint:
        raise CliError(
            "No endpoint: pass --endpoint URL, set AFTERCARE_ENDPOINT, or start `aftercare dev`.", EXIT_USAGE
        )
    secret = _webhook_secret(args, endpoint)
    headers = {"Content-Type": "application/json", "User-Agent": "aftercare-cli"}
    if args.integration == "shopify":
        if not args.topic:
            raise CliError(
                "Shopify events need --topic (e.g. orders/paid, fulfillment_events/create).", EXIT_USAGE
            )
        headers.update(
            {
                "X-Shopify-Topic": args.topic,
                "X-Shopify-Hmac-Sha256": sign_base64(secret, body),
                "X-Shopify-Event-Id": args.event_id or str(uuid.uuid4()),
                "X-Shopify-Webhook-Id": str(uuid.uuid4()),
            }
        )
        path = "shopify"
    elif args.integration == "woocommerce":
        headers.update(
            {
                "X-WC-Webhook-Topic": args.topic or "order.updated",
                "X-WC-Webhook-Signature": sign_base64(secret, body),
                "X-WC-Webhook-Delivery-ID": args.event_id or str(uuid.uuid4()),
            }
        )
        path = "woocommerce"
    else:
        headers["X-Aftercare-Signature"] = sign_generic(secret, body, int(time.time()))
        path = "events"
    url = f"{endpoint}/webhooks/{args.store}/{path}"
    try:
        response = requests.post(url, data=body, headers=headers, timeout=30)
    except requests.RequestException as error:
        raise CliError(f"Could not reach {url}: {error}", EXIT_REMOTE) from None
    try:
        payload: Any = response.json()
    except ValueError:
        payload = response.text
    print(f"{response.status_code} {url}")
    print(json.dumps(payload, indent=2) if not isinstance(payload, str) else payload)
    return 0 if response.status_code < 300 else EXIT_REMOTE


def cmd_store_show(args: argparse.Namespace) -> int:
    endpoint, key = _target(args)
    result = _call("GET", f"{endpoint}/v1/admin/stores/{args.store_id}", key)
    print(yaml.safe_dump(result, sort_keys=False, allow_unicode=True), end="")
    return 0


def cmd_store_list(args: argparse.Namespace) -> int:
    from urllib.parse import quote

    endpoint, key = _target(args)
    stores: list[dict[str, Any]] = []
    after = ""
    while True:
        page = _call("GET", f"{endpoint}/v1/admin/stores?limit=1000&after={quote(after)}", key)
        stores += page["stores"]
        after = page.get("next") or ""
        if not after:
            break
    if args.json:
        print(json.dumps(stores, indent=2))
        return 0
    if not stores:
        print("No stores registered.")
        return 0
    width = max(len(store["id"]) for store in stores)
    print(f"{'ID':<{width}}  {'VERSION':>7}  {'CREATED':<20}  NAME")
    for store in stores:
        print(f"{store['id']:<{width}}  {store['version']:>7}  {store['created_at']:<20}  {store['name']}")
    return 0


def _confirm(question: str) -> bool:
    try:
        answer = input(question)
    except EOFError:
        return False
    return answer.strip().lower() in {"y", "yes"}


def cmd_store_update(args: argparse.Namespace) -> int:
    from functions.stores.changes import diff, readable
    from functions.stores.models import StoreConfig

    body = _load_config(Path(args.config), args.secret or [])
    endpoint, key = _target(args)
    store_id = body["config"]["id"]
    current = _call("GET", f"{endpoint}/v1/admin/stores/{store_id}", key)
    version = int(current.get("version") or 1)
    wanted = StoreConfig.model_validate(body["config"]).model_dump(mode="json")
    lines = readable(diff(current["config"], wanted))
    if not lines and not body["webhook_secrets"]:
        print(f"Nothing to change: store {store_id} already has this configuration (version {version}).")
        return 0
    print(f"Changes to store {store_id} (version {version}):")
    for line in lines:
        print(f"  {line}")
    if not args.yes and not _confirm(f"Apply {len(lines)} change(s) to {store_id}? [y/N] "):
        print("Nothing changed (pass --yes to apply without asking).")
        return 1
    result = _call("PUT", f"{endpoint}/v1/admin/stores/{store_id}", key, {**body, "version": version})
    issued: dict[str, str] = result.get("webhook_secrets") or {}
    _remember_secrets(endpoint, store_id, issued)
    print(f"Updated store {store_id}: now at version {result['version']}.")
    if any(line.startswith("retention.") for line in lines):
        print(
            "The new retention applies to each item at its next write; to apply it now to the data the store "
            f"already holds, run: aftercare store apply-retention {store_id}"
        )
    if issued:
        print("\nNew webhook secrets, shown once, keep them safe:")
        for name, secret in issued.items():
            print(f"  {name + ' secret':<18} {secret}")
    _print_identity(result.get("sender_identity") or {})
    return 0


def cmd_store_rotate_secret(args: argparse.Namespace) -> int:
    endpoint, key = _target(args)
    body: dict[str, Any] = {}
    if args.secret:
        body["secret"] = args.secret
    if args.grace_hours is not None:
        body["grace_hours"] = args.grace_hours
    url = f"{endpoint}/v1/admin/stores/{args.store_id}/secrets/{args.integration}/rotate"
    result = _call("POST", url, key, body)
    _remember_secrets(endpoint, args.store_id, {args.integration: result["secret"]})
    print(f"New {args.integration} webhook secret for store {args.store_id} (shown once, keep it safe):")
    print(f"  {result['secret']}")
    until = result.get("previous_valid_until")
    if until is None:
        print("There was no previous secret.")
    elif args.grace_hours == 0:
        print("The previous secret stopped working at once.")
    else:
        print(
            f"The previous secret keeps working until {until}: set the new one at the platform before then."
        )
    if args.integration == "shopify" and not args.secret:
        print("Note: Shopify signs with the secret it shows you; pass that one with --secret.")
    return 0


def cmd_store_rotate_admin_key(args: argparse.Namespace) -> int:
    endpoint, key = _target(args)
    result = _call("POST", f"{endpoint}/v1/admin/stores/{args.store_id}/admin-key/rotate", key)
    _remember_secrets(endpoint, args.store_id, {}, admin_key=result["admin_key"])
    print(f"New admin API key for store {args.store_id} (shown once, keep it safe):")
    print(f"  {result['admin_key']}")
    print("The previous key stopped working at once.")
    return 0


def cmd_store_history(args: argparse.Namespace) -> int:
    endpoint, key = _target(args)
    result = _call("GET", f"{endpoint}/v1/admin/stores/{args.store_id}/history?limit={args.limit}", key)
    for entry in result["history"]:
        print(f"{entry['at']}  v{entry['version']}  {entry['actor']}  {entry['action']}: {entry['summary']}")
        for change in entry["changes"]:
            print(f"    {change['path']}: {change['old']} -> {change['new']}")
    return 0


def cmd_store_apply_retention(args: argparse.Namespace) -> int:
    """Put the store's current retention on everything it already holds (idempotent: run it again freely)."""
    endpoint, key = _target(args)
    result = _call("POST", f"{endpoint}/v1/admin/stores/{args.store_id}/retention/apply", key)
    changed = ", ".join(f"{count} {kind}" for kind, count in result["changed"].items())
    print(f"Applied the retention of store {result['store_id']} at {endpoint} in {result['seconds']} s")
    print(f"  new expiry on: {changed} (the rest already had it)")
    return 0


def cmd_dev(args: argparse.Namespace) -> int:
    from aftercare.devstack.persist import SavedStateUnreadable
    from aftercare.devstack.runner import PortInUse, serve

    try:
        return serve(
            args.host, args.port, demo=args.demo, verbose=args.verbose, fresh=args.fresh, streams=args.streams
        )
    except (PortInUse, SavedStateUnreadable) as error:
        raise CliError(str(error), EXIT_USAGE) from None


def _target_options(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("--endpoint", help="API base URL (default: the running local stack)")
    sub.add_argument("--operator-key", help="operator key (default: $AFTERCARE_OPERATOR_KEY or local stack)")


def _store_management_parsers(store: Any) -> None:
    listing = store.add_parser("list", help="list the registered stores (id, name, version, created)")
    listing.add_argument("--json", action="store_true", help="print JSON instead of a table")
    listing.set_defaults(func=cmd_store_list)
    update = store.add_parser("update", help="change a store's configuration (shows the difference first)")
    update.add_argument("--config", required=True, help="path to store.yaml (its id names the store)")
    update.add_argument(
        "--secret",
        action="append",
        metavar="INTEGRATION=VALUE",
        help="the platform's secret for an integration this update enables (e.g. shopify=...)",
    )
    update.add_argument("--yes", action="store_true", help="apply without asking")
    update.set_defaults(func=cmd_store_update)
    secret = store.add_parser(
        "rotate-secret", help="issue a new webhook secret; the old one stays valid a while"
    )
    secret.add_argument("store_id")
    secret.add_argument("--integration", required=True, choices=["shopify", "woocommerce", "generic"])
    secret.add_argument("--secret", help="the new secret when the platform dictates it (Shopify)")
    secret.add_argument(
        "--grace-hours",
        type=int,
        help="how long the old secret keeps verifying (default 72; 0 stops it at once, for a leaked secret)",
    )
    secret.set_defaults(func=cmd_store_rotate_secret)
    key = store.add_parser("rotate-admin-key", help="issue a new admin API key; the old one stops at once")
    key.add_argument("store_id")
    key.set_defaults(func=cmd_store_rotate_admin_key)
    history = store.add_parser("history", help="print a store's config history, newest first")
    history.add_argument("store_id")
    history.add_argument("--limit", type=int, default=50, help="entries to show (1-200)")
    history.set_defaults(func=cmd_store_history)
    keep = store.add_parser(
        "apply-retention", help="put the store's retention on the data it already holds (after changing it)"
    )
    keep.add_argument("store_id")
    keep.set_defaults(func=cmd_store_apply_retention)
    for sub in (listing, update, secret, key, history, keep):
        _target_options(sub)


def cmd_insights_rebuild(args: argparse.Namespace) -> int:
    """Recompute a store's insights counters from the source tables (idempotent: run it again freely)."""
    endpoint, key = _target(args)
    result = _call("POST", f"{endpoint}/v1/admin/stores/{args.store}/insights/rebuild", key)
    read = result["read"]
    print(f"Rebuilt the insights of store {result['store_id']} at {endpoint} in {result['seconds']} s")
    print(
        f"  read {read['answers']} answers, {read['requests']} requests, {read['flags']} flags, "
        f"{read['returns']} returns; wrote {result['weeks']} weeks ({result['writes']} writes)"
    )
    return 0


def _customer_call(args: argparse.Namespace, action: str) -> Any:
    """POST the address to the store's customer route: with --admin-key as the store, else as the operator."""
    from urllib.parse import quote

    if args.admin_key:
        endpoint = (
            args.endpoint or os.environ.get("AFTERCARE_ENDPOINT") or _local_state().get("endpoint") or ""
        )
        if not endpoint:
            raise CliError(
                "No endpoint: pass --endpoint URL, set AFTERCARE_ENDPOINT, or start `aftercare dev`.",
                EXIT_USAGE,
            )
        url = f"{endpoint.rstrip('/')}/v1/stores/{quote(args.store)}/customers/{action}"
        return _call("POST", url, args.admin_key, {"email": args.email})
    endpoint, key = _target(args)
    url = f"{endpoint}/v1/admin/stores/{quote(args.store)}/customers/{action}"
    return _call("POST", url, key, {"email": args.email})


def cmd_customer_export(args: argparse.Namespace) -> int:
    """Print (or write to --out) everything Aftercare holds about one customer in one store, as JSON."""
    document = _customer_call(args, "export")
    text = json.dumps(document, indent=2, ensure_ascii=False, sort_keys=True)
    if args.out:
        Path(args.out).write_text(text + "\n", encoding="utf-8")
        print(f"Wrote the export of {args.email} in store {args.store} to {args.out}")
    else:
        print(text)
    return 0


def cmd_customer_erase(args: argparse.Namespace) -> int:
    """Erase one customer from one store (asks first unless --yes); running it again is harmless."""
    if not args.yes and not _confirm(
        f"Erase everything about {args.email} in store {args.store}? This cannot be undone. [y/N] "
    ):
        print("Nothing erased.")
        return 1
    result = _customer_call(args, "erase")
    removed = ", ".join(f"{number} {kind}" for kind, number in sorted(result["removed"].items()) if number)
    print(f"Erased {args.email} from store {args.store}: {removed or 'nothing was left to remove'}")
    print("  Emails to this address stay stopped (kept as a keyed hash, not the address).")
    return 0


def _customer_parsers(commands: Any) -> None:
    customer = commands.add_parser("customer", help="a customer's data: export or erase").add_subparsers(
        dest="customer_command", required=True
    )
    export = customer.add_parser("export", help="everything held about a customer in a store, as JSON")
    export.add_argument("--out", help="write the JSON to this file instead of printing it")
    export.set_defaults(func=cmd_customer_export)
    erase = customer.add_parser("erase", help="erase a customer from a store (emails to them stay stopped)")
    erase.add_argument("--yes", action="store_true", help="erase without asking")
    erase.set_defaults(func=cmd_customer_erase)
    for sub in (export, erase):
        sub.add_argument("--store", required=True, help="store id")
        sub.add_argument("--email", required=True, help="the customer's email address")
        sub.add_argument("--admin-key", help="the store's admin API key (instead of the operator key)")
        _target_options(sub)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="aftercare", description="Aftercare post-purchase responder")
    commands = parser.add_subparsers(dest="command", required=True)

    dev = commands.add_parser("dev", help="run the embedded local stack")
    dev.add_argument("--host", default="127.0.0.1")
    dev.add_argument("--port", type=int, default=8000, help="HTTP port (0 picks a free one)")
    dev.add_argument("--demo", action="store_true", help="also create a demo store and print its secrets")
    dev.add_argument(
        "--verbose", action="store_true", help="show function logs and metrics, every request too"
    )
    dev.add_argument(
        "--fresh", action="store_true", help="forget what .aftercare/stack-<port>/ saved; start empty"
    )
    dev.add_argument(
        "--streams",
        choices=("write", "poll"),
        default="write",
        help="deliver stream records as they are written (default) or only every second (the old way)",
    )
    dev.set_defaults(func=cmd_dev)

    store = commands.add_parser("store", help="manage stores").add_subparsers(
        dest="store_command", required=True
    )
    for name, func, help_text in (
        ("create", cmd_store_create, "validate store.yaml and register the store"),
        ("show", cmd_store_show, "print a store's configuration (never its secrets)"),
    ):
        sub = store.add_parser(name, help=help_text)
        if name == "create":
            sub.add_argument("--config", required=True, help="path to store.yaml")
            sub.add_argument(
                "--secret",
                action="append",
                metavar="INTEGRATION=VALUE",
                help="a webhook secret the platform gave you (e.g. shopify=...)",
            )
        else:
            sub.add_argument("store_id")
        sub.add_argument("--endpoint", help="API base URL (default: the running local stack)")
        sub.add_argument(
            "--operator-key", help="operator key (default: $AFTERCARE_OPERATOR_KEY or local stack)"
        )
        sub.set_defaults(func=func)
    _store_management_parsers(store)
    send = commands.add_parser("send-event", help="sign a payload with a store's secret and post it")
    send.add_argument("--store", required=True, help="store id")
    send.add_argument("--file", required=True, help="the JSON payload, sent byte for byte")
    send.add_argument("--integration", required=True, choices=["shopify", "woocommerce", "generic"])
    send.add_argument("--topic", help="Shopify topic (required) or WooCommerce topic (default order.updated)")
    send.add_argument("--event-id", help="delivery id to send (repeat it to test de-duplication)")
    send.add_argument(
        "--secret", help="webhook secret (default: $AFTERCARE_WEBHOOK_SECRET or the local stack's)"
    )
    send.add_argument("--endpoint", help="API base URL (default: the running local stack)")
    send.set_defaults(func=cmd_send_event)
    insights = commands.add_parser("insights", help="the insights counters").add_subparsers(
        dest="insights_command", required=True
    )
    rebuild = insights.add_parser("rebuild", help="recompute a store's insights counters from its data")
    rebuild.add_argument("--store", required=True, help="store id")
    _target_options(rebuild)
    rebuild.set_defaults(func=cmd_insights_rebuild)
    _customer_parsers(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code: int = args.func(args)
    except CliError as error:
        print(f"aftercare: {error}", file=sys.stderr)
        return error.code
    return code


if __name__ == "__main__":
    sys.exit(main())
