"""Contract test for ``aftercare.devstack.motolock`` (it patches a private moto class).

Real DynamoDB makes each conditional write and each transaction atomic; moto does only with the lock.
Each race here runs through the real boto3 client, once against in-process moto (``aws_stack``) and once
against a ``ThreadedMotoServer`` started here, and would fail if the lock were missing or wrapped a
method moto's requests do not go through: a conditional put won by two threads, a compare-and-set
counter that loses or doubles an increment, a transfer that overdraws, or an internal error from moto.
"""

from __future__ import annotations

import random
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
import requests
from botocore.config import Config
from botocore.exceptions import ClientError

from aftercare.devstack import motolock

pytestmark = pytest.mark.integration

THREADS = 8
PUT_ROUNDS = 200
CAS_ROUNDS = 40
TRANSFERS = 30
ACCOUNTS = 4
OPENING_BALANCE = 3  # small, so many transfers are refused for want of funds while others race


@dataclass
class Moto:
    """A way to reach moto's DynamoDB: boto3 clients for it and a fresh table."""

    mode: str
    client: Callable[..., Any]

    def table(self, name: str, *, stream: bool = False) -> str:
        # moto copies every table (streams included) for each transaction: streams only where needed
        stream_spec = {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"} if stream else None
        self.client("dynamodb").create_table(
            TableName=name,
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
            **({"StreamSpecification": stream_spec} if stream_spec else {}),
        )
        return name


POOL = Config(max_pool_connections=THREADS * 2, retries={"mode": "standard", "max_attempts": 1})


@pytest.fixture(params=["in-process", "server"])
def moto(request: pytest.FixtureRequest) -> Iterator[Moto]:
    if request.param == "in-process":
        request.getfixturevalue("aws_stack")  # mock_aws, with the lock installed as every test has it
        yield Moto("in-process", lambda service: boto3.client(service, config=POOL))
        return
    from moto.server import ThreadedMotoServer

    motolock.serialize_dynamodb()  # as `aftercare dev` does before its moto server serves
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield Moto(
            "server",
            lambda service: boto3.client(service, endpoint_url=f"http://{host}:{port}", config=POOL),
        )
    finally:
        requests.post(f"http://{host}:{port}/moto-api/reset", timeout=10)  # the backend is process-wide
        server.stop()


@pytest.fixture
def eager_switching() -> Iterator[None]:
    """Switch threads every 10 µs instead of every 5 ms, so the window between moto's condition check and
    its write is really raced: with the default interval, unlocked moto passes the put and counter races
    most of the time on this machine; with this one it fails them every time."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    try:
        yield
    finally:
        sys.setswitchinterval(before)


def in_threads(work: Callable[[int], Any], threads: int = THREADS) -> list[Any]:
    """Run ``work(index)`` in ``threads`` threads at once; re-raise the first exception any raised."""
    with ThreadPoolExecutor(max_workers=threads) as pool:
        futures = [pool.submit(work, index) for index in range(threads)]
        return [future.result() for future in futures]


def error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


# ------------------------------------------------------------------------------------------ the patch


def test_the_lock_wraps_the_method_every_dynamodb_request_goes_through() -> None:
    from moto.core.responses import BaseResponse
    from moto.dynamodb.responses import DynamoHandler
    from moto.dynamodb.urls import url_paths
    from moto.dynamodbstreams.responses import DynamoDBStreamsHandler
    from moto.dynamodbstreams.urls import url_paths as stream_paths

    motolock.serialize_dynamodb()

    # moto routes DynamoDB (and Streams) requests to the handler's `dispatch` classmethod, which makes a
    # handler and calls `_dispatch` on it: an upgrade that changes this must fail here, loudly.
    dispatch = vars(BaseResponse)["dispatch"].__func__  # the classmethod's function
    assert motolock.PATCHED_METHOD in dispatch.__code__.co_names
    for handler, paths in ((DynamoHandler, url_paths), (DynamoDBStreamsHandler, stream_paths)):
        callbacks: list[Any] = list(paths.values())
        assert callbacks, f"moto routes nothing to {handler.__name__}"
        for callback in callbacks:
            assert callback.__self__ is handler and callback.__func__ is dispatch
        assert getattr(handler.__dict__[motolock.PATCHED_METHOD], "__aftercare_serialized__", False)
    assert motolock.is_serialized()


def test_installing_twice_is_a_no_op_and_it_can_be_undone() -> None:
    from moto.core.responses import BaseResponse
    from moto.dynamodb.responses import DynamoHandler

    motolock.serialize_dynamodb()
    installed = DynamoHandler.__dict__[motolock.PATCHED_METHOD]
    try:
        motolock.serialize_dynamodb()
        assert DynamoHandler.__dict__[motolock.PATCHED_METHOD] is installed

        motolock.unserialize_dynamodb()
        assert not motolock.is_serialized()
        assert motolock.PATCHED_METHOD not in DynamoHandler.__dict__
        assert DynamoHandler._dispatch is BaseResponse._dispatch
        motolock.unserialize_dynamodb()  # undoing twice is harmless too
    finally:
        motolock.serialize_dynamodb()  # the rest of the session keeps DynamoDB's atomicity
    assert motolock.is_serialized()


def blocked_while_locked(call: Callable[[], Any], *, settle: float = 0.5) -> Any:
    """Run ``call`` in a thread while this thread holds the lock: it must wait for the lock, then finish."""
    done = threading.Event()
    result: list[Any] = []

    def run() -> None:
        try:
            result.append(call())
        except BaseException as error:  # handed back to the test below
            result.append(error)
        done.set()

    with motolock.LOCK:
        worker = threading.Thread(target=run, daemon=True)
        worker.start()
        assert not done.wait(settle), (
            f"the request did not wait for the lock (it does not go through it): {result}"
        )
    assert done.wait(30), "the request never finished after the lock was released"
    worker.join()
    if isinstance(result[0], BaseException):
        raise result[0]
    return result[0]


def test_dynamodb_and_stream_requests_wait_for_the_lock(moto: Moto) -> None:
    table = moto.table("locked", stream=True)
    ddb, streams = moto.client("dynamodb"), moto.client("dynamodbstreams")

    blocked_while_locked(lambda: ddb.put_item(TableName=table, Item={"pk": {"S": "a"}}))
    arn = ddb.describe_table(TableName=table)["Table"]["LatestStreamArn"]
    described = blocked_while_locked(lambda: streams.describe_stream(StreamArn=arn))
    assert described["StreamDescription"]["Shards"]


def test_step_functions_dynamodb_tasks_wait_for_the_lock(aws_stack: Any) -> None:
    # Given a state machine whose task writes to DynamoDB through Step Functions' service integration
    import json

    ddb, sfn = boto3.client("dynamodb"), boto3.client("stepfunctions")
    table = Moto("in-process", boto3.client).table("sfn-target")
    definition = {
        "StartAt": "Put",
        "States": {
            "Put": {
                "Type": "Task",
                "Resource": "arn:aws:states:::dynamodb:putItem",
                "Parameters": {"TableName": table, "Item": {"pk": {"S.$": "$.pk"}}},
                "End": True,
            }
        },
    }
    machine = sfn.create_state_machine(
        name="ddb-task",
        definition=json.dumps(definition),
        roleArn="arn:aws:iam::123456789012:role/sfn",
    )["stateMachineArn"]

    def run(pk: str) -> str:
        execution = sfn.start_execution(stateMachineArn=machine, name=pk, input=json.dumps({"pk": pk}))
        for _ in range(300):
            status = str(sfn.describe_execution(executionArn=execution["executionArn"])["status"])
            if status != "RUNNING":
                return status
            time.sleep(0.05)
        return "RUNNING"

    started = time.monotonic()
    assert run("warm-up") == "SUCCEEDED"
    warm = time.monotonic() - started

    # When an execution starts while the lock is held, Then its DynamoDB write waits for it
    assert blocked_while_locked(lambda: run("locked"), settle=max(1.0, 4 * warm)) == "SUCCEEDED"
    assert "Item" in ddb.get_item(TableName=table, Key={"pk": {"S": "locked"}})


# ------------------------------------------------------------------------------------------ the races


@pytest.mark.usefixtures("eager_switching")
def test_a_conditional_put_on_a_fresh_key_has_exactly_one_winner(moto: Moto) -> None:
    # Given one fresh key per round, and 8 clients started together on it each round
    table = moto.table("race-put")
    clients = [moto.client("dynamodb") for _ in range(THREADS)]
    barrier = threading.Barrier(THREADS, timeout=60)

    def race(index: int) -> list[int]:
        won = []
        for round_ in range(PUT_ROUNDS):
            barrier.wait()
            try:
                clients[index].put_item(
                    TableName=table,
                    Item={"pk": {"S": f"k{round_}"}, "by": {"N": str(index)}},
                    ConditionExpression="attribute_not_exists(pk)",
                )
            except ClientError as error:
                assert error_code(error) == "ConditionalCheckFailedException", error
                continue
            won.append(round_)
        return won

    # When every thread tries to create the key with attribute_not_exists(pk)
    wins = Counter(round_ for won in in_threads(race) for round_ in won)

    # Then each round has exactly one winner, and the stored item is the winner's
    assert [wins[round_] for round_ in range(PUT_ROUNDS)] == [1] * PUT_ROUNDS
    items = clients[0].scan(TableName=table, ConsistentRead=True)["Items"]
    assert len(items) == PUT_ROUNDS


@pytest.mark.usefixtures("eager_switching")
def test_a_compare_and_set_counter_never_loses_or_doubles_an_increment(moto: Moto) -> None:
    # Given a counter at 0 that 8 clients increment with compare-and-set on the value they read
    table = moto.table("race-cas")
    clients = [moto.client("dynamodb") for _ in range(THREADS)]
    clients[0].put_item(TableName=table, Item={"pk": {"S": "counter"}, "n": {"N": "0"}})
    key = {"pk": {"S": "counter"}}

    def increment(index: int) -> list[tuple[int, int]]:
        ddb, done = clients[index], []
        for _ in range(CAS_ROUNDS):
            seen = int(ddb.get_item(TableName=table, Key=key, ConsistentRead=True)["Item"]["n"]["N"])
            try:
                updated = ddb.update_item(
                    TableName=table,
                    Key=key,
                    UpdateExpression="SET n = n + :one",
                    ConditionExpression="n = :seen",
                    ExpressionAttributeValues={":one": {"N": "1"}, ":seen": {"N": str(seen)}},
                    ReturnValues="UPDATED_NEW",
                )
            except ClientError as error:
                assert error_code(error) == "ConditionalCheckFailedException", error
                continue
            done.append((seen, int(updated["Attributes"]["n"]["N"])))
        return done

    # When they all race
    successes = [pair for done in in_threads(increment) for pair in done]

    # Then every value was won once, each winner moved it by exactly one, and nothing was lost
    final = int(clients[0].get_item(TableName=table, Key=key, ConsistentRead=True)["Item"]["n"]["N"])
    assert final == len(successes)
    assert sorted(seen for seen, _ in successes) == list(range(final))
    assert all(new == seen + 1 for seen, new in successes)
    assert len(successes) >= CAS_ROUNDS  # at least one thread wins each time all of them read alike


@pytest.mark.usefixtures("eager_switching")
def test_overlapping_transactions_are_atomic_and_never_fail_inside_moto(moto: Moto) -> None:
    # Given four accounts with a small balance, and 8 clients moving one unit between random pairs,
    # each move one transaction: debit (only with funds), credit, a ledger entry, and a check that the
    # bank is open
    table = moto.table("race-transact")
    clients = [moto.client("dynamodb") for _ in range(THREADS)]
    clients[0].put_item(TableName=table, Item={"pk": {"S": "bank"}, "open": {"BOOL": True}})
    for account in range(ACCOUNTS):
        clients[0].put_item(
            TableName=table,
            Item={"pk": {"S": f"acct{account}"}, "balance": {"N": str(OPENING_BALANCE)}, "out": {"N": "0"}},
        )

    def transfer(index: int) -> tuple[int, list[str]]:
        ddb, rng = clients[index], random.Random(index)
        moved, refused = 0, []
        for number in range(TRANSFERS):
            source, target = rng.sample(range(ACCOUNTS), 2)
            try:
                ddb.transact_write_items(
                    TransactItems=[
                        {
                            "Update": {
                                "TableName": table,
                                "Key": {"pk": {"S": f"acct{source}"}},
                                "UpdateExpression": "SET balance = balance - :one, #out = #out + :one",
                                "ConditionExpression": "balance >= :one",
                                "ExpressionAttributeNames": {"#out": "out"},
                                "ExpressionAttributeValues": {":one": {"N": "1"}},
                            }
                        },
                        {
                            "Update": {
                                "TableName": table,
                                "Key": {"pk": {"S": f"acct{target}"}},
                                "UpdateExpression": "SET balance = balance + :one",
                                "ExpressionAttributeValues": {":one": {"N": "1"}},
                            }
                        },
                        {
                            "Put": {
                                "TableName": table,
                                "Item": {"pk": {"S": f"tx-{index}-{number}"}},
                                "ConditionExpression": "attribute_not_exists(pk)",
                            }
                        },
                        {
                            "ConditionCheck": {
                                "TableName": table,
                                "Key": {"pk": {"S": "bank"}},
                                "ConditionExpression": "#open = :yes",
                                "ExpressionAttributeNames": {"#open": "open"},
                                "ExpressionAttributeValues": {":yes": {"BOOL": True}},
                            }
                        },
                    ]
                )
            except ClientError as error:
                refused.append(error_code(error))  # anything but a cancellation fails the test below
                continue
            moved += 1
        return moved, refused

    # When they all transfer at once
    results = in_threads(transfer)

    # Then only cancellations were refused (no internal error), and the books balance exactly
    moved = sum(count for count, _ in results)
    refusals = Counter(code for _, refused in results for code in refused)
    assert set(refusals) <= {"TransactionCanceledException"}, refusals
    items = {item["pk"]["S"]: item for item in clients[0].scan(TableName=table, ConsistentRead=True)["Items"]}
    balances = [int(items[f"acct{a}"]["balance"]["N"]) for a in range(ACCOUNTS)]
    assert min(balances) >= 0, balances
    assert sum(balances) == ACCOUNTS * OPENING_BALANCE
    assert sum(int(items[f"acct{a}"]["out"]["N"]) for a in range(ACCOUNTS)) == moved
    assert len([pk for pk in items if pk.startswith("tx-")]) == moved
    assert moved + sum(refusals.values()) == THREADS * TRANSFERS
