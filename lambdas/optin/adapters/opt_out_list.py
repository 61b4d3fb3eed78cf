"""The platform's opt-out list (End User Messaging ``PutOptedOutNumber``): a number on it
cannot be texted by any sender of the account."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from optin.domain.errors import Dependency, DependencyUnavailable


class PlatformOptOutList:
    """OptOutList over the stack's opt-out list; idempotent, as the platform is."""

    def __init__(self, client: Any, list_name: str) -> None:
        self._client = client
        self._list_name = list_name

    def add(self, phone_number: str) -> None:
        try:
            self._client.put_opted_out_number(
                OptOutListName=self._list_name, OptedOutNumber=phone_number
            )
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            raise DependencyUnavailable(
                Dependency.SMS, f"PutOptedOutNumber failed: {code}"
            ) from error
        except BotoCoreError as error:
            raise DependencyUnavailable(
                Dependency.SMS, f"PutOptedOutNumber failed: {type(error).__name__}"
            ) from error
