"""AWS End User Messaging SMS (``pinpoint-sms-voice-v2``): sending, carrier lookup, the
opt-out list."""

from __future__ import annotations

from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from optin.domain.errors import Dependency, DependencyUnavailable, DestinationOptedOut
from optin.domain.messages import Template
from optin.domain.phone import INVALID, NumberFacts, offline_facts
from optin.settings import Settings

SERVICE = "pinpoint-sms-voice-v2"
MESSAGE_TIME_TO_LIVE_SECONDS = 4 * 3600  # a confirmation that arrives days late only confuses
_CLIENT_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 3}, connect_timeout=2, read_timeout=5
)


def sms_client() -> Any:
    return boto3.client(SERVICE, config=_CLIENT_CONFIG)


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _reason(error: ClientError) -> str:
    return str(error.response.get("Reason") or error.response.get("Error", {}).get("Reason", ""))


class EndUserMessagingSender:
    """SmsSender over SendTextMessage from the stack's origination identity."""

    def __init__(self, settings: Settings, client: Any | None = None) -> None:
        self._settings = settings
        self._client = client or sms_client()

    def send(self, phone_number: str, body: str, *, kind: Template, correlation_id: str) -> str:
        params: dict[str, Any] = {
            "DestinationPhoneNumber": phone_number,
            "OriginationIdentity": self._settings.origination_identity,
            "MessageBody": body,
            "MessageType": "TRANSACTIONAL",
            "TimeToLive": MESSAGE_TIME_TO_LIVE_SECONDS,
            "Context": {"correlationId": correlation_id[:100], "kind": kind.value},
        }
        if self._settings.configuration_set_name:
            params["ConfigurationSetName"] = self._settings.configuration_set_name
        if self._settings.protect_configuration_id:
            params["ProtectConfigurationId"] = self._settings.protect_configuration_id
        try:
            response = self._client.send_text_message(**params)
        except ClientError as error:
            if _code(error) == "ConflictException" and _reason(error) == (
                "DESTINATION_PHONE_NUMBER_OPTED_OUT"
            ):
                raise DestinationOptedOut() from error
            raise DependencyUnavailable(
                Dependency.SMS, f"SendTextMessage failed: {_code(error)}"
            ) from error
        except BotoCoreError as error:
            raise DependencyUnavailable(
                Dependency.SMS, f"SendTextMessage failed: {type(error).__name__}"
            ) from error
        return str(response["MessageId"])

    def remove_opt_out(self, phone_number: str) -> bool:
        """DeleteOptedOutNumber: allowed once per number per 30 days, so it may be refused."""
        if not self._settings.opt_out_list_name:
            return False
        try:
            self._client.delete_opted_out_number(
                OptOutListName=self._settings.opt_out_list_name, OptedOutNumber=phone_number
            )
        except ClientError as error:
            return _code(error) == "ResourceNotFoundException"
        except BotoCoreError:
            return False
        return True

    def add_opt_out(self, phone_number: str) -> bool:
        """PutOptedOutNumber on the stack's opt-out list: idempotent, so a retry is safe."""
        if not self._settings.opt_out_list_name:
            return False
        try:
            self._client.put_opted_out_number(
                OptOutListName=self._settings.opt_out_list_name, OptedOutNumber=phone_number
            )
        except ClientError as error:
            if _code(error) == "ValidationException":
                return False  # a number the platform will not list: retrying cannot help
            raise DependencyUnavailable(
                Dependency.SMS, f"PutOptedOutNumber failed: {_code(error)}"
            ) from error
        except BotoCoreError as error:
            raise DependencyUnavailable(
                Dependency.SMS, f"PutOptedOutNumber failed: {type(error).__name__}"
            ) from error
        return True


class CarrierNumberLookup:
    """NumberLookup over CarrierLookup (paid, ``numberLookup=carrier``)."""

    def __init__(self, client: Any | None = None) -> None:
        self._client = client or sms_client()

    def lookup(self, phone_number: str) -> NumberFacts:
        try:
            response = self._client.carrier_lookup(PhoneNumber=phone_number)
        except ClientError as error:
            if _code(error) == "ValidationException":
                return NumberFacts(number_type=INVALID)
            raise DependencyUnavailable(
                Dependency.NUMBER_LOOKUP, f"CarrierLookup failed: {_code(error)}"
            ) from error
        except BotoCoreError as error:
            raise DependencyUnavailable(
                Dependency.NUMBER_LOOKUP, f"CarrierLookup failed: {type(error).__name__}"
            ) from error
        return NumberFacts(
            number_type=str(response.get("PhoneNumberType") or "OTHER"),
            carrier=str(response.get("Carrier") or ""),
            timezone=offline_facts(phone_number).timezone,
        )
