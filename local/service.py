"""The service as it runs in local mode: the real handlers, DynamoDB and SQS emulated in
process by moto, and the phone simulator in place of End User Messaging SMS.

What AWS runs in the background runs here on worker threads: the send queues drained by
the real sender function (transactional first), and the simulated number's delivery events
handed to the real delivery function.
"""

from __future__ import annotations

import hashlib
import json
import os
import queue
import re
import threading
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import unquote

from local.events import (
    LambdaContext,
    api_gateway_event,
    sns_event,
    sqs_event,
    two_way_message,
)
from local.simulator import DEFAULT_MPS, PhoneSimulator, Printer, SimulatedLookup

TABLE_NAME = "optin-local-subscribers"
ORIGINATION_NUMBER = "+18005550100"
QUEUES = {"transactional": "optin-local-send", "broadcast": "optin-local-broadcast"}
# As the stack's queues: visibility timeout, and receives before the dead-letter queue.
QUEUE_VISIBILITY_SECONDS = 180
QUEUE_MAX_RECEIVES = 50
# How often the sender's worker looks at an empty queue, and how long a delivery event
# takes to come back from the simulated carrier.
POLL_SECONDS = 0.05
DELIVERY_DELAY = 0.2
# AWS runs housekeeping hourly; local mode every minute (and on POST /admin/housekeeping).
HOUSEKEEPING_SECONDS = 60.0
# Who acts through local mode's operator API (deployed: the caller's IAM ARN).
LOCAL_OPERATOR = "local"
_SUBSCRIBER_ROUTE = re.compile(r"^/admin/subscribers/(?P<number>[^/]+)(?P<rest>/opt-out)?$")

# Settings local mode uses unless the environment says otherwise (same variable names as
# the functions, so an operator can preview their own branding and texts).
LOCAL_SETTINGS: Mapping[str, str] = {
    "TABLE_NAME": TABLE_NAME,
    "ORIGINATION_IDENTITY": "local-phone-simulator",
    "ORIGINATION_NUMBER": ORIGINATION_NUMBER,
    "BRAND_NAME": "Example Co",
    "PROGRAM_DESCRIPTION": "delivery alerts",
    "MESSAGE_FREQUENCY": "Up to 4 msgs/month",
    "TERMS_URL": "https://example.com/sms-terms",
    "PRIVACY_URL": "https://example.com/privacy",
    "HELP_CONTACT": "support@example.com",
    "NUMBER_LOOKUP": "offline",
    "OPT_OUT_LIST_NAME": "optin-local-opt-outs",
    # The pace of the simulated number (SIMULATOR_MPS, 20 by default): a deployment's
    # default is 1 part a second, a new 10DLC number's.
    "SEND_RATE_PER_SECOND": "20",
}
# Never AWS: moto intercepts every call, and these make sure nothing could reach an account.
FAKE_AWS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SECURITY_TOKEN": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
}
QUIET_POWERTOOLS = {
    "POWERTOOLS_SERVICE_NAME": "optin-local",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_METRICS_NAMESPACE": "OptInLocal",
}


def local_environment(port: int, environ: Mapping[str, str]) -> dict[str, str]:
    """Function settings for local mode: the defaults above, then any set in ``environ``."""
    from optin.settings import ENVIRONMENT

    settings = dict(LOCAL_SETTINGS)
    settings.update({name: environ[name] for name in ENVIRONMENT if environ.get(name)})
    settings["TABLE_NAME"] = TABLE_NAME
    if not environ.get("ALLOWED_ORIGINS"):
        settings["ALLOWED_ORIGINS"] = f"http://127.0.0.1:{port},http://localhost:{port}"
    if not environ.get("FORM_URL"):
        settings["FORM_URL"] = f"http://127.0.0.1:{port}/"  # the "sign up at" answer
    return settings


