"""Two-way SMS replies through real SNS event shapes, on the DynamoDB adapter (moto)."""

from __future__ import annotations

import json

import pytest

from local.events import LambdaContext, sns_event, two_way_message
from optin.domain.errors import Dependency, DependencyUnavailable
from optin.domain.model import EventType, Status
from optin.handlers import inbound
from tests.support.lifecycle import NUMBER, register

SEED_REPLY_EVENT = {
    "Records": [
        {
            "Sns": {
                "Message": '{"originationNumber":"+12065550142","messageBody":"Yes"}',
                "Timestamp": "2019-02-20T17:47:44.147Z",
            }
        }
    ]
}


def deliver(event):
    return inbound.handler(event, LambdaContext())


def test_seed_reply_event_confirms_a_pending_number(moto_ports):
    register(moto_ports)
    assert deliver(SEED_REPLY_EVENT) == {"processed": 1}
    subscriber = moto_ports.store.get(NUMBER)
    assert subscriber.status is Status.CONFIRMED
    assert subscriber.opt_out == "NONE"
    assert moto_ports.sender.kinds() == ["confirmation", "welcome"]
    deliver(SEED_REPLY_EVENT)  # same message again: derived id, processed once
    assert moto_ports.sender.kinds() == ["confirmation", "welcome"]


def test_every_record_of_a_batch_is_handled(moto_ports):
    others = ["+14165550142", "+12065550143"]
    for number in [NUMBER, *others]:
        register(moto_ports, number)
    event = sns_event(*(two_way_message(n, "YES") for n in [NUMBER, *others]))
    assert deliver(event) == {"processed": 3}
    for number in [NUMBER, *others]:
        assert moto_ports.store.get(number).status is Status.CONFIRMED


def test_redelivery_by_inbound_message_id_is_processed_once(moto_ports):
    register(moto_ports)
    message = two_way_message(NUMBER, "YES", inbound_message_id="in-7")
    deliver(sns_event(message))
    deliver(sns_event(message))  # a new SNS envelope around the same inbound message
    assert moto_ports.sender.kinds() == ["confirmation", "welcome"]
    inbound_events = [e for e in moto_ports.store.events(NUMBER) if e.type is EventType.INBOUND]
    assert len(inbound_events) == 1
    assert inbound_events[0].details["body"] == "YES"


def test_sns_message_id_is_the_key_when_inbound_id_is_absent(moto_ports):
    register(moto_ports)
    message = two_way_message(NUMBER, "hello?")
    del message["inboundMessageId"]
    event = sns_event(message)
    deliver(event)
    deliver(event)
    kinds = [e.type for e in moto_ports.store.events(NUMBER)]
    assert kinds.count(EventType.INBOUND) == 1


@pytest.mark.parametrize(
    "record",
    [
        {"Sns": {"Message": "not json"}},
        {"Sns": {"Message": "[1, 2]"}},
        {"Sns": {"Message": json.dumps({"messageBody": "YES"})}},
        {
            "Sns": {
                "Message": json.dumps({"originationNumber": "12065550142", "messageBody": "YES"})
            }
        },
        {"Sns": {"Message": json.dumps({"originationNumber": NUMBER, "messageBody": 7})}},
        {"Sns": {}},
        {"nothing": True},
        "a string",
    ],
)
def test_malformed_messages_are_dropped_not_retried(moto_ports, record, capsys, log_lines):
    register(moto_ports)
    good = sns_event(two_way_message(NUMBER, "YES"))["Records"][0]
    assert deliver({"Records": [record, good]}) == {"processed": 1}
    assert moto_ports.store.get(NUMBER).status is Status.CONFIRMED
    assert '"MalformedInbound"' in capsys.readouterr().out  # the metric
    logs = "\n".join(log_lines())
    assert "malformed inbound message dropped" in logs
    assert NUMBER not in logs


def test_unexpected_failure_raises_after_the_batch_and_retry_completes(moto_ports):
    for number in [NUMBER, "+14165550142"]:
        register(moto_ports, number)
    moto_ports.sender.failures.append(DependencyUnavailable(Dependency.SMS, "throttled"))
    event = sns_event(two_way_message(NUMBER, "YES"), two_way_message("+14165550142", "YES"))
    with pytest.raises(DependencyUnavailable):
        deliver(event)
    assert moto_ports.store.get("+14165550142").status is Status.CONFIRMED
    assert deliver(event) == {"processed": 2}  # Lambda's retry of the same event
    assert moto_ports.sender.kinds(NUMBER) == ["confirmation", "welcome"]
    assert moto_ports.sender.kinds("+14165550142") == ["confirmation", "welcome"]


