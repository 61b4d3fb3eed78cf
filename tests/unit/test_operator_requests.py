"""The operator API's requests read in the domain: plain strings and bodies in, plain values
or a refusal (status, code) out, with no event or handler involved."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from optin.domain.broadcasts.model import Segment
from optin.domain.model import Dimension, Status
from optin.domain.operator import requests
from optin.domain.operator.requests import RequestRefused

NOW = datetime(2026, 12, 8, 12, 0, tzinfo=UTC)


def refusal(call, *args):
    with pytest.raises(RequestRefused) as caught:
        call(*args)
    return caught.value.status, caught.value.code


def test_a_path_number_is_decoded_and_a_plus_sent_as_a_space_mended():
    assert requests.phone_number("%2B12065550142") == "+12065550142"
    assert requests.phone_number(" 12065550142") == "+12065550142"
    assert refusal(requests.phone_number, "2065550142x") == (400, "INVALID_PHONE_NUMBER")


def test_a_listing_filter_takes_known_statuses_and_two_letter_countries():
    where = requests.subscriber_filter("CONFIRMED", "/signup", "ca")
    assert (where.status, where.source, where.country) == (Status.CONFIRMED, "/signup", "CA")
    assert refusal(requests.subscriber_filter, "confirmed", None, None) == (400, "BAD_REQUEST")
    assert refusal(requests.subscriber_filter, None, None, "USA") == (400, "BAD_REQUEST")


def test_segments_default_to_status_and_refuse_unknown_dimensions():
    assert requests.dimension(None) is Dimension.STATUS
    assert requests.dimension("country") is Dimension.COUNTRY
    assert refusal(requests.dimension, "carrier") == (400, "BAD_REQUEST")


@pytest.mark.parametrize("raw", ["0", "501", "¹", "1.5", "-3", "ten"])
def test_a_whole_number_outside_its_range_or_not_ascii_is_refused(raw):
    assert refusal(requests.whole_number, "limit", raw, 50, 500) == (400, "BAD_REQUEST")


def test_a_whole_number_defaults_when_absent():
    assert requests.whole_number("limit", None, 50, 500) == 50
    assert requests.whole_number("limit", "500", 50, 500) == 500


def test_a_date_without_a_zone_is_utc_and_a_bad_one_is_refused():
    assert requests.moment("since", "2026-11-01") == datetime(2026, 11, 1, tzinfo=UTC)
    assert requests.moment("since", "2026-11-01T10:00:00+01:00") == datetime(
        2026, 11, 1, 9, tzinfo=UTC
    )
    assert refusal(requests.moment, "since", "yesterday") == (400, "BAD_REQUEST")


def test_a_body_is_one_json_object_within_its_size():
    assert requests.json_object("") == {}
    assert refusal(requests.json_object, "[1]") == (400, "INVALID_JSON")
    assert refusal(requests.json_object, "{") == (400, "INVALID_JSON")
    assert refusal(requests.json_object, '{"a": "' + "x" * 5000 + '"}') == (
        413,
        "PAYLOAD_TOO_LARGE",
    )


def test_a_removal_needs_a_reason_and_keeps_it_trimmed():
    assert requests.removal_reason({"reason": "  asked by e-mail "}) == "asked by e-mail"
    assert refusal(requests.removal_reason, {"reason": " "}) == (400, "MISSING_REASON")
    assert refusal(requests.removal_reason, {"reason": "x" * 501}) == (400, "BAD_REQUEST")


def test_a_broadcast_request_reads_its_segment_and_send_time():
    asked = requests.broadcast_request(
        {
            "text": "Sale today",
            "segment": {"country": "us", "confirmedAfter": "2026-01-01"},
            "sendAt": "2026-12-09T08:00:00Z",
            "dryRun": True,
        },
        NOW,
    )
    assert asked.segment == Segment(country="US", confirmed_after=datetime(2026, 1, 1, tzinfo=UTC))
    assert asked.send_at == datetime(2026, 12, 9, 8, tzinfo=UTC)
    assert (asked.text, asked.dry_run) == ("Sale today", True)


@pytest.mark.parametrize(
    "body",
    [
        {"text": "x", "audience": "all"},
        {"text": "x", "dryRun": "yes"},
        {"text": "x", "sendAt": (NOW - timedelta(minutes=6)).isoformat()},
        {"text": "x", "sendAt": 1700000000},
        {"text": "x", "segment": []},
        {"text": "x", "segment": {"carrier": "x"}},
        {"text": "x", "segment": {"source": ""}},
        {"text": "x", "segment": {"confirmedAfter": "2026-02-01", "confirmedBefore": "2026-01-01"}},
        {"text": "x", "sendAt": "9999-12-31T23:59:59-23:59"},
    ],
)
def test_a_broadcast_request_out_of_shape_is_an_invalid_field(body):
    assert refusal(requests.broadcast_request, body, NOW) == (400, "INVALID_FIELD")


def test_a_send_time_a_little_behind_the_clock_is_accepted():
    asked = requests.broadcast_request({"text": "x", "sendAt": "2026-12-08T11:56:00Z"}, NOW)
    assert asked.send_at == NOW - timedelta(minutes=4)


def test_a_broadcast_id_of_another_shape_is_not_found():
    assert requests.broadcast_id("b-" + "0" * 24) == "b-" + "0" * 24
    assert refusal(requests.broadcast_id, "../x") == (404, "NOT_FOUND")
