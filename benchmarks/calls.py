"""AWS API calls per scenario, counted on the real adapters' clients.

The functions' own wiring (``runtime.from_environment``, ``numberLookup=carrier``) builds
the clients; moto answers DynamoDB and SQS, botocore's Stubber answers End User Messaging,
checking each call's parameters. Every API call is counted at botocore's
``before-parameter-build`` event, which fires once per call on every client, before the
Stubber answers (the Stubber's own ``before-call`` handler stops that event early). A
scenario counts the calls of the function that handles it and of the sender for the SMS it
queued (the sender's queue is drained after it); the receive and delete calls of the
sender's event source mapping are Lambda's, not counted.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Callable
from typing import Any

import boto3

from optin.adapters.queue import SqsSendQueue
from tests.support.fakes import BASE_ENV, FAKE_AWS, Clock
from tests.support.harness import SEND_KEYS, drain_queues, moto_table

PAID = {"SendTextMessage", "CarrierLookup"}
QUEUE_VARIABLES = ("SEND_QUEUE_URL", "BROADCAST_QUEUE_URL")
NEW, LANDLINE, STRANGER = "+12065550100", "+12065550101", "+12065550102"
SUBSCRIBED = "+12065550103"
FULL_PREFIX = "+14155550100"


class CallCounter:
    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()

    def attach(self, client: Any) -> None:
        client.meta.events.register("before-parameter-build", self._count)

    def _count(self, model: Any, **_kwargs: Any) -> None:
        self.calls[model.name] += 1

    def take(self) -> dict[str, Any]:
        calls = dict(sorted(self.calls.items()))
        self.calls.clear()
        paid = {name: n for name, n in calls.items() if name in PAID}
        free = {name: n for name, n in calls.items() if name not in PAID}
        return {
            "paid": sum(paid.values()),
            "free": sum(free.values()),
            "paid_calls": paid,
            "free_calls": free,
        }


def measure() -> dict[str, Any]:
    os.environ.update(FAKE_AWS)
    from botocore.stub import ANY, Stubber
    from moto import mock_aws

    from local.events import LambdaContext, api_gateway_event, sns_event, two_way_message
    from optin import runtime
    from optin.domain.subscribers import limits
    from optin.handlers import inbound, registration

    env = {**BASE_ENV, "NUMBER_LOOKUP": "carrier"}
    saved = {name: os.environ.get(name) for name in (*env, *QUEUE_VARIABLES)}
    os.environ.update(env)
    results: dict[str, Any] = {}
    try:
        with mock_aws():
            moto_table(env["TABLE_NAME"])
            sqs = boto3.client("sqs", region_name="us-east-1")  # the event source mapping's
            urls = {v: sqs.create_queue(QueueName=v.lower())["QueueUrl"] for v in QUEUE_VARIABLES}
            os.environ.update(urls)
            real = runtime.from_environment()
            ports = real.ports
            clock = Clock()
            ports.clock = clock
            ports.sleep = clock.sleep
            runtime.install(real)
            dynamodb = ports.store._client  # type: ignore[attr-defined]
            sms = ports.sender._client  # type: ignore[attr-defined]
            assert ports.lookup._client is sms  # type: ignore[attr-defined]
            ports.sender._send_client = sms  # type: ignore[attr-defined]
            functions_sqs = boto3.client("sqs", region_name="us-east-1")
            ports.queue = SqsSendQueue(
                urls["SEND_QUEUE_URL"], urls["BROADCAST_QUEUE_URL"], functions_sqs
            )
            arns = {
                url: sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])[
                    "Attributes"
                ]["QueueArn"]
                for url in urls.values()
            }
            counter = CallCounter()
            for client in (dynamodb, sms, functions_sqs):
                counter.attach(client)
            stub = Stubber(sms)
            stub.activate()

            def post(number: str) -> int:
                form = {"phoneNumber": number, "firstName": "Ada", "lastName": "Lovelace"}
                event = api_gateway_event(json.dumps({**form, "consent": True}))
                return int(registration.handler(event, LambdaContext())["statusCode"])

            def reply(number: str, body: str, message_id: str | None = None) -> Any:
                message = two_way_message(number, body, inbound_message_id=message_id)
                return inbound.handler(sns_event(message), LambdaContext())

            def lookup(number: str, number_type: str) -> None:
                answer = {"E164PhoneNumber": number, "PhoneNumberType": number_type}
                stub.add_response("carrier_lookup", answer, {"PhoneNumber": number})

            def send(number: str) -> None:
                expected = {"DestinationPhoneNumber": number, **dict.fromkeys(SEND_KEYS, ANY)}
                stub.add_response("send_text_message", {"MessageId": "m"}, expected)

            def put_on_the_list(number: str) -> None:
                listing = {"OptOutListName": env["OPT_OUT_LIST_NAME"], "OptedOutNumber": number}
                answer = {**listing, "OptedOutTimestamp": 0, "EndUserOptedOut": False}
                stub.add_response("put_opted_out_number", answer, listing)

            def scenario(name: str, run: Callable[[], Any], expect: Any) -> None:
                clock.advance(seconds=5)
                got = run()
                drain_queues(sqs, ports.queue, arns)
                stub.assert_no_pending_responses()
                if got != expect:
                    raise RuntimeError(f"{name}: expected {expect}, got {got}")
                results[name] = counter.take()

            # The disclosure text is stored once per container, on the first registration.
            lookup("+12065550199", "MOBILE")
            send("+12065550199")
            scenario("first registration in a new container", lambda: post("+12065550199"), 202)

            lookup(NEW, "MOBILE")
            send(NEW)
            scenario("new registration", lambda: post(NEW), 202)
            scenario("duplicate inside the cool-down", lambda: post(NEW), 429)
            scenario("invalid number", lambda: post("+1206555"), 400)
            lookup(LANDLINE, "LANDLINE")
            scenario("landline", lambda: post(LANDLINE), 400)
            send(NEW)
            scenario("confirm (YES from a pending number)", lambda: reply(NEW, "YES", "in-1"), _ONE)
            scenario("redelivered reply", lambda: reply(NEW, "YES", "in-1"), _ONE)
            clock.advance(seconds=60)  # past the cool-down of the registration above
            scenario("registration of a confirmed number", lambda: post(NEW), 202)
            put_on_the_list(NEW)
            scenario("STOP", lambda: reply(NEW, "STOP"), _ONE)
            clock.advance(seconds=60)
            scenario("registration of an opted-out number", lambda: post(NEW), 202)
            lookup(SUBSCRIBED, "MOBILE")
            send(SUBSCRIBED)
            send(SUBSCRIBED)
            post(SUBSCRIBED)
            drain_queues(sqs, ports.queue, arns)
            reply(SUBSCRIBED, "YES")
            drain_queues(sqs, ports.queue, arns)
            counter.take()  # a confirmed number to opt out: not measured
            send(SUBSCRIBED)
            put_on_the_list(SUBSCRIBED)
            scenario("opt-out in other words", lambda: reply(SUBSCRIBED, "please stop"), _ONE)
            send(STRANGER)
            scenario("unknown sender", lambda: reply(STRANGER, "YES"), _ONE)
            # A pumper's next number in a range that had its confirmations this hour.
            prefix, _ = limits.counters(FULL_PREFIX, clock())
            per_hour = real.settings.max_confirmations_per_prefix_per_hour
            while ports.store.take_unit(prefix, per_hour):
                pass
            counter.take()  # filling the prefix is not part of the scenario
            scenario("new number over its prefix's limit", lambda: post(FULL_PREFIX), 429)
            stub.deactivate()
    finally:
        runtime.install(None)
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    return {
        "method": "real adapters built by runtime.from_environment() with numberLookup=carrier; "
        "moto answers DynamoDB and SQS, botocore Stubber answers End User Messaging; calls "
        "counted at botocore's before-parameter-build event on the functions' clients; each "
        "scenario with the sender's calls for the SMS it queued (the send queue drained "
        "through the sender function); containers already warm except in the first row",
        "scenarios": results,
    }


_ONE = {"processed": 1}


if __name__ == "__main__":
    print(json.dumps(measure(), indent=1))
