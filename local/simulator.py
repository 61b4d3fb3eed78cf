"""A phone simulator in place of End User Messaging SMS.

It implements the ``SmsSender`` port (sending, and taking a number off or putting it on the
opt-out list), keeps every conversation per phone number and behaves like the platform
where the platform answers on its own: the phone number's own STOP keyword, as the whole
message, puts the number on the opt-out list and gets the STOP reply; HELP, as the whole
message, gets the HELP reply; sending to an opted-out number is refused. Any other wording
("please stop", "Help me") is the inbound function's to answer.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from optin.domain.errors import Dependency, DependencyUnavailable, DestinationOptedOut
from optin.domain.keywords import (
    PLATFORM_HELP_KEYWORDS,
    PLATFORM_OPT_OUT_KEYWORDS,
    is_exact_keyword,
)
from optin.domain.messages import Template
from optin.domain.phone import LANDLINE, NumberFacts, OfflineLookup, mask, mask_in_text
from optin.settings import Settings

# AWS's SMS simulator destination whose messages fail; here sending to it fails at once.
FAILURE_NUMBER = "+14254147167"
# Offline metadata calls every US and Canadian number "fixed line or mobile"; a carrier
# lookup knows better. This number plays a landline so NOT_A_MOBILE_NUMBER can be tried.
LANDLINE_NUMBER = "+12015550000"
# The platform accepts DeleteOptedOutNumber once per number per 30 days.
OPT_OUT_REMOVAL_INTERVAL = timedelta(days=30)

Printer = Callable[[str], None]


def utc_iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class SimulatedMessage:
    direction: str  # "outbound" (to the phone) or "inbound" (from the phone)
    body: str
    at: str
    message_id: str
    kind: str = ""  # what the service sent (confirmation, welcome...) or the platform's reply

    def as_json(self) -> dict[str, Any]:
        return {
            "direction": self.direction,
            "body": self.body,
            "at": self.at,
            "messageId": self.message_id,
            "kind": self.kind,
        }


class PhoneSimulator:
    """Every SMS our service sends and every reply a person types, per phone number."""

    def __init__(
        self,
        settings: Settings,
        *,
        printer: Printer = print,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._settings = settings
        self._print = printer
        self._clock = clock
        self._lock = threading.Lock()
        self._conversations: dict[str, list[SimulatedMessage]] = {}
        self._opted_out: set[str] = set()
        self._opt_out_removed_at: dict[str, datetime] = {}

    # SmsSender port ---------------------------------------------------------------------

    def send(self, phone_number: str, body: str, *, kind: Template, correlation_id: str) -> str:
        with self._lock:
            if phone_number in self._opted_out:
                self._print(f"sms    x {mask(phone_number)} refused: on the opt-out list ({kind})")
                raise DestinationOptedOut(phone_number)
            if phone_number == FAILURE_NUMBER:
                self._print(f"sms    x {mask(phone_number)} failed: simulator failure number")
                raise DependencyUnavailable(
                    Dependency.SMS, "The SMS simulator's failure number never receives SMS."
                )
            message = self._record(phone_number, "outbound", body, kind)
        self._print(f"sms    > {mask(phone_number)} [{kind}] {mask_in_text(body)}")
        return message.message_id

    def remove_opt_out(self, phone_number: str) -> bool:
        with self._lock:
            if phone_number not in self._opted_out:
                return True
            removed_at = self._opt_out_removed_at.get(phone_number)
            now = self._clock()
            if removed_at is not None and now - removed_at < OPT_OUT_REMOVAL_INTERVAL:
                self._print(
                    f"optout x {mask(phone_number)} stays on the opt-out list "
                    "(the platform removes a number once per 30 days)"
                )
                return False
            self._opted_out.discard(phone_number)
            self._opt_out_removed_at[phone_number] = now
        self._print(f"optout - {mask(phone_number)} removed from the opt-out list")
        return True

    def add_opt_out(self, phone_number: str) -> bool:
        """PutOptedOutNumber: the function lists a number that opted out in its own words."""
        with self._lock:
            already = phone_number in self._opted_out
            self._opted_out.add(phone_number)
        if not already:
            self._print(f"optout + {mask(phone_number)} added to the opt-out list by the function")
        return True

    def put_opted_out(self, phone_number: str) -> None:
        """PutOptedOutNumber: the operator API's opt-outs and erasures (``OptOutList``)."""
        with self._lock:
            self._opted_out.add(phone_number)
        self._print(f"optout + {mask(phone_number)} added to the opt-out list by an operator")

    # The phone's side -------------------------------------------------------------------

    def receive(self, phone_number: str, body: str) -> None:
        """Record a reply typed on the phone and answer it as the platform would.

        The platform answers the phone number's mandatory keywords itself when they are the
        whole message (the simulated number is toll-free, where STOP is the only opt-out
        keyword), and still publishes every inbound message to the two-way channel's topic.
        """
        with self._lock:
            self._record(phone_number, "inbound", body, "reply")
        self._print(f"sms    < {mask(phone_number)} {mask_in_text(body)!r}")
        if is_exact_keyword(body, PLATFORM_OPT_OUT_KEYWORDS):
            with self._lock:
                self._opted_out.add(phone_number)
                self._record(
                    phone_number, "outbound", self._settings.texts.render(Template.STOP), "stop"
                )
            self._print(f"optout + {mask(phone_number)} added to the opt-out list; STOP reply sent")
        elif is_exact_keyword(body, PLATFORM_HELP_KEYWORDS):
            with self._lock:
                self._record(
                    phone_number, "outbound", self._settings.texts.render(Template.HELP), "help"
                )
            self._print(f"sms    > {mask(phone_number)} [help] platform HELP reply")

    # Views ------------------------------------------------------------------------------

    def messages(self, phone_number: str) -> list[SimulatedMessage]:
        with self._lock:
            return list(self._conversations.get(phone_number, ()))

    def phones(self) -> list[dict[str, Any]]:
        """Every number with a conversation, the most recently active first."""
        with self._lock:
            rows = [
                {
                    "phoneNumber": number,
                    "messageCount": len(messages),
                    "lastAt": messages[-1].at if messages else None,
                    "optedOut": number in self._opted_out,
                }
                for number, messages in self._conversations.items()
            ]
        return sorted(rows, key=lambda row: row["lastAt"] or "", reverse=True)

    def is_opted_out(self, phone_number: str) -> bool:
        with self._lock:
            return phone_number in self._opted_out

    def _record(self, phone_number: str, direction: str, body: str, kind: str) -> SimulatedMessage:
        message = SimulatedMessage(
            direction=direction,
            body=body,
            at=utc_iso(self._clock()),
            message_id=str(uuid.uuid4()),
            kind=kind,
        )
        self._conversations.setdefault(phone_number, []).append(message)
        return message


class SimulatedLookup:
    """The offline lookup (``numberLookup=offline``), except that ``LANDLINE_NUMBER`` is a
    landline, as a carrier lookup would report it."""

    def __init__(self) -> None:
        self._offline = OfflineLookup()

    def lookup(self, phone_number: str) -> NumberFacts:
        facts = self._offline.lookup(phone_number)
        if phone_number == LANDLINE_NUMBER:
            return NumberFacts(
                number_type=LANDLINE, carrier="Simulated landline", timezone=facts.timezone
            )
        return facts
