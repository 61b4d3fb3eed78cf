"""Operator use cases: the proof of consent, removal on the operator's word, pages and
counts."""

from __future__ import annotations

import pytest

from optin.domain.errors import DependencyUnavailable
from optin.domain.model import Dimension, EventType, Status, SubscriberFilter
from optin.domain.operator import views as operator
from tests.support.lifecycle import NUMBER, arrange, register, reply
from tests.unit.test_erasure import RecordingOptOutList


def test_the_proof_of_consent_carries_the_text_of_each_disclosure_cited(ports):
    arrange(ports, "CONFIRMED")
    proof = operator.proof_of_consent(ports.store, NUMBER)
    texts = ports.rules.texts
    assert proof["disclosures"] == {texts.disclosure_version: texts.disclosure}
    assert proof["consentEvents"][0]["disclosureVersion"] == texts.disclosure_version
    assert (proof["status"], proof["optOut"]) == ("CONFIRMED", "NONE")
    assert operator.proof_of_consent(ports.store, "+14165550142") is None


def test_removal_puts_the_number_on_the_list_before_changing_it(ports):
    arrange(ports, "CONFIRMED")
    opt_out_list = RecordingOptOutList(fail=True)
    with pytest.raises(DependencyUnavailable):
        operator.remove_subscriber(
            ports.store, NUMBER, operator="ops", reason="x", opt_out_list=opt_out_list
        )
    assert ports.store.get(NUMBER).status is Status.CONFIRMED
    opt_out_list.fail = False
    assert operator.remove_subscriber(
        ports.store, NUMBER, operator="ops", reason="asked", opt_out_list=opt_out_list
    )
    assert opt_out_list.numbers == [NUMBER]
    last = ports.store.events(NUMBER)[-1]
    assert last.type is EventType.REMOVED_BY_OPERATOR
    assert last.details["operator"] == "ops"
    unknown = RecordingOptOutList()
    assert not operator.remove_subscriber(
        ports.store, "+14165550142", operator="ops", reason="x", opt_out_list=unknown
    )
    assert unknown.numbers == []


def test_pages_of_subscribers_follow_the_filter(ports):
    register(ports, source="/a")
    register(ports, "+14165550142", source="/b")
    reply(ports, "YES", number="+14165550142")
    confirmed = operator.list_subscribers(
        ports.store, SubscriberFilter(status=Status.CONFIRMED), limit=10, cursor=None
    )
    assert [s["phoneNumber"] for s in confirmed["subscribers"]] == ["+14165550142"]
    assert "consentEvents" not in confirmed["subscribers"][0]
    first = operator.list_subscribers(ports.store, SubscriberFilter(), limit=1, cursor=None)
    second = operator.list_subscribers(
        ports.store, SubscriberFilter(), limit=1, cursor=first["nextCursor"]
    )
    assert second["nextCursor"] is None
    numbers = {first["subscribers"][0]["phoneNumber"], second["subscribers"][0]["phoneNumber"]}
    assert numbers == {NUMBER, "+14165550142"}


def test_segments_follow_every_transition(ports):
    register(ports, source="/a")
    register(ports, "+14165550142", source="/a")
    reply(ports, "YES", number="+14165550142")
    reply(ports, "STOP")
    assert operator.segments(ports.store, Dimension.SOURCE) == {
        "by": "source",
        "counts": {"/a": {"PENDING": 0, "CONFIRMED": 1, "OPTED_OUT": 1, "EXPIRED": 0}},
    }
    assert operator.segments(ports.store, Dimension.COUNTRY)["counts"] == {
        "CA": {"PENDING": 0, "CONFIRMED": 1, "OPTED_OUT": 0, "EXPIRED": 0},
        "US": {"PENDING": 0, "CONFIRMED": 0, "OPTED_OUT": 1, "EXPIRED": 0},
    }
