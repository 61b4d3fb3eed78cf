"""What every adapter says about a failed AWS call."""

from __future__ import annotations

from botocore.exceptions import BotoCoreError, ClientError


def error_code(error: ClientError) -> str:
    """The service's error code (``ThrottlingException``...)."""
    return str(error.response.get("Error", {}).get("Code", ""))


def failure_name(error: ClientError | BotoCoreError) -> str:
    """The error code of a refusal, or the kind of failure when no answer came."""
    return error_code(error) if isinstance(error, ClientError) else type(error).__name__
