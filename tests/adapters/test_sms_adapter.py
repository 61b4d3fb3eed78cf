"""End User Messaging adapters, checked call by call against the real service model."""

from __future__ import annotations

import boto3
import pytest
from botocore.stub import ANY, Stubber

from optin.adapters.sms import CarrierNumberLookup, EndUserMessagingSender
from optin.domain.errors import DependencyUnavailable, DestinationOptedOut
from optin.domain.language.messages import Template
from optin.settings import Settings
from tests.support.fakes import BASE_ENV

NUMBER = "+12065550142"


@pytest.fixture
def client():
    return boto3.client("pinpoint-sms-voice-v2", region_name="us-east-1")


@pytest.fixture
def sender(client, settings):
    return EndUserMessagingSender(settings, client, send_client=client)


def send(sender: EndUserMessagingSender) -> str:
    return sender.send(NUMBER, "hello", kind=Template.CONFIRMATION, key="m-key-1")


def conflict(stub: Stubber, reason: str, **fields: str) -> None:
    """SendTextMessage refused with a ConflictException for ``reason``."""
    stub.add_client_error(
        "send_text_message",
        service_error_code="ConflictException",
        http_status_code=409,
        modeled_fields={"Message": reason.lower(), "Reason": reason, **fields},
    )


def expected_send(settings: Settings, **overrides):
    params = {
        "DestinationPhoneNumber": NUMBER,
        "OriginationIdentity": settings.origination_identity,
        "MessageBody": "hello",
        "MessageType": "TRANSACTIONAL",
        "TimeToLive": 14400,
        "Context": {"key": "m-key-1", "kind": "confirmation"},
        "ConfigurationSetName": "optin-events",
        "ProtectConfigurationId": "protect-0123456789abcdef",
    }
    params.update(overrides)
    return {key: value for key, value in params.items() if value is not None}


def test_send_text_message(client, settings, sender):
    with Stubber(client) as stub:
        stub.add_response("send_text_message", {"MessageId": "m-1"}, expected_send(settings))
        assert send(sender) == "m-1"
        stub.assert_no_pending_responses()


def test_send_without_configuration_set_or_protect_configuration(client):
    env = {**BASE_ENV, "CONFIGURATION_SET_NAME": "", "PROTECT_CONFIGURATION_ID": ""}
    settings = Settings.from_env(env)
    sender = EndUserMessagingSender(settings, client, send_client=client)
    params = expected_send(settings, ConfigurationSetName=None, ProtectConfigurationId=None)
    with Stubber(client) as stub:
        stub.add_response("send_text_message", {"MessageId": "m-2"}, params)
        send(sender)


@pytest.mark.parametrize(
    "code", ["ThrottlingException", "ServiceQuotaExceededException", "InternalServerException"]
)
def test_provider_trouble_is_sms_unavailable(client, sender, code):
    with Stubber(client) as stub:
        stub.add_client_error("send_text_message", service_error_code=code, http_status_code=429)
        with pytest.raises(DependencyUnavailable, match=code):
            send(sender)


def test_opted_out_destination(client, sender):
    with Stubber(client) as stub:
        conflict(
            stub,
            "DESTINATION_PHONE_NUMBER_OPTED_OUT",
            ResourceType="opt-out-list",
            ResourceId="default",
        )
        with pytest.raises(DestinationOptedOut):
            send(sender)


def test_other_conflicts_are_not_opt_outs(client, sender):
    with Stubber(client) as stub:
        conflict(stub, "RESOURCE_NOT_ACTIVE")
        with pytest.raises(DependencyUnavailable):
            send(sender)


def test_remove_opt_out(client, sender):
    params = {"OptOutListName": "optin-opt-outs", "OptedOutNumber": NUMBER}
    with Stubber(client) as stub:
        stub.add_response("delete_opted_out_number", {"OptedOutNumber": NUMBER}, params)
        stub.add_client_error(
            "delete_opted_out_number", "ResourceNotFoundException", ANY, 404, params
        )
        stub.add_client_error("delete_opted_out_number", "ValidationException", ANY, 400, params)
        assert sender.remove_opt_out(NUMBER) is True
        assert sender.remove_opt_out(NUMBER) is True  # not on the list: nothing to remove
        assert sender.remove_opt_out(NUMBER) is False  # refused (once per 30 days)


@pytest.mark.parametrize(
    ("number_type", "carrier"), [("MOBILE", "Example Wireless"), ("LANDLINE", ""), ("VOIP", "X")]
)
def test_carrier_lookup(client, number_type, carrier):
    lookup = CarrierNumberLookup(client)
    answer = {"E164PhoneNumber": NUMBER, "PhoneNumberType": number_type, "Carrier": carrier}
    with Stubber(client) as stub:
        stub.add_response("carrier_lookup", answer, {"PhoneNumber": NUMBER})
        facts = lookup.lookup(NUMBER)
    assert (facts.number_type, facts.carrier) == (number_type, carrier)
    assert facts.timezone == "America/Los_Angeles"


def test_carrier_lookup_failures(client):
    lookup = CarrierNumberLookup(client)
    with Stubber(client) as stub:
        stub.add_client_error("carrier_lookup", "ThrottlingException", http_status_code=429)
        stub.add_client_error("carrier_lookup", "ValidationException", http_status_code=400)
        with pytest.raises(DependencyUnavailable):
            lookup.lookup(NUMBER)
        assert lookup.lookup(NUMBER).number_type == "INVALID"


def test_add_opt_out_puts_the_number_on_the_stack_opt_out_list(client, settings):
    sender = EndUserMessagingSender(settings, client)
    params = {"OptOutListName": "optin-opt-outs", "OptedOutNumber": NUMBER}
    answer = {
        "OptOutListName": "optin-opt-outs",
        "OptedOutNumber": NUMBER,
        "OptedOutTimestamp": "2026-11-23T15:00:00Z",
        "EndUserOptedOut": False,
    }
    with Stubber(client) as stub:
        stub.add_response("put_opted_out_number", answer, params)
        stub.add_response("put_opted_out_number", answer, params)  # idempotent: again is fine
        stub.add_client_error("put_opted_out_number", "ValidationException", ANY, 400, params)
        assert sender.add_opt_out(NUMBER) is True
        assert sender.add_opt_out(NUMBER) is True
        assert sender.add_opt_out(NUMBER) is False  # a number the platform cannot list
        stub.assert_no_pending_responses()


@pytest.mark.parametrize(
    "code", ["ThrottlingException", "AccessDeniedException", "ResourceNotFoundException"]
)
def test_add_opt_out_failures_are_retried(client, settings, code):
    sender = EndUserMessagingSender(settings, client)
    with Stubber(client) as stub:
        stub.add_client_error("put_opted_out_number", code, http_status_code=400)
        with pytest.raises(DependencyUnavailable, match="PutOptedOutNumber"):
            sender.add_opt_out(NUMBER)