class LocalService:
    """Starts the emulated AWS side and calls the handlers as Lambda would.

    The registration and inbound handlers run one at a time, under one lock, as one Lambda
    container would; the sender and the delivery function run beside them on their own
    threads, as their own functions would. moto is not thread-safe, so every call to it is
    made one at a time (as each request is atomic on AWS). ``background=False`` starts no
    worker: a test calls ``drain`` to run the sender and the delivery function at once.
    """

    def __init__(
        self,
        port: int,
        *,
        printer: Printer = print,
        verbose: bool = False,
        background: bool = True,
    ) -> None:
        self.port = port
        self._print = printer
        self._lock = threading.Lock()
        self._moto = threading.RLock()
        for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL"):
            os.environ.pop(name, None)
        for name, value in {**FAKE_AWS, **QUIET_POWERTOOLS}.items():
            os.environ[name] = value
        if not verbose:
            os.environ["POWERTOOLS_LOG_LEVEL"] = "WARNING"
            os.environ["POWERTOOLS_METRICS_DISABLED"] = "true"
        os.environ.update(local_environment(port, os.environ))

        from moto import mock_aws

        lighten_moto()
        self._mock = mock_aws()
        self._mock.start()

        import boto3

        from optin import runtime
        from optin.adapters.dynamodb import DynamoRateBucket, DynamoSubscriberStore
        from optin.adapters.opt_out_list import PlatformOptOutList
        from optin.adapters.schema import table_definition
        from optin.adapters.sms import EndUserMessagingSender, sms_client
        from optin.domain.ports import Ports
        from optin.settings import Settings

        dynamodb = LockedClient(boto3.client("dynamodb", region_name="us-east-1"), self._moto)
        self._sqs = LockedClient(boto3.client("sqs", region_name="us-east-1"), self._moto)
        self._queue_arns = self._create_queues()
        self.settings = Settings.from_env(os.environ)
        dynamodb.create_table(**table_definition(self.settings.table_name))
        erasure_key = os.urandom(32)  # local mode's own: erased numbers live as long as it
        self.store = DynamoSubscriberStore(
            self.settings.table_name, client=dynamodb, erasure_key=lambda: erasure_key
        )
        self._events: queue.Queue[tuple[float, dict[str, Any]]] = queue.Queue()
        self.clock = clock_from(os.environ.get("LOCAL_CLOCK_START"))
        self.simulator = PhoneSimulator(
            self.settings,
            clock=self.clock,
            printer=printer,
            mps=_positive(os.environ.get("SIMULATOR_MPS"), DEFAULT_MPS),
            events=lambda event: self._events.put((time.monotonic() + DELIVERY_DELAY, event)),
            delivery_delay=timedelta(seconds=DELIVERY_DELAY),
        )
        sms = self.simulator.attach(sms_client(retries=False))
        self.queue = _ShownQueue(self.settings, self._sqs, self.simulator)
        ports = Ports(
            rules=self.settings.rules,
            store=self.store,
            sender=EndUserMessagingSender(self.settings, sms, send_client=sms),
            lookup=SimulatedLookup(),
            queue=self.queue,
            bucket=DynamoRateBucket(
                self.settings.table_name, self.settings.origination_identity, dynamodb
            ),
            clock=self.clock,
        )
        opt_out_list = PlatformOptOutList(sms, self.settings.opt_out_list_name)
        runtime.install(runtime.Runtime(self.settings, ports, opt_out_list))
        self._duplicates = _positive(os.environ.get("LOCAL_QUEUE_DUPLICATES"), 0)
        self._stopping = threading.Event()
        # One sender worker per queue, as each queue is its own event source on AWS (a
        # broadcast batch never holds up a confirmation behind it).
        self._workers = [
            threading.Thread(target=self._loop, args=(step,), name=name, daemon=True)
            for name, step in (
                ("sender", lambda: self._send_once((self.queue.transactional_url,))),
                ("sender-broadcasts", lambda: self._send_once((self.queue.broadcast_url,))),
                ("delivery", self._deliver_once),
            )
        ]
        self._workers.append(
            threading.Thread(target=self._housekeeping_timer, name="housekeeping", daemon=True)
        )
        if background:
            for worker in self._workers:
                worker.start()

    def _create_queues(self) -> dict[str, str]:
        """The send queues and their dead-letter queues, as the stack has them; their URLs
        go to the functions' environment. Returns each queue's ARN by URL."""
        arns = {}
        for name, queue_name in QUEUES.items():
            dead = self._sqs.create_queue(QueueName=f"{queue_name}-dead-letters")["QueueUrl"]
            dead_arn = self._sqs.get_queue_attributes(QueueUrl=dead, AttributeNames=["QueueArn"])[
                "Attributes"
            ]["QueueArn"]
            url = self._sqs.create_queue(
                QueueName=queue_name,
                Attributes={
                    "VisibilityTimeout": str(QUEUE_VISIBILITY_SECONDS),
                    "RedrivePolicy": json.dumps(
                        {"deadLetterTargetArn": dead_arn, "maxReceiveCount": QUEUE_MAX_RECEIVES}
                    ),
                },
            )["QueueUrl"]
            arns[url] = self._sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])[
                "Attributes"
            ]["QueueArn"]
            os.environ["SEND_QUEUE_URL" if name == "transactional" else "BROADCAST_QUEUE_URL"] = url
        return arns

    def close(self) -> None:
        from optin import runtime

        self._stopping.set()
        for worker in self._workers:
            if worker.is_alive():
                worker.join(timeout=10)
        with self._lock:
            runtime.install(None)
            self._mock.stop()

    # The background functions ------------------------------------------------------------

    def _loop(self, step: Callable[[], bool]) -> None:
        while not self._stopping.is_set():
            try:
                busy = step()
            except Exception as error:  # keep serving; the traceback is on the console
                import traceback

                traceback.print_exc()
                self._print(f"error  ! {threading.current_thread().name}: {error}")
                busy = False
            if not busy:
                self._stopping.wait(POLL_SECONDS)

    def _send_once(self, urls: tuple[str, ...] = ()) -> bool:
        """One batch of the send queues (``urls``; both, transactional first, by default)
        through the sender function, deleting what it did not report as failed (as the
        event source mapping does). False when no message was visible."""
        from optin.handlers import sender

        for url in urls or (self.queue.transactional_url, self.queue.broadcast_url):
            messages = self._sqs.receive_message(
                QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"]
            ).get("Messages", [])
            if not messages:
                continue
            self._duplicate_some(url, messages)
            answer = sender.handler(sqs_event(messages, self._queue_arns[url]), LambdaContext())
            failed = {item["itemIdentifier"] for item in answer.get("batchItemFailures", [])}
            for message in messages:
                if message["MessageId"] in failed:
                    continue
                self._sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
                self._show_unsent(json.loads(message["Body"]).get("key", ""))
            return True
        return False

    def _duplicate_some(self, url: str, messages: list[dict[str, Any]]) -> None:
        """LOCAL_QUEUE_DUPLICATES percent of first deliveries are delivered a second time
        (SQS delivers at least once): the sender must still send each key once."""
        if not self._duplicates:
            return
        for message in messages:
            first = message.get("Attributes", {}).get("ApproximateReceiveCount") == "1"
            digest = hashlib.sha256(message["MessageId"].encode()).digest()
            if first and digest[0] * 100 < self._duplicates * 256:
                self._sqs.send_message(QueueUrl=url, MessageBody=message["Body"])
                self._print("queue  = a message delivered twice (LOCAL_QUEUE_DUPLICATES)")

    def _show_unsent(self, key: str) -> None:
        """A message the sender settled without sending: the simulator says why."""
        if not key or not self.simulator.waiting(key):
            return
        record = self.store.send_record(key)
        if record is not None and record.state.value != "SENT":
            self.simulator.not_sent(key, record.state.value.lower())

    def _deliver_once(self) -> bool:
        """The next delivery event that is due, through the delivery function."""
        from optin.handlers import delivery

        try:
            due, event = self._events.get_nowait()
        except queue.Empty:
            return False
        wait = due - time.monotonic()
        if wait > 0 and self._stopping.wait(wait):
            return False
        delivery.handler(sns_event(event), LambdaContext())
        self.simulator.settle_delivery(event["messageId"], event["eventType"])
        return True

    def drain(self, timeout: float = 30.0) -> None:
        """Send everything queued and record every delivery event now, on this thread
        (for tests that start the service with ``background=False``); waits for messages
        the sender put back for later, up to ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            busy = self._send_once()
            while self._deliver_once():
                busy = True
            if not busy:
                if not self._in_flight():
                    return
                time.sleep(POLL_SECONDS)
        raise TimeoutError(f"the send queues did not drain in {timeout} s")

    def _in_flight(self) -> int:
        total = 0
        for url in (self.queue.transactional_url, self.queue.broadcast_url):
            attributes = self._sqs.get_queue_attributes(
                QueueUrl=url,
                AttributeNames=[
                    "ApproximateNumberOfMessages",
                    "ApproximateNumberOfMessagesNotVisible",
                ],
            )["Attributes"]
            total += sum(int(value) for value in attributes.values())
        return total + self._events.qsize()

    # The HTTP surface's calls ------------------------------------------------------------

    def form_config(self, api_url: str) -> dict[str, Any]:
        from optin.formconfig import form_config

        return form_config(self.settings, api_url)

    def register(
        self, body: bytes, headers: dict[str, str], source_ip: str
    ) -> tuple[int, dict[str, str], str]:
        """POST /register through an API Gateway proxy event; (status, headers, body)."""
        from optin.handlers import registration

        event = api_gateway_event(body, headers=headers, source_ip=source_ip)
        return proxy_answer(self._invoke(registration.handler, event))

    def deliver_inbound(self, phone_number: str, body: str) -> None:
        """A reply typed on the simulated phone: the platform's own keyword handling, then the
        two-way channel's SNS event to the inbound handler."""
        from optin.handlers import inbound

        with self._lock:
            self.simulator.receive(phone_number, body)
            message = two_way_message(
                phone_number,
                body,
                destination_number=self.settings.origination_number or ORIGINATION_NUMBER,
            )
            self._invoke_locked(inbound.handler, sns_event(message))

    def describe(self, phone_number: str) -> dict[str, Any] | None:
        from optin.domain.operator.views import describe_subscriber
        from optin.handlers.admin import plain_json

        with self._lock:
            described = describe_subscriber(self.store, phone_number)
        # As the operator API answers it (DynamoDB's numbers as JSON numbers).
        return json.loads(json.dumps(described, default=plain_json)) if described else None

    def status(self, phone_number: str) -> str | None:
        """The subscriber's status alone (for the console), or None."""
        with self._lock:
            subscriber = self.store.get(phone_number)
        return subscriber.status.value if subscriber else None

    def admin(
        self, method: str, path: str, query: str, body: bytes
    ) -> tuple[int, dict[str, str], str]:
        """The operator API (``/admin/...``) through an API Gateway proxy event, as the
        deployed API hands it to the admin function; the caller is ``local``."""
        from optin.handlers import admin

        return proxy_answer(self._invoke(admin.handler, admin_event(method, path, query, body)))

    def housekeeping(self) -> dict[str, Any]:
        """One housekeeping run, as the hourly schedule runs it on AWS."""
        from optin.handlers import housekeeping

        with self._lock:
            if self._stopping.is_set():
                return {}
            result: dict[str, Any] = self._invoke_locked(
                housekeeping.handler, {"source": "local", "detail-type": "Scheduled Event"}
            )
        return result

    def _housekeeping_timer(self) -> None:
        while not self._stopping.wait(HOUSEKEEPING_SECONDS):
            try:
                result = self.housekeeping()
            except Exception as error:  # the next tick tries again; the console says why
                self._print(f"house  ! housekeeping failed: {type(error).__name__}")
                continue
            if result.get("expired") or result.get("erased"):
                self._print(
                    f"house  > housekeeping: {result['expired']} expired, {result['erased']} erased"
                )

    def _invoke(self, handler: Callable[[Any, Any], Any], event: dict[str, Any]) -> Any:
        with self._lock:
            return self._invoke_locked(handler, event)

    def _invoke_locked(self, handler: Callable[[Any, Any], Any], event: dict[str, Any]) -> Any:
        return handler(event, LambdaContext())


