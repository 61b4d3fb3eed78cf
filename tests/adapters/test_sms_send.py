"""SendTextMessage as the sender calls it, on botocore's Stubber and End User Messaging's
real service model: what each error means for the queued message."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.exceptions import ConnectTimeoutError, EndpointConnectionError, ReadTimeoutError
from botocore.stub import Stubber

from optin.adapters.sms import EndUserMessagingSender, sms_client
from optin.domain import errors
from optin.settings import Settings

NUMBER = "+12065550142"
KEY = "m-0123456789abcdef0123456789abcdef01234567"


@pytest.fixture
def client() -> Any:
    return boto3.client("pinpoint-sms-voice-v2", region_name="us-east-1")


def sender(settings: Settings, client: Any) -> EndUserMessagingSender:
    return EndUserMessagingSender(settings, client, send_client=client)


def test_context_carries_the_key_and_kind_never_the_number(client: Any, settings: Settings) -> None:
    expected = {
        "DestinationPhoneNumber": NUMBER,
        "OriginationIdentity": settings.origination_identity,
        "MessageBody": "hello",
        "MessageType": "TRANSACTIONAL",
        "TimeToLive": 14400,
        "Context": {"key": KEY, "kind": "confirmation"},
        "ConfigurationSetName": "optin-events",
        "ProtectConfigurationId": "protect-0123456789abcdef",
    }
    with Stubber(client) as stub:
        stub.add_response("send_text_message", {"MessageId": "m-1"}, expected)
        assert sender(settings, client).send(NUMBER, "hello", kind="confirmation", key=KEY) == "m-1"
        stub.assert_no_pending_responses()


def test_the_send_client_never_retries_on_its_own() -> None:
    assert sms_client(retries=False).meta.config.retries["total_max_attempts"] == 1


@pytest.mark.parametrize(
    ("code", "status", "fields", "raised"),
    [
        ("ThrottlingException", 429, {}, errors.SendThrottled),
        (
            "ServiceQuotaExceededException",
            402,
            {"Reason": "MONTHLY_SPEND_LIMIT_REACHED_FOR_TEXT"},
            errors.SendQuotaExceeded,
        ),
        (
            "ServiceQuotaExceededException",
            402,
            {"Reason": "DAILY_DESTINATION_CALL_LIMIT"},
            errors.SendQuotaExceeded,
        ),
        (
            "ConflictException",
            409,
            {"Reason": "DESTINATION_PHONE_NUMBER_OPTED_OUT", "ResourceType": "opt-out-list"},
            errors.DestinationOptedOut,
        ),
        (
            "ConflictException",
            409,
            {"Reason": "DESTINATION_PHONE_NUMBER_NOT_VERIFIED", "ResourceType": "phone-number"},
            errors.SendRefused,
        ),
        ("ValidationException", 400, {"Reason": "INVALID_PARAMETER"}, errors.SendRefused),
        (
            "AccessDeniedException",
            403,
            {"Reason": "ACCOUNT_DISABLED"},
            errors.DependencyUnavailable,
        ),
        ("ResourceNotFoundException", 404, {}, errors.DependencyUnavailable),
        ("InternalServerException", 500, {}, errors.DependencyUnavailable),
    ],
)
def test_what_each_error_means(
    client: Any,
    settings: Settings,
    code: str,
    status: int,
    fields: dict[str, str],
    raised: type[Exception],
) -> None:
    with Stubber(client) as stub:
        stub.add_client_error(
            "send_text_message",
            service_error_code=code,
            http_status_code=status,
            modeled_fields={"Message": code, **fields},
        )
        with pytest.raises(raised) as error:
            sender(settings, client).send(NUMBER, "hello", kind="welcome", key=KEY)
    if isinstance(error.value, errors.SendQuotaExceeded):
        assert error.value.reason == fields["Reason"]


@pytest.mark.parametrize(
    ("failure", "raised"),
    [
        (
            ReadTimeoutError(endpoint_url="https://sms-voice.us-east-1.amazonaws.com"),
            errors.SendOutcomeUnknown,
        ),
        (
            ConnectTimeoutError(endpoint_url="https://sms-voice.us-east-1.amazonaws.com"),
            errors.DependencyUnavailable,
        ),
        (
            EndpointConnectionError(endpoint_url="https://sms-voice.us-east-1.amazonaws.com"),
            errors.DependencyUnavailable,
        ),
    ],
)
def test_a_request_that_may_have_left_is_an_unknown_outcome(
    client: Any, settings: Settings, failure: Exception, raised: type[Exception]
) -> None:
    """A read timeout comes after the request was sent: maybe sent. A connection that never
    opened sent nothing: safe to try again."""

    attempts: list[int] = []

    def fail(**_kwargs: Any) -> None:
        attempts.append(1)
        raise failure

    send_client = sms_client(retries=False)
    send_client.meta.events.register("before-send.pinpoint-sms-voice-v2.SendTextMessage", fail)
    with pytest.raises(raised):
        EndUserMessagingSender(settings, client, send_client).send(
            NUMBER, "hello", kind="welcome", key=KEY
        )
    assert len(attempts) == 1  # no retry of the SDK's own


def test_a_send_client_is_built_on_the_first_send_only(settings: Settings, client: Any) -> None:
    lazy = EndUserMessagingSender(settings, client)
    assert lazy._send_client is None  # type: ignore[attr-defined]
