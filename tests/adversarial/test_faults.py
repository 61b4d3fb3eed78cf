"""Faults at the handler level, on the real adapters: DynamoDB and SQS on moto (with
injected errors and competing writes), End User Messaging answered by botocore's Stubber.
The send queue is drained through the sender function where a test says ``send``.

What must hold whatever fails: an accepted registration is never lost (a retry after a
503 succeeds, a throttled SMS waits in the queue), no SMS is sent twice, and no consent
event is lost or recorded twice. (The domain-level versions of these, on in-memory fakes,
are in tests/unit.)
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest
from botocore.stub import ANY, Stubber

from local.events import LambdaContext, api_gateway_event, sns_event, two_way_message
from optin.adapters.dynamodb import DynamoSubscriberStore
from optin.domain.errors import TooManyRequests
from optin.domain.model import EventType, Status
from optin.domain.ports import Ports
from optin.domain.sending.send import SEND_LEASE
from optin.domain.subscribers.reply import receive_reply
from optin.handlers import inbound, registration
from tests.support.errors import UNAVAILABLE, status_and_code
from tests.support.fakes import fake_ports
from tests.support.harness import SEND_KEYS, CannedSms, client_error
from tests.support.lifecycle import past_cooldown
from tests.support.lifecycle import register as register_directly
from tests.support.lifecycle import reply as reply_directly

NUMBER = "+12065550142"
FORM = {"phoneNumber": NUMBER, "firstName": "Ada", "lastName": "Lovelace", "consent": True}
DYNAMODB_THROTTLES = [
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
    "InternalServerError",
]


def post(form: dict[str, Any] | None = None) -> tuple[int, dict[str, Any]]:
    event = api_gateway_event(json.dumps(form or FORM))
    response = registration.handler(event, LambdaContext())
    return response["statusCode"], json.loads(response["body"])


def deliver(*messages: dict[str, Any]) -> Any:
    return inbound.handler(sns_event(*messages), LambdaContext())


def send(real: Any) -> None:
    """What the sender does next: every queued message, each put back "for later" tried
    again at once."""
    real.drain(later_now=True)


def ledger(real: Any, number: str = NUMBER) -> Counter[EventType]:
    return Counter(event.type for event in real.store.events(number))


def expect_lookup(stub: Stubber, number: str = NUMBER, number_type: str = "MOBILE") -> None:
    answer = {"E164PhoneNumber": number, "PhoneNumberType": number_type, "Carrier": "Example"}
    stub.add_response("carrier_lookup", answer, {"PhoneNumber": number})


def expect_send(stub: Stubber, number: str = NUMBER, message_id: str = "m-1") -> None:
    expected = {"DestinationPhoneNumber": number, **dict.fromkeys(SEND_KEYS, ANY)}
    stub.add_response("send_text_message", {"MessageId": message_id}, expected)


def send_fails(stub: Stubber, code: str, status: int = 400, **fields: str) -> None:
    stub.add_client_error(
        "send_text_message",
        service_error_code=code,
        http_status_code=status,
        modeled_fields={"Message": f"injected {code}", **fields} if fields else None,
    )


# End User Messaging refuses or throttles ----------------------------------------------


@pytest.mark.parametrize(
    ("code", "status"),
    [("ThrottlingException", 429), ("ServiceQuotaExceededException", 402)],
)
def test_sms_refused_waits_in_the_queue_and_is_sent_exactly_once(real, code, status):
    with Stubber(real.sms) as stub:
        expect_lookup(stub)
        send_fails(stub, code, status)
        expect_send(stub)
        first, _ = post()
        send(real)  # refused, put back; then sent
        second, _ = post()  # the person presses the button again: the cool-down holds
        stub.assert_no_pending_responses()  # one paid lookup only
    assert (first, second) == (202, 429)
    subscriber = real.store.get(NUMBER)
    assert subscriber.status is Status.PENDING
    assert subscriber.confirmation_sent_at is not None
    events = ledger(real)
    assert events[EventType.CONFIRMATION_SENT] == 1
    assert events[EventType.SMS_FAILED] == 0  # a throttle or a quota is a wait, not a failure


def test_number_on_the_platform_opt_out_list_is_told_to_text_yes_and_can(real):
    with Stubber(real.sms) as stub:
        expect_lookup(stub)
        send_fails(
            stub,
            "ConflictException",
            409,
            Reason="DESTINATION_PHONE_NUMBER_OPTED_OUT",
            ResourceType="opt-out-list",
            ResourceId="optin-opt-outs",
        )
        status, body = post()
        send(real)
        stub.add_response(
            "delete_opted_out_number",
            {"OptedOutNumber": NUMBER},
            {"OptOutListName": "optin-opt-outs", "OptedOutNumber": NUMBER},
        )
        expect_send(stub, message_id="welcome-1")
        result = deliver(two_way_message(NUMBER, "YES"))
        send(real)
        stub.assert_no_pending_responses()
    assert status == 202
    assert "text YES" in body["message"]
    assert result == {"processed": 1}
    assert real.store.get(NUMBER).status is Status.CONFIRMED
    events = ledger(real)
    assert events[EventType.SMS_BLOCKED_OPTED_OUT] == 1
    assert events[EventType.CONFIRMED] == 1
    assert events[EventType.WELCOME_SENT] == 1
    assert events[EventType.CONFIRMATION_SENT] == 0


def test_other_conflicts_are_retried_from_the_queue(real):
    with Stubber(real.sms) as stub:
        expect_lookup(stub)
        send_fails(stub, "ConflictException", 409, Reason="RESOURCE_NOT_ACTIVE")
        expect_send(stub)
        first, _ = post()
        send(real)
        stub.assert_no_pending_responses()
    assert first == 202
    assert ledger(real)[EventType.CONFIRMATION_SENT] == 1


# DynamoDB throttles (botocore's own retries spent) -------------------------------------


@pytest.mark.parametrize("code", DYNAMODB_THROTTLES)
@pytest.mark.parametrize("operation", ["get_item", "transact_write_items", "put_item"])
def test_dynamodb_throttled_is_503_and_the_retry_is_accepted(real, operation, code):
    """put_item fails on the first call of a container: storing the disclosure text."""
    canned = real.canned()
    real.dynamodb.fail(operation, client_error(operation, code, 400))
    first, body = post()
    assert (first, body["error"]["code"]) == UNAVAILABLE
    assert canned.sent == []
    assert real.store.get(NUMBER) is None
    second, _ = post()
    assert second == 202
    send(real)
    assert len(canned.sent_to(NUMBER)) == 1
    assert ledger(real)[EventType.REGISTERED] == 1


def test_dynamodb_service_unavailable_is_503(real):
    real.canned()
    real.dynamodb.fail("get_item", client_error("GetItem", "ServiceUnavailable", 503))
    status, body = post()
    assert (status, body["error"]["code"]) == UNAVAILABLE


@pytest.mark.parametrize("reason", ["ThrottlingError", "ProvisionedThroughputExceeded"])
def test_transaction_cancelled_for_throttling_is_503_and_the_retry_is_accepted(real, reason):
    canned = real.canned()
    cancelled = client_error(
        "TransactWriteItems",
        "TransactionCanceledException",
        400,
        CancellationReasons=[{"Code": reason, "Message": "Throughput exceeds"}, {"Code": "None"}],
    )
    real.dynamodb.fail("transact_write_items", cancelled)
    first, _ = post()
    assert first == 503
    second, _ = post()
    assert second == 202
    send(real)
    assert len(canned.sent_to(NUMBER)) == 1


def test_transaction_conflict_is_retried_inside_the_call(real):
    canned = real.canned()
    conflict = client_error(
        "TransactWriteItems",
        "TransactionCanceledException",
        400,
        CancellationReasons=[{"Code": "TransactionConflict"}, {"Code": "None"}],
    )
    real.dynamodb.fail("transact_write_items", conflict, times=2)
    status, _ = post()
    assert status == 202
    send(real)
    assert len(canned.sent_to(NUMBER)) == 1
    assert ledger(real)[EventType.REGISTERED] == 1


def test_ledger_write_failing_after_the_sms_went_out_is_never_a_second_sms(real, log_lines):
    """The SMS is out, so the sender never puts it back and no retry can send another; the
    ledger event that failed is logged (masked) with the message id, as a gap to reconcile."""
    canned = real.canned()
    post({**FORM, "phoneNumber": "+12065550143"})  # the container's first call is done
    send(real)
    status, _ = post()
    assert status == 202
    # The sender's settlement after the send (the send record and CONFIRMATION_SENT).
    real.dynamodb.fail(
        "transact_write_items", client_error("TransactWriteItems", "ThrottlingException", 400)
    )
    send(real)
    assert post()[0] == 429  # the person tries again: the cool-down holds, no second SMS
    real.ports.clock.advance(seconds=SEND_LEASE.total_seconds() + 1)
    real.queue.enqueue(_confirmation_of(real))  # SQS delivers it again, after the lease
    send(real)
    assert len(canned.sent_to(NUMBER)) == 1
    assert ledger(real)[EventType.CONFIRMATION_SENT] == 0  # the gap the log line records
    gaps = [json.loads(line) for line in log_lines() if "ledger event was not written" in line]
    assert len(gaps) == 1
    assert gaps[0]["phoneNumber"] == "+1******0142"
    assert gaps[0]["smsMessageId"]
    assert NUMBER not in json.dumps(gaps[0])


def _confirmation_of(real: Any) -> Any:
    """The confirmation the subscriber's current claim queued (a second copy of it)."""
    from optin.domain.language.messages import Template
    from optin.domain.sending.outbound import OutboundMessage
    from optin.domain.subscribers import lifecycle

    subscriber = real.store.get(NUMBER)
    return OutboundMessage.decided(
        Template.CONFIRMATION,
        NUMBER,
        real.ports.rules.texts.render(Template.CONFIRMATION),
        subscriber.confirmation_sent_at,
        claim=lifecycle.confirmation_claim(subscriber),
        correlation_id=subscriber.correlation_id,
    )