def admin_event(
    method: str, path: str, query: str, body: bytes, caller: str = LOCAL_OPERATOR
) -> dict[str, Any]:
    """An /admin request as API Gateway hands it to the admin function (the IAM caller's
    ARN in ``requestContext.identity.userArn``)."""
    event = api_gateway_event(body or None, method=method, path=path, headers={})
    parameters = _query_parameters(query)
    event["queryStringParameters"] = parameters or None
    event["multiValueQueryStringParameters"] = {
        name: [value] for name, value in parameters.items()
    } or None
    route = _SUBSCRIBER_ROUTE.match(path)
    if route:
        event["pathParameters"] = {"phoneNumber": route["number"]}
        event["resource"] = "/admin/subscribers/{phoneNumber}" + (route["rest"] or "")
    event["requestContext"]["identity"]["userArn"] = caller
    return event


def proxy_answer(response: dict[str, Any]) -> tuple[int, dict[str, str], str]:
    """A proxy integration's answer as (status, headers, body)."""
    headers = {str(k): str(v) for k, v in (response.get("headers") or {}).items()}
    for name, values in (response.get("multiValueHeaders") or {}).items():
        headers[str(name)] = ", ".join(str(value) for value in values)
    return int(response["statusCode"]), headers, str(response.get("body") or "")


