"""Erasure (on request, and of numbers that never confirmed): what goes, what stays, and
how an erased number comes back."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from optin.domain.errors import Dependency, DependencyUnavailable
from optin.domain.language.messages import Template
from optin.domain.model import (
    ConsentEvent,
    Dimension,
    ErasedNumber,
    EventSource,
    EventType,
    Status,
    Subscriber,
)
from optin.domain.subscribers.erasure import erase_subscriber, kept_status, scrub
from optin.domain.subscribers.lifecycle import RegistrationOutcome
from tests.support.fakes import MemoryStore
from tests.support.lifecycle import NUMBER, arrange, register, reply

PERSONAL = ("Carlos", "Salazar", "203.0.113.9", "pytest", "Registration form test")
OPERATOR = "arn:aws:iam::123456789012:user/ops"


class RecordingOptOutList:
    def __init__(self, fail: bool = False) -> None:
        self.numbers: list[str] = []
        self.fail = fail

    def add(self, phone_number: str) -> None:
        if self.fail:
            raise DependencyUnavailable(Dependency.SMS, "PutOptedOutNumber failed: Throttling")
        self.numbers.append(phone_number)


def everything_stored(store: MemoryStore) -> str:
    return repr(
        (store.subscribers, dict(store.ledger), store.markers, store.erased, store.erased_ledger)
    )


def erase(ports, number: str = NUMBER, **kwargs):
    return erase_subscriber(
        ports.store, number, requested_by=OPERATOR, source="operator", clock=ports.clock, **kwargs
    )


@pytest.mark.parametrize("state", ["PENDING", "CONFIRMED", "OPTED_OUT", "EXPIRED"])
def test_no_name_ip_user_agent_body_page_or_number_stays(ports, state):
    arrange(ports, state)
    reply(ports, "hello, this is Carlos")
    assert any(word in everything_stored(ports.store) for word in PERSONAL)

    assert erase(ports) is not None

    stored = everything_stored(ports.store)
    for word in (*PERSONAL, "hello, this is Carlos", NUMBER):
        assert word not in stored, word
    assert ports.store.get(NUMBER) is None
    assert ports.store.events(NUMBER) == []


def test_what_stays_is_the_types_and_times_under_the_hash_with_who_asked(ports):
    arrange(ports, "CONFIRMED")
    before = [(event.type, event.at) for event in ports.store.events(NUMBER)]
    erase(ports)
    [kept] = ports.store.erased_ledger.values()
    assert [(event.type, event.at) for event in kept[:-1]] == before
    erased = kept[-1]
    assert erased.type is EventType.ERASED
    assert erased.details == {
        "requestedBy": OPERATOR,
        "fromStatus": "CONFIRMED",
        "keptStatus": "OPTED_OUT",
    }
    assert ports.store.erased_number(NUMBER) == ErasedNumber(
        Status.OPTED_OUT, ports.clock(), opted_out_at=ports.clock()
    )


@pytest.mark.parametrize(
    ("state", "kept"),
    [
        ("PENDING", Status.PENDING),
        ("EXPIRED", Status.EXPIRED),
        ("CONFIRMED", Status.OPTED_OUT),  # asking to be forgotten ends the subscription
        ("OPTED_OUT", Status.OPTED_OUT),
    ],
)
def test_the_kept_state(ports, state, kept):
    arrange(ports, state)
    assert erase(ports).kept_status is kept


def test_an_erased_number_that_had_opted_out_is_never_texted_on_registration(ports):
    arrange(ports, "OPTED_OUT")
    sent = len(ports.sender.sent)
    erase(ports)

    result = register(ports)

    assert result.outcome is RegistrationOutcome.RESUBSCRIBE_REQUESTED
    assert len(ports.sender.sent) == sent  # no confirmation: the re-subscription path
    subscriber = ports.store.get(NUMBER)
    assert subscriber.status is Status.OPTED_OUT
    assert subscriber.resubscribe_requested_at == ports.clock()
    assert [e.type for e in ports.store.events(NUMBER)] == [EventType.RESUBSCRIBE_REQUESTED]
    # The person's own keyword then confirms, off the opt-out list, with the welcome.
    reply(ports, "YES")
    assert ports.store.get(NUMBER).status is Status.CONFIRMED
    assert ports.sender.kinds(NUMBER)[-1] == Template.WELCOME
    assert ports.sender.removed == [NUMBER]


def test_an_erased_number_that_never_confirmed_registers_afresh(ports):
    arrange(ports, "EXPIRED")
    erase(ports)
    result = register(ports)
    assert result.outcome is RegistrationOutcome.SEND_CONFIRMATION
    assert ports.sender.kinds(NUMBER)[-1] == Template.CONFIRMATION


def test_a_number_kept_as_opted_out_goes_on_the_platform_list_first(ports):
    arrange(ports, "CONFIRMED")
    opt_out_list = RecordingOptOutList()
    erase(ports, opt_out_list=opt_out_list)
    assert opt_out_list.numbers == [NUMBER]


def test_a_pending_number_does_not_go_on_the_platform_list(ports):
    arrange(ports, "PENDING")
    opt_out_list = RecordingOptOutList()
    erase(ports, opt_out_list=opt_out_list)
    assert opt_out_list.numbers == []


def test_when_the_opt_out_list_fails_nothing_is_erased(ports):
    arrange(ports, "CONFIRMED")
    before = ports.store.snapshot()
    with pytest.raises(DependencyUnavailable):
        erase(ports, opt_out_list=RecordingOptOutList(fail=True))
    assert ports.store.snapshot() == before


def test_a_number_with_only_replies_is_erased_and_one_with_nothing_is_not(ports):
    reply(ports, "who is this? Carlos here")  # no subscriber: only the ledger
    erasure = erase(ports)
    assert (erasure.from_status, erasure.kept_status) == (None, None)
    assert "Carlos" not in everything_stored(ports.store)
    assert erase(ports, "+14165550142") is None


def test_a_second_erasure_keeps_what_the_first_remembered(ports):
    arrange(ports, "OPTED_OUT")
    erase(ports)
    reply(ports, "hello again")  # an erased number texts us: the reply is recorded
    erasure = erase(ports)
    assert erasure.kept_status is Status.OPTED_OUT
    assert ports.store.erased_number(NUMBER).status is Status.OPTED_OUT


def test_scrub_keeps_only_what_names_no_one():
    event = ConsentEvent(
        EventType.REGISTERED,
        datetime(2026, 11, 23, tzinfo=UTC),
        "/spring-sale",
        {
            "ip": "203.0.113.9",
            "userAgent": "Mozilla",
            "firstName": "Carlos",
            "lastName": "Salazar",
            "body": "yes",
            "reason": "asked by Carlos",
            "somethingAddedLater": "x",
            "disclosureVersion": "d-0123456789ab",
            "fromStatus": "",
            "toStatus": "PENDING",
        },
    )
    scrubbed = scrub(event)
    assert scrubbed.source == EventSource.FORM
    assert scrubbed.details == {
        "disclosureVersion": "d-0123456789ab",
        "fromStatus": "",
        "toStatus": "PENDING",
    }
    assert (scrubbed.type, scrubbed.at) == (event.type, event.at)
    assert scrub(ConsentEvent(EventType.INBOUND, event.at, "sms", {})).source == "sms"


def test_kept_status_without_a_profile_is_the_earlier_one():
    now = datetime(2026, 11, 23, tzinfo=UTC)
    assert kept_status(None, None) is None
    assert kept_status(None, ErasedNumber(Status.OPTED_OUT, now)) is Status.OPTED_OUT
    subscriber = Subscriber(NUMBER, Status.EXPIRED, now, now)
    assert kept_status(subscriber, ErasedNumber(Status.OPTED_OUT, now)) is Status.EXPIRED


def test_the_memory_store_counts_what_it_erases(ports):
    arrange(ports, "CONFIRMED")
    store: MemoryStore = ports.store
    assert store.segment_counts(Dimension.STATUS) == {
        "CONFIRMED": {"PENDING": 0, "CONFIRMED": 1, "OPTED_OUT": 0, "EXPIRED": 0}
    }
    erase(ports)
    assert store.segment_counts(Dimension.STATUS) == {}


@pytest.mark.parametrize("source", list(EventSource))
def test_every_source_the_service_writes_survives_the_scrub(source):
    event = ConsentEvent(EventType.REGISTERED, datetime(2026, 11, 23, tzinfo=UTC), source, {})
    assert scrub(event).source == source


def test_an_erased_registrations_events_keep_only_sources_the_service_knows(ports):
    register(ports)
    assert EventSource.FORM in {event.source for event in ports.store.events(NUMBER)}
    erase(ports)
    [kept] = ports.store.erased_ledger.values()
    sources = [event.source for event in kept]
    assert EventSource.FORM in sources
    assert set(sources) <= set(EventSource)
