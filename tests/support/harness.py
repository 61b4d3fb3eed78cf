"""What the tests and the benchmarks share: the repository's root, fictional numbers, and
AWS answered in process (moto behind a per-call lock, canned End User Messaging answers,
injected faults). Local mode has its own module, ``tests.support.local_mode``.

Nothing here reaches AWS: DynamoDB is moto, and End User Messaging is answered before any
request leaves botocore.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from local.simulator import RawBody

ROOT = Path(__file__).resolve().parents[2]

# SendTextMessage parameters besides the destination, checked as present on every send.
SEND_KEYS = (
    "OriginationIdentity",
    "MessageBody",
    "MessageType",
    "TimeToLive",
    "Context",
    "ConfigurationSetName",
    "ProtectConfigurationId",
)


# US area codes where phonenumbers calls every 555-0100..555-0199 number valid and
# "fixed line or mobile". 555-01xx numbers are fictional: nobody owns them.
_AREA_CODES = (
    "201", "202", "203", "205", "206", "207", "208", "209", "210", "212", "213", "214",
    "215", "216", "217", "218", "219", "220", "223", "224", "225", "227", "228", "229",
    "231", "234", "235", "239", "240", "248", "251", "252", "253", "254", "256", "260",
    "262", "267", "269", "270",
)  # fmt: skip


def fictional_numbers(offset: int = 0) -> Iterator[str]:
    """Distinct valid US numbers in the fictional 555-01xx range (4,000 of them)."""
    numbers = (f"+1{area}55501{line:02d}" for area in _AREA_CODES for line in range(100))
    return itertools.islice(numbers, offset, None)


# DynamoDB through moto, one call at a time --------------------------------------------


def all_at_once(count: int, action: Callable[[int], Any]) -> list[Any]:
    """``count`` threads released together by a barrier; their results in order."""
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count

    def run(index: int) -> None:
        barrier.wait()
        try:
            results[index] = action(index)
        except Exception as error:  # recorded, so the assertion shows it
            results[index] = error

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


class FaultyClient:
    """A boto3 client that fails chosen calls, as botocore surfaces an error once its own
    retries are spent, and otherwise passes every call to the real (moto) client.

    ``fail(operation, error, after=n)`` lets the next ``n`` calls of ``operation`` through,
    then fails one (``times`` in a row); ``before(operation, callback)`` runs ``callback``
    once just before the next call of ``operation`` (to let a competing writer in between
    a read and a conditional write).
    """

    def __init__(self, client: Any) -> None:
        self._client = client
        self.meta = client.meta
        self.exceptions = client.exceptions
        self.calls: list[str] = []
        self._plans: dict[str, list[Exception | None]] = {}
        self._before: dict[str, list[Callable[[], None]]] = {}

    def fail(self, operation: str, error: Exception, times: int = 1, after: int = 0) -> None:
        self._plans.setdefault(operation, []).extend([None] * after + [error] * times)

    def before(self, operation: str, callback: Callable[[], None]) -> None:
        self._before.setdefault(operation, []).append(callback)

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._client, name)
        if not callable(attribute):
            return attribute

        def call(*args: Any, **kwargs: Any) -> Any:
            self.calls.append(name)
            callbacks = self._before.get(name)
            if callbacks:
                callbacks.pop(0)()
            plan = self._plans.get(name)
            failure = plan.pop(0) if plan else None
            if failure is not None:
                raise failure
            return attribute(*args, **kwargs)

        return call


def client_error(operation: str, code: str, status: int = 400, **extra: Any) -> Exception:
    """The ClientError botocore raises for ``code`` (with any extra response fields)."""
    from botocore.exceptions import ClientError

    response: dict[str, Any] = {
        "Error": {"Code": code, "Message": f"injected {code}"},
        "ResponseMetadata": {"HTTPStatusCode": status},
        **extra,
    }
    return ClientError(response, operation)  # type: ignore[arg-type]


def moto_table(table_name: str = "subscribers") -> Any:
    """A DynamoDB client on moto with the stack's table (call inside ``mock_aws``)."""
    import boto3

    from optin.adapters.schema import table_definition

    client = boto3.client("dynamodb", region_name="us-east-1")
    client.create_table(**table_definition(table_name))
    return client