# Inbound: the welcome SMS, redeliveries, order ----------------------------------------


def test_welcome_throttled_is_sent_once_on_redelivery(real):
    canned = CannedSms()
    canned.attach(real.sms)
    post()
    send(real)
    message = two_way_message(NUMBER, "YES", inbound_message_id="in-1")
    with Stubber(real.sms) as stub:
        send_fails(stub, "ThrottlingException", 429)
        expect_send(stub, message_id="welcome-1")
        assert deliver(message) == {"processed": 1}  # the welcome is queued
        assert deliver(message) == {"processed": 1}  # SNS may deliver the reply again
        assert deliver(message) == {"processed": 1}
        send(real)  # throttled, back on the queue; then sent
        stub.assert_no_pending_responses()
    events = ledger(real)
    assert events[EventType.CONFIRMED] == 1
    assert events[EventType.WELCOME_SENT] == 1
    assert events[EventType.INBOUND] == 1


def test_settle_failing_after_the_welcome_went_out_does_not_send_it_twice(real, log_lines):
    canned = real.canned()
    post()
    send(real)
    message = two_way_message(NUMBER, "YES", inbound_message_id="in-1")
    assert deliver(message) == {"processed": 1}  # CONFIRMED; the welcome is queued
    # The sender's settlement after the send fails.
    throttled = client_error("TransactWriteItems", "ThrottlingException", 400)
    real.dynamodb.fail("transact_write_items", throttled)
    assert real.drain() == [{"batchItemFailures": []}]  # the SMS is out: never put back
    deliver(message)  # a redelivery all the same
    send(real)
    welcomes = [m for m in canned.sent_to(NUMBER) if m["Context"]["kind"] == "welcome"]
    assert len(welcomes) == 1
    events = ledger(real)
    assert (events[EventType.CONFIRMED], events[EventType.INBOUND]) == (1, 1)
    # The one gap is said out loud, with the message id to reconcile it.
    assert events[EventType.WELCOME_SENT] == 0
    gap = [line for line in log_lines() if "ledger event was not written" in line]
    assert len(gap) == 1
    assert '"smsMessageId":"' in gap[0]