def _query_parameters(query: str) -> dict[str, str]:
    """Query parameters as API Gateway decodes them (``%XX`` only: a ``+`` stays)."""
    parameters: dict[str, str] = {}
    for pair in query.split("&"):
        if pair:
            name, _, value = pair.partition("=")
            parameters[unquote(name)] = unquote(value)
    return parameters


class LockedClient:
    """A boto3 client whose API calls are atomic: one lock around each call.

    moto is not thread-safe; DynamoDB itself makes each request atomic, so this is the
    isolation the real service gives, while the code around the calls runs in parallel
    threads.
    """

    def __init__(self, client: Any, lock: threading.Lock | threading.RLock | None = None) -> None:
        self._client = client
        self._lock = lock or threading.Lock()
        self.meta = client.meta
        self.exceptions = client.exceptions

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._client, name)
        if not callable(attribute):
            return attribute

        def call(*args: Any, **kwargs: Any) -> Any:
            with self._lock:
                return attribute(*args, **kwargs)

        return call


class _ShownQueue:
    """The functions' SQS send queues, each queued message also shown on the simulated phone
    (as queued, until the sender sends it)."""

    def __init__(self, settings: Any, sqs: Any, simulator: PhoneSimulator) -> None:
        from optin.adapters.queue import SqsSendQueue

        self._queue = SqsSendQueue(settings.send_queue_url, settings.broadcast_queue_url, sqs)
        self._simulator = simulator
        self.transactional_url = settings.send_queue_url
        self.broadcast_url = settings.broadcast_queue_url

    def enqueue(self, message: Any) -> None:
        self._queue.enqueue(message)
        self._simulator.queued(message)

    def enqueue_many(self, messages: Any) -> None:
        """A broadcast's page: each message shown as queued on its phone."""
        self._queue.enqueue_many(messages)
        for message in messages:
            self._simulator.queued(message)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._queue, name)