def test_outcome_metrics_are_emitted(moto_ports, capsys):
    register(moto_ports)
    deliver(sns_event(two_way_message(NUMBER, "yes")))
    deliver(sns_event(two_way_message(NUMBER, "eyes")))
    deliver(sns_event(two_way_message(NUMBER, "Stop")))
    metrics = [
        json.loads(line)
        for line in capsys.readouterr().out.splitlines()
        if line.startswith("{") and "_aws" in line
    ]
    names = {
        definition["Name"]
        for blob in metrics
        for directive in blob["_aws"]["CloudWatchMetrics"]
        for definition in directive["Metrics"]
    }
    assert {"Confirmed", "UnmatchedReply", "OptedOut"} <= names
    assert all(blob["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "SmsOptIn" for blob in metrics)


def test_each_record_is_reported_in_one_log_line(moto_ports, log_lines):
    register(moto_ports)
    register(moto_ports, "+14165550142")
    moto_ports.sender.failures.append(DependencyUnavailable(Dependency.SMS, "throttled"))
    malformed = {"Sns": {"Message": "not json"}}
    event = sns_event(two_way_message(NUMBER, "YES"), two_way_message("+14165550142", "HELP"))
    event["Records"].insert(0, malformed)
    with pytest.raises(DependencyUnavailable):
        deliver(event)
    records = [json.loads(line) for line in log_lines()]
    assert [record["message"] for record in records] == [
        "malformed inbound message dropped",
        "inbound message failed",
        "inbound message processed",
    ]
    failed = records[1]
    assert failed["dependency"] == "sms"
    assert failed["phoneNumber"] == "+1******0142"
    assert "DependencyUnavailable" in failed["exception"]  # the traceback is kept
    assert records[2]["outcome"] == "help"


def test_sent_but_not_recorded_is_one_error_line_with_the_outcome(moto_ports, log_lines):
    register(moto_ports)
    settle = moto_ports.store.settle_inbound

    def throttled(message_id, phone_number, events):
        if events:
            raise DependencyUnavailable(Dependency.TABLE, "DynamoDB unavailable: Throttling")
        return settle(message_id, phone_number, events)

    moto_ports.store.settle_inbound = throttled
    assert deliver(sns_event(two_way_message(NUMBER, "YES"))) == {"processed": 1}
    [line] = log_lines()
    record = json.loads(line)
    assert record["message"] == "reply SMS sent but its ledger event was not written"
    assert record["level"] == "ERROR"
    assert (record["outcome"], record["phoneNumber"]) == ("confirmed", "+1******0142")
    assert record["smsMessageId"]


# A reply can never break the function ------------------------------------------------------

# +1 206 555 0142 in Arabic-Indic digits: digits to Unicode, not to E.164.
ARABIC_INDIC_NUMBER = "".join(chr(0x0660 + int(digit)) for digit in NUMBER[1:])


@pytest.mark.parametrize("body", ["Yes \ud83d", "\udfffYes", "Yes \ud83d\ude00 \ude00"])
def test_a_reply_with_half_an_emoji_is_applied(moto_ports, body):
    """An emoji split across message segments leaves half a surrogate pair in the JSON."""
    register(moto_ports)

    assert deliver(sns_event(two_way_message(NUMBER, body))) == {"processed": 1}

    assert moto_ports.store.get(NUMBER).status is Status.CONFIRMED
    [recorded] = [e for e in moto_ports.store.events(NUMBER) if e.type is EventType.INBOUND]
    assert "\ufffd" in recorded.details["body"]  # unencodable code points become U+FFFD


@pytest.mark.parametrize("body", ["STOP \ud83d", "\ud83dSTOP", "please stop \udc00"])
def test_a_stop_with_half_an_emoji_always_opts_out(moto_ports, body):
    register(moto_ports)
    deliver(sns_event(two_way_message(NUMBER, "YES")))

    assert deliver(sns_event(two_way_message(NUMBER, body))) == {"processed": 1}

    assert moto_ports.store.get(NUMBER).status is Status.OPTED_OUT


def test_surrogates_anywhere_in_the_document_are_cleaned(moto_ports):
    register(moto_ports)
    message = two_way_message(NUMBER, "YES", inbound_message_id="in-\ud800", keyword="\udfff")
    message["destinationNumber"] = "+1800\ud83d"
    event = sns_event(message)
    event["Records"][0]["Sns"]["Timestamp"] = "2026-11-23T15:00:00Z\udc00"

    assert deliver(event) == {"processed": 1}
    assert deliver(event) == {"processed": 1}  # the same id again: applied once

    assert moto_ports.store.get(NUMBER).status is Status.CONFIRMED
    assert moto_ports.sender.kinds() == ["confirmation", "welcome"]


@pytest.mark.parametrize(
    "message",
    [
        "[" * 50_000 + "]" * 50_000,  # RecursionError in the JSON parser
        '{"originationNumber": "+12065550142", "messageBody": "YES", "n": '
        + "9" * 5_000
        + "}",  # ValueError: past the integer digit limit
        json.dumps({"originationNumber": "+" + ARABIC_INDIC_NUMBER, "messageBody": "YES"}),
        json.dumps({"originationNumber": NUMBER + "\n", "messageBody": "YES"}),
        json.dumps({"originationNumber": NUMBER, "messageBody": "YES"}).encode().hex(),
        "\ud800",
    ],
    ids=["nested", "huge-number", "arabic-digits", "trailing-newline", "hex", "surrogate"],
)
def test_an_unreadable_message_is_malformed_not_retried(moto_ports, message, capsys, log_lines):
    register(moto_ports, "+14165550142")
    good = sns_event(two_way_message("+14165550142", "YES"))["Records"][0]
    bad = sns_event(message)["Records"][0]

    assert deliver({"Records": [bad, good]}) == {"processed": 1}

    assert moto_ports.store.get("+14165550142").status is Status.CONFIRMED
    assert '"MalformedInbound"' in capsys.readouterr().out
    logs = "\n".join(log_lines())
    assert "malformed inbound message dropped" in logs
    assert NUMBER not in logs