def test_redelivery_while_the_welcome_is_being_sent_does_not_send_it_again(real):
    canned = real.canned()
    post()
    send(real)
    message = two_way_message(NUMBER, "YES", inbound_message_id="in-1")
    other = _competitor(real)  # a second Lambda invocation, given the same SNS message

    def redelivered(_params: dict[str, Any]) -> None:
        inbound_reply = inbound.parse_record(sns_event(message)["Records"][0], ("YES",))
        receive_reply(inbound_reply, other)

    canned.before_next_send(redelivered)
    assert deliver(message) == {"processed": 1}
    send(real)
    welcomes = [m for m in canned.sent_to(NUMBER) if m["Context"]["kind"] == "welcome"]
    assert len(welcomes) + len(other.sender.sent) == 1
    assert ledger(real)[EventType.WELCOME_SENT] == 1


def test_same_message_twice_in_one_batch_is_applied_once(real):
    canned = real.canned()
    post()
    send(real)
    message = two_way_message(NUMBER, "YES", inbound_message_id="in-dup")
    assert deliver(message, message) == {"processed": 2}
    send(real)
    assert [m["Context"]["kind"] for m in canned.sent_to(NUMBER)] == ["confirmation", "welcome"]
    events = ledger(real)
    assert (events[EventType.INBOUND], events[EventType.CONFIRMED]) == (1, 1)