# End User Messaging answered in process -----------------------------------------------


class CannedSms:
    """Answers ``pinpoint-sms-voice-v2`` requests on a real client at ``before-send``: the
    request is built, serialised and signed as for AWS, then answered here instead of
    going on the wire. Thread-safe; records every SendTextMessage."""

    def __init__(self, number_types: dict[str, str] | None = None) -> None:
        self.number_types = number_types or {}
        self.sent: list[dict[str, Any]] = []
        self.sent_at: list[float] = []  # time.time() as each SendTextMessage arrived
        self.lookups: list[str] = []
        self.listed: list[str] = []  # PutOptedOutNumber calls
        self._lock = threading.Lock()
        self._before_send: list[Callable[[dict[str, Any]], None]] = []

    def before_next_send(self, callback: Callable[[dict[str, Any]], None]) -> None:
        """Run ``callback(params)`` once, as the next SendTextMessage reaches AWS."""
        self._before_send.append(callback)

    def attach(self, client: Any) -> Any:
        client.meta.events.register("before-send.pinpoint-sms-voice-v2", self._answer)
        return client

    def attach_returning(self, client: Any) -> CannedSms:
        self.attach(client)
        return self

    def _answer(self, request: Any, **_kwargs: Any) -> Any:
        from botocore.awsrequest import AWSResponse

        operation = request.headers.get("X-Amz-Target", b"")
        if isinstance(operation, bytes):
            operation = operation.decode()
        operation = operation.rsplit(".", 1)[-1]
        params = json.loads(request.body or b"{}")
        if operation == "SendTextMessage" and self._before_send:
            self._before_send.pop(0)(params)
        with self._lock:
            if operation == "SendTextMessage":
                self.sent.append(params)
                self.sent_at.append(time.time())
                body: dict[str, Any] = {"MessageId": str(uuid.uuid4())}
            elif operation == "CarrierLookup":
                number = params["PhoneNumber"]
                self.lookups.append(number)
                body = {
                    "E164PhoneNumber": number,
                    "PhoneNumberType": self.number_types.get(number, "MOBILE"),
                    "Carrier": "Example Wireless",
                }
            elif operation == "DeleteOptedOutNumber":
                body = {"OptedOutNumber": params["OptedOutNumber"]}
            elif operation == "PutOptedOutNumber":
                self.listed.append(params["OptedOutNumber"])
                body = {
                    "OptOutListName": params["OptOutListName"],
                    "OptedOutNumber": params["OptedOutNumber"],
                    "OptedOutTimestamp": time.time(),
                    "EndUserOptedOut": False,
                }
            else:
                raise AssertionError(f"unexpected End User Messaging call {operation}")
        headers = {"x-amzn-RequestId": str(uuid.uuid4()), "Content-Type": "application/json"}
        return AWSResponse(request.url, 200, headers, RawBody(json.dumps(body).encode()))

    def sent_to(self, number: str) -> list[dict[str, Any]]:
        return [params for params in self.sent if params["DestinationPhoneNumber"] == number]


def sms_client() -> Any:
    """A real End User Messaging client, configured as the functions configure theirs."""
    from optin.adapters.sms import sms_client as functions_client

    return functions_client()


# The functions' real adapters ----------------------------------------------------------


