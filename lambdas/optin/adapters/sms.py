"""AWS End User Messaging SMS (``pinpoint-sms-voice-v2``): sending, carrier lookup, the
opt-out list."""

from __future__ import annotations

from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
)

from optin.adapters.aws import error_code
from optin.adapters.opt_out_list import PlatformOptOutList
from optin.domain import errors
from optin.domain.subscribers.phone import INVALID, NumberFacts, offline_facts
from optin.settings import Settings

SERVICE = "pinpoint-sms-voice-v2"
MESSAGE_TIME_TO_LIVE_SECONDS = 4 * 3600  # a confirmation that arrives days late only confuses
_CLIENT_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 3}, connect_timeout=2, read_timeout=5
)
# SendTextMessage has no idempotency token: a retry after a request that reached the
# platform could send twice. The SDK never retries a send; the send queue does, knowing
# which failures left nothing behind.
_SEND_CLIENT_CONFIG = Config(
    retries={"mode": "standard", "total_max_attempts": 1}, connect_timeout=2, read_timeout=10
)
# Failures where the request never reached the platform: safe to send again.
_NOT_SENT = (ConnectTimeoutError, EndpointConnectionError)
# Refusals of this destination or text that another try will not change: an invalid
# number or text, a sandbox destination that is not verified, a destination the protect
# configuration blocks. Other conflicts concern our own resources (a number not active
# yet...) and are retried.
_REFUSED_CONFLICTS = {
    "DESTINATION_PHONE_NUMBER_NOT_VERIFIED",
    "DESTINATION_COUNTRY_BLOCKED_BY_PROTECT_CONFIGURATION",
    "DESTINATION_PHONE_NUMBER_BLOCKED_BY_PROTECT_NUMBER_OVERRIDE",
}


def sms_client(*, retries: bool = True) -> Any:
    return boto3.client(SERVICE, config=_CLIENT_CONFIG if retries else _SEND_CLIENT_CONFIG)


class LazySmsClient:
    """The End User Messaging client, built on its first use: a registration with
    ``numberLookup=offline`` or a YES never calls the service, and building the client
    (loading its model, resolving its endpoint) is about 14 ms of a cold start.

    Attribute access is passed to the client, so it stands in for one wherever a client is
    taken. ``reset()`` drops the built client (a restored SnapStart copy builds its own).
    """

    def __init__(self, *, retries: bool = True) -> None:
        self._retries = retries
        self._client: Any | None = None

    @property
    def built(self) -> bool:
        return self._client is not None

    def client(self) -> Any:
        if self._client is None:
            self._client = sms_client(retries=self._retries)
        return self._client

    def reset(self) -> None:
        self._client = None

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(self.client(), name)


def _reason(error: ClientError) -> str:
    return str(error.response.get("Reason") or error.response.get("Error", {}).get("Reason", ""))


class EndUserMessagingSender:
    """SmsSender over SendTextMessage from the stack's origination identity.

    ``client`` serves the opt-out list; sends go through ``send_client``, which makes no
    retries of its own (built on the first send when not given: only the sender sends).
    """

    def __init__(
        self, settings: Settings, client: Any | None = None, send_client: Any | None = None
    ) -> None:
        self._settings = settings
        self._client = client or sms_client()
        self._send_client = send_client
        self._opt_out_list = PlatformOptOutList(self._client, settings.opt_out_list_name)

    def send(self, phone_number: str, body: str, *, kind: str, key: str) -> str:
        params: dict[str, Any] = {
            "DestinationPhoneNumber": phone_number,
            "OriginationIdentity": self._settings.origination_identity,
            "MessageBody": body,
            "MessageType": "TRANSACTIONAL",
            "TimeToLive": MESSAGE_TIME_TO_LIVE_SECONDS,
            # What the delivery events carry back: the message's key and kind, never the
            # number or a name.
            "Context": {"key": key, "kind": kind},
        }
        if self._settings.configuration_set_name:
            params["ConfigurationSetName"] = self._settings.configuration_set_name
        if self._settings.protect_configuration_id:
            params["ProtectConfigurationId"] = self._settings.protect_configuration_id
        if self._send_client is None:
            self._send_client = sms_client(retries=False)
        try:
            response = self._send_client.send_text_message(**params)
        except ClientError as error:
            raise _send_error(error) from error
        except _NOT_SENT as error:
            raise errors.DependencyUnavailable(
                errors.Dependency.SMS, f"SendTextMessage failed: {type(error).__name__}"
            ) from error
        except BotoCoreError as error:  # sent, maybe: a timeout or a lost answer
            raise errors.SendOutcomeUnknown(f"SendTextMessage: {type(error).__name__}") from error
        return str(response["MessageId"])

    def remove_opt_out(self, phone_number: str) -> bool:
        return self._opt_out_list.remove(phone_number)

    def add_opt_out(self, phone_number: str) -> bool:
        return self._opt_out_list.add(phone_number)


def _send_error(error: ClientError) -> Exception:
    """What a SendTextMessage error means for the message (docs/decisions.md)."""
    code, reason = error_code(error), _reason(error)
    what = f"SendTextMessage failed: {code}" + (f" ({reason})" if reason else "")
    if code == "ConflictException" and reason == "DESTINATION_PHONE_NUMBER_OPTED_OUT":
        return errors.DestinationOptedOut()
    if code == "ThrottlingException":
        return errors.SendThrottled(what)
    if code == "ServiceQuotaExceededException":
        return errors.SendQuotaExceeded(what, reason)
    if code == "ValidationException" or (
        code == "ConflictException" and reason in _REFUSED_CONFLICTS
    ):
        return errors.SendRefused(what)
    # Anything else (AccessDeniedException, ResourceNotFoundException, a server error,
    # expired credentials) refused the request as a whole: nothing left, and a later try
    # may work.
    return errors.DependencyUnavailable(errors.Dependency.SMS, what)


class CarrierNumberLookup:
    """NumberLookup over CarrierLookup (paid, ``numberLookup=carrier``)."""

    def __init__(self, client: Any | None = None) -> None:
        self._client = client or sms_client()

    def lookup(self, phone_number: str) -> NumberFacts:
        try:
            response = self._client.carrier_lookup(PhoneNumber=phone_number)
        except ClientError as error:
            if error_code(error) == "ValidationException":
                return NumberFacts(number_type=INVALID)
            raise errors.DependencyUnavailable(
                errors.Dependency.NUMBER_LOOKUP, f"CarrierLookup failed: {error_code(error)}"
            ) from error
        except BotoCoreError as error:
            raise errors.DependencyUnavailable(
                errors.Dependency.NUMBER_LOOKUP, f"CarrierLookup failed: {type(error).__name__}"
            ) from error
        return NumberFacts(
            number_type=str(response.get("PhoneNumberType") or "OTHER"),
            carrier=str(response.get("Carrier") or ""),
            timezone=offline_facts(phone_number).timezone,
        )
