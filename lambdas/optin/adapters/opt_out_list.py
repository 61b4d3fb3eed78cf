"""The platform's opt-out list (End User Messaging ``PutOptedOutNumber`` and
``DeleteOptedOutNumber``): a number on it cannot be texted by any sender of the account."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from optin.adapters.aws import error_code, failure_name
from optin.domain.errors import Dependency, DependencyUnavailable


class PlatformOptOutList:
    """OptOutList over the stack's opt-out list (none named: nothing is listed)."""

    def __init__(self, client: Any, list_name: str) -> None:
        self._client = client
        self._list_name = list_name

    def add(self, phone_number: str) -> bool:
        """Idempotent, so a retry is safe; False when the platform will not list the number
        (retrying cannot help). Raises DependencyUnavailable (retry later)."""
        if not self._list_name:
            return False
        try:
            self._client.put_opted_out_number(
                OptOutListName=self._list_name, OptedOutNumber=phone_number
            )
        except (ClientError, BotoCoreError) as error:
            if isinstance(error, ClientError) and error_code(error) == "ValidationException":
                return False
            raise DependencyUnavailable(
                Dependency.SMS, f"PutOptedOutNumber failed: {failure_name(error)}"
            ) from error
        return True

    def remove(self, phone_number: str) -> bool:
        """Allowed once per number per 30 days, so it may be refused (False)."""
        if not self._list_name:
            return False
        try:
            self._client.delete_opted_out_number(
                OptOutListName=self._list_name, OptedOutNumber=phone_number
            )
        except ClientError as error:
            return error_code(error) == "ResourceNotFoundException"
        except BotoCoreError:
            return False
        return True