class RealAdapters:
    """The functions' real adapters (call inside ``mock_aws``): DynamoDB on moto behind
    ``wrap`` (FaultyClient, so a test can fail a call or slip a competing write in before
    one; LockedClient for threads), End User Messaging on a real client that a test answers
    with a Stubber or with CannedSms."""

    def __init__(
        self, settings: Any, clock: Callable[[], Any], wrap: Callable[[Any], Any] = FaultyClient
    ) -> None:
        import boto3

        from optin.adapters.dynamodb import DynamoRateBucket, DynamoSubscriberStore
        from optin.adapters.queue import SqsSendQueue
        from optin.adapters.sms import CarrierNumberLookup, EndUserMessagingSender
        from optin.domain.ports import Ports

        self.dynamodb = wrap(moto_table(settings.table_name))
        self.sms = sms_client()
        self.sqs = wrap(boto3.client("sqs", region_name="us-east-1"))
        self.queue_arns: dict[str, str] = {}
        urls = {}
        for name in ("transactional", "broadcast"):
            urls[name] = self.sqs.create_queue(QueueName=f"send-{name}")["QueueUrl"]
            self.queue_arns[urls[name]] = self.sqs.get_queue_attributes(
                QueueUrl=urls[name], AttributeNames=["QueueArn"]
            )["Attributes"]["QueueArn"]
        self.queue = SqsSendQueue(urls["transactional"], urls["broadcast"], self.sqs)
        self.store = DynamoSubscriberStore(settings.table_name, client=self.dynamodb)
        self.sender = EndUserMessagingSender(settings, self.sms, send_client=self.sms)
        self.settings = settings
        self.ports = Ports(
            rules=settings.rules,
            store=self.store,
            sender=self.sender,
            lookup=CarrierNumberLookup(self.sms),
            queue=self.queue,
            bucket=DynamoRateBucket(
                settings.table_name, settings.origination_identity, self.dynamodb
            ),
            clock=clock,
            sleep=getattr(clock, "sleep", time.sleep),
        )

    def canned(self, **number_types: str) -> CannedSms:
        """Answer End User Messaging in process from now on."""
        return CannedSms(number_types).attach_returning(self.sms)

    def drain(self, *, later_now: bool = False, rounds: int = 1000) -> list[dict[str, Any]]:
        """Hand every visible queued message to the sender function, as its SQS event source
        would (transactional first), deleting what it does not report as failed, until none
        is visible. A message the sender puts back for later stays queued, unless
        ``later_now``: then "later" is at once (SQS counts real seconds; the tests' clock
        does not). Returns the sender's answers."""
        return drain_queues(self.sqs, self.queue, self.queue_arns, later_now, rounds)


def drain_queues(
    sqs: Any, queue: Any, arns: dict[str, str], later_now: bool = False, rounds: int = 1000
) -> list[dict[str, Any]]:
    """The send queues on moto, drained through the real sender function."""
    from local.events import LambdaContext, sqs_event
    from optin.handlers import sender

    answers: list[dict[str, Any]] = []
    for _ in range(rounds):
        for url in (queue.transactional_url, queue.broadcast_url):
            messages = sqs.receive_message(
                QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"]
            ).get("Messages", [])
            if messages:
                answer = sender.handler(sqs_event(messages, arns[url]), LambdaContext())
                answers.append(answer)
                failed = {item["itemIdentifier"] for item in answer["batchItemFailures"]}
                for message in messages:
                    handle = message["ReceiptHandle"]
                    if message["MessageId"] not in failed:
                        sqs.delete_message(QueueUrl=url, ReceiptHandle=handle)
                    elif later_now:
                        sqs.change_message_visibility(
                            QueueUrl=url, ReceiptHandle=handle, VisibilityTimeout=0
                        )
                break
        else:
            return answers
    raise AssertionError(f"the send queues still had messages after {rounds} batches")


@contextmanager
def on_real_adapters(
    settings: Any, clock: Callable[[], Any], wrap: Callable[[Any], Any] = FaultyClient
) -> Iterator[RealAdapters]:
    """Inside the block AWS is moto and the handlers run on RealAdapters."""
    from moto import mock_aws

    from local.service import lighten_moto
    from tests.support.fakes import installed

    lighten_moto()  # the tests that queue hundreds of messages
    with mock_aws():
        adapters = RealAdapters(settings, clock, wrap)
        with installed(adapters.ports, settings):
            yield adapters