def clock_from(start: str | None) -> Callable[[], datetime]:
    """Local mode's clock: the real one, or, with ``LOCAL_CLOCK_START`` (an ISO 8601
    moment), one that reads that moment when local mode starts and runs on at the real
    pace from there (to try quiet hours, or a test that must not depend on the hour)."""
    if not start:
        return lambda: datetime.now(UTC)
    try:
        moment = datetime.fromisoformat(start.strip().replace("Z", "+00:00"))
    except ValueError:
        raise SystemExit(
            f"LOCAL_CLOCK_START must be an ISO 8601 moment like 2026-06-15T01:30:00Z; got {start!r}"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    offset = moment - datetime.now(UTC)
    return lambda: datetime.now(UTC) + offset


def _positive(value: str | None, default: int) -> int:
    """A positive whole number from the environment, else ``default``."""
    try:
        number = int(value) if value else default
    except ValueError:
        return default
    return number if number > 0 else default


def lighten_moto() -> None:
    """Make moto fit a long local session: it is a test library, and three of its habits
    grow with every registration (the tests that run thousands of messages use this too).

    - It keeps a reference to every model object it creates, for its own introspection API
      (unused here), so nothing it builds is ever freed.
    - TransactWriteItems deep-copies the whole table before each transaction, to roll back
      on failure: each registration cost more than the one before (about 30/s at first,
      2/s after a thousand), and once per action of the transaction, not once. The backup
      is now made once per transaction, and holds the table's own item objects (puts and
      deletes replace or remove them in the table, so the backup keeps the old ones) but a
      copy of each item the transaction's Update actions will change in place.
    - ReceiveMessage checks each message's retention period by computing all the queue's
      attributes, message counts included, for every message: a receive cost the square of
      the queue's depth (minutes per batch with 2,000 confirmations queued). The retention
      period alone is read instead.
    """
    import copy
    from collections import defaultdict

    from moto.core import common_models
    from moto.core.utils import unix_time
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.dynamo_type import DynamoType
    from moto.dynamodb.models.table import Table
    from moto.sqs.models import SQSBackend

    def untracked(cls: type, *_args: object, **_kwargs: object) -> object:
        return object.__new__(cls)

    def item_copy(item: Any) -> Any:
        clone = copy.copy(item)
        clone.attrs = dict(item.attrs)
        return clone

    # The running transaction's Update actions, and the one copy of each table it made.
    running: dict[str, Any] = {"updates": None, "copies": {}}

    def rollback_copy(table: Any, _memo: dict[int, Any]) -> Any:
        updates = running["updates"]
        if updates is None:  # not a transaction's backup: every item copied
            clone = copy.copy(table)
            clone.items = defaultdict(dict)
            for hash_key, value in table.items.items():
                if isinstance(value, dict):
                    clone.items[hash_key] = {key: item_copy(item) for key, item in value.items()}
                else:
                    clone.items[hash_key] = item_copy(value)
            return clone
        if id(table) in running["copies"]:
            return running["copies"][id(table)]
        clone = copy.copy(table)
        clone.items = defaultdict(
            dict,
            {h: dict(v) if isinstance(v, dict) else v for h, v in table.items.items()},
        )
        for table_name, key in updates:
            if table_name != table.name:
                continue
            hash_key = DynamoType(key[table.hash_key_attr])
            range_key = DynamoType(key[table.range_key_attr]) if table.range_key_attr else None
            item = table.get_item(hash_key, range_key)
            if item is None:
                continue
            if range_key is None:
                clone.items[hash_key] = item_copy(item)
            else:
                clone.items[hash_key][range_key] = item_copy(item)
        running["copies"][id(table)] = clone
        return clone

    if not getattr(DynamoDBBackend.transact_write_items, "lightened", False):
        transact = DynamoDBBackend.transact_write_items

        def transact_lightly(backend: Any, transact_items: list[dict[str, Any]]) -> None:
            running["updates"] = [
                (action["Update"].get("TableName"), action["Update"]["Key"])
                for action in transact_items
                if "Update" in action
            ]
            try:
                transact(backend, transact_items)
            finally:
                running["updates"] = None
                running["copies"] = {}

        transact_lightly.lightened = True  # type: ignore[attr-defined]
        DynamoDBBackend.transact_write_items = transact_lightly  # type: ignore[method-assign, assignment]

    def within_retention(backend: Any, queue_name: str, message: Any) -> bool:
        retention = int(backend.get_queue(queue_name).message_retention_period)
        return bool(retention + message.sent_timestamp / 1000 > unix_time())

    common_models.BaseModel.__new__ = staticmethod(untracked)  # type: ignore[assignment]
    Table.__deepcopy__ = rollback_copy  # type: ignore[attr-defined]
    SQSBackend.is_message_valid_based_on_retention_period = within_retention  # type: ignore[method-assign, assignment]