def test_late_yes_after_stop_does_not_resubscribe(real):
    canned = real.canned()
    post()
    send(real)
    deliver(two_way_message(NUMBER, "STOP", inbound_message_id="later"))
    deliver(two_way_message(NUMBER, "YES", inbound_message_id="earlier"))
    send(real)
    assert real.store.get(NUMBER).status is Status.OPTED_OUT
    assert [m["Context"]["kind"] for m in canned.sent_to(NUMBER)] == ["confirmation"]


def test_redelivered_old_stop_does_not_undo_a_later_resubscription(real):
    canned = real.canned()
    post()
    send(real)
    deliver(two_way_message(NUMBER, "YES"))
    send(real)
    stop = two_way_message(NUMBER, "STOP", inbound_message_id="stop-1")
    deliver(stop)
    past_cooldown(real.ports)
    assert post()[0] == 202  # re-subscription requested: text YES
    deliver(two_way_message(NUMBER, "YES"))
    send(real)
    assert real.store.get(NUMBER).status is Status.CONFIRMED
    deliver(stop)  # SNS delivers the old STOP again, days later
    send(real)
    assert real.store.get(NUMBER).status is Status.CONFIRMED
    events = ledger(real)
    assert events[EventType.OPTED_OUT] == 1
    assert events[EventType.CONFIRMED] == 2
    kinds = [m["Context"]["kind"] for m in canned.sent_to(NUMBER)]
    assert kinds == ["confirmation", "welcome", "welcome"]


# Conditional-check races between a read and its write ----------------------------------


def _competitor(real: Any) -> Ports:
    """Another Lambda container: same table (without the fault injector), its own SMS."""
    store = DynamoSubscriberStore(real.store.table_name, client=real.dynamodb._client)
    return fake_ports(real.ports.rules, real.ports.clock, store)


def test_competing_registration_between_read_and_claim_sends_one_confirmation(real):
    canned = real.canned()
    other = _competitor(real)
    real.dynamodb.before("transact_write_items", lambda: register_directly(other, NUMBER))
    status, body = post()
    assert (status, body["error"]["code"]) == status_and_code(TooManyRequests)
    assert len(canned.sent) + len(other.sender.sent) == 1
    assert ledger(real)[EventType.REGISTERED] == 1


def _register_again_while_a_reply_slips_in(real: Any, body: str) -> tuple[int, CannedSms]:
    """Register, let the cool-down pass, register again: between that registration's read
    and its claim, another container handles the reply ``body``."""
    canned = real.canned()
    post()
    send(real)
    past_cooldown(real.ports)
    other = _competitor(real)
    real.dynamodb.before("transact_write_items", lambda: reply_directly(other, body, NUMBER))
    status, _ = post()
    send(real)
    return status, canned


def test_stop_between_read_and_claim_wins_over_the_registration(real):
    status, canned = _register_again_while_a_reply_slips_in(real, "STOP")
    assert status == 202  # same answer as ever; the response says to text YES
    subscriber = real.store.get(NUMBER)
    assert subscriber.status is Status.OPTED_OUT
    assert len(canned.sent_to(NUMBER)) == 1  # only the first confirmation
    events = ledger(real)
    assert events[EventType.OPTED_OUT] == 1
    assert events[EventType.RESUBSCRIBE_REQUESTED] == 1


def test_yes_between_read_and_claim_is_not_downgraded(real):
    status, canned = _register_again_while_a_reply_slips_in(real, "YES")
    assert status == 202
    assert real.store.get(NUMBER).status is Status.CONFIRMED
    assert len(canned.sent_to(NUMBER)) == 1
    assert ledger(real)[EventType.REGISTRATION_REPEATED] == 1


def test_the_domain_keeps_no_module_state():
    """Races are decided in DynamoDB alone: no domain module keeps a cache or any other
    mutable collection (the disclosure versions already kept belong to the store)."""
    import importlib
    import pkgutil

    import optin.domain

    for module_info in pkgutil.walk_packages(optin.domain.__path__, "optin.domain."):
        module = importlib.import_module(module_info.name)
        state = {
            name: value
            for name, value in vars(module).items()
            if isinstance(value, set | list) and not name.startswith("__")
        }
        assert state == {}, module.__name__
