"""The API's error codes and statuses, read from the code that answers them (the domain's
``RegistrationError`` subclasses and the handlers' 503), never typed again in a test."""

from __future__ import annotations

from collections.abc import Iterator

from optin.domain.errors import RegistrationError
from optin.handlers.http import UNAVAILABLE_CODE, UNAVAILABLE_STATUS


def _refusals(error: type[RegistrationError]) -> Iterator[type[RegistrationError]]:
    for subclass in error.__subclasses__():
        yield subclass
        yield from _refusals(subclass)


def status_and_code(error: type[RegistrationError]) -> tuple[int, str]:
    """What the API answers when the domain raises ``error``."""
    return error.status, error.code


# Every code a registration is refused with, and its HTTP status.
REFUSAL_STATUS = {error.code: error.status for error in _refusals(RegistrationError)}
# A dependency down: the one 5xx of the API's contract.
UNAVAILABLE = (UNAVAILABLE_STATUS, UNAVAILABLE_CODE)
# Every code the API's error shape may carry (the 500 of a bug aside), and its status.
ERROR_STATUS = {**REFUSAL_STATUS, UNAVAILABLE_CODE: UNAVAILABLE_STATUS}


def codes_by_status(errors: dict[str, int]) -> dict[int, set[str]]:
    grouped: dict[int, set[str]] = {}
    for code, status in errors.items():
        grouped.setdefault(status, set()).add(code)
    return grouped
