"""The erasure key: the secret the stack generated (Secrets Manager), read once per
container, on first use."""

from __future__ import annotations

from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from optin.adapters.aws import failure_name
from optin.domain.errors import Dependency, DependencyUnavailable

_CLIENT_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 3}, connect_timeout=2, read_timeout=5
)


class SecretKey:
    """Callable giving the secret's value as bytes; the first call reads it, later calls
    return it from memory."""

    def __init__(self, secret_id: str, client: Any | None = None) -> None:
        self._secret_id = secret_id
        self._client = client
        self._key: bytes | None = None

    def __call__(self) -> bytes:
        if self._key is None:
            client = self._client or boto3.client("secretsmanager", config=_CLIENT_CONFIG)
            try:
                value = client.get_secret_value(SecretId=self._secret_id)["SecretString"]
            except (ClientError, BotoCoreError) as error:
                raise DependencyUnavailable(
                    Dependency.ERASURE_KEY,
                    f"the erasure key could not be read: {failure_name(error)}",
                ) from error
            if not value:
                raise DependencyUnavailable(Dependency.ERASURE_KEY, "the erasure key is empty")
            self._key = value.encode()
        return self._key
