"""A phone simulator in place of End User Messaging SMS.

It answers the functions' real End User Messaging client (``attach``): SendTextMessage,
PutOptedOutNumber and DeleteOptedOutNumber requests are built, serialised and signed by
botocore as for AWS, then answered here, errors included (a ``ThrottlingException`` when
the simulated number is sent more than ``mps`` message parts in a second, a
``ConflictException`` for a number on the opt-out list), so the functions' own adapter
reads every answer. It keeps every conversation per phone number, with each outbound
message's state (queued, sent, delivered, failed, not sent), publishes a delivery event
for each message it accepts, and behaves like the platform where the platform answers on
its own: the phone number's own STOP keyword, as the whole message, puts the number on the
opt-out list and gets the STOP reply; HELP, as the whole message, gets the HELP reply. Any
other wording ("please stop", "Help me") is the inbound function's to answer.
"""

from __future__ import annotations

import collections
import io
import json
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from optin.domain.language.keywords import (
    PLATFORM_HELP_KEYWORDS,
    PLATFORM_OPT_OUT_KEYWORDS,
    is_exact_keyword,
)
from optin.domain.language.messages import Template
from optin.domain.sending.outbound import OutboundMessage
from optin.domain.sending.parts import count_parts
from optin.domain.subscribers.phone import (
    LANDLINE,
    NumberFacts,
    OfflineLookup,
    mask,
    mask_in_text,
)
from optin.settings import Settings

# AWS's SMS simulator destination whose messages fail: accepted, then reported undelivered.
FAILURE_NUMBER = "+14254147167"
FAILURE_EVENT = "TEXT_UNREACHABLE"
# Offline metadata calls every US and Canadian number "fixed line or mobile"; a carrier
# lookup knows better. This number plays a landline so NOT_A_MOBILE_NUMBER can be tried.
LANDLINE_NUMBER = "+12015550000"
# The platform accepts DeleteOptedOutNumber once per number per 30 days.
OPT_OUT_REMOVAL_INTERVAL = timedelta(days=30)
# Message parts per second the simulated number accepts (SIMULATOR_MPS).
DEFAULT_MPS = 20
ONE_SECOND = timedelta(seconds=1)

Printer = Callable[[str], None]
# Called with each delivery event document, as the configuration set would publish it.
EventSink = Callable[[dict[str, Any]], None]


def utc_iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Status:
    """Where an outbound message is, as the simulator page shows it."""

    QUEUED = "queued"  # in the send queue, not sent yet
    SENT = "sent"  # accepted by the (simulated) platform
    DELIVERED = "delivered"
    FAILED = "failed"  # accepted, then reported undelivered
    NOT_SENT = "not sent"  # the sender settled it without sending (opted out, superseded...)


@dataclass
class SimulatedMessage:
    direction: str  # "outbound" (to the phone) or "inbound" (from the phone)
    body: str
    at: datetime  # typed on the phone, queued, or sent (once it is)
    message_id: str
    kind: str = ""  # what the service sent (confirmation, welcome...) or the platform's reply
    status: str = ""  # outbound only, see Status
    key: str = ""  # the queued message's key (not shown)

    @property
    def parts(self) -> int:
        return count_parts(self.body).count

    def as_json(self, phone_number: str | None = None) -> dict[str, Any]:
        document: dict[str, Any] = {
            "direction": self.direction,
            "body": self.body,
            "at": utc_iso(self.at),
            "messageId": self.message_id,
            "kind": self.kind,
            "status": self.status,
            "parts": self.parts,
        }
        if phone_number is not None:
            document = {"phoneNumber": phone_number, **document}
        return document


class SimulatedRefusal(Exception):
    """An error answer of the platform: its code, HTTP status and modeled fields."""

    def __init__(self, code: str, status: int, message: str, **fields: str) -> None:
        super().__init__(message)
        self.code, self.status, self.fields = code, status, fields


class PhoneSimulator:
    """Every SMS our service queues and sends, and every reply a person types, per phone."""

    def __init__(
        self,
        settings: Settings,
        *,
        printer: Printer = print,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        mps: int = DEFAULT_MPS,
        events: EventSink | None = None,
        delivery_delay: timedelta = timedelta(milliseconds=200),
    ) -> None:
        self._settings = settings
        self._print = printer
        self._clock = clock
        self.mps = mps
        self._events = events
        self._delivery_delay = delivery_delay  # from the send to the carrier's report
        self._lock = threading.Lock()
        self._conversations: dict[str, list[SimulatedMessage]] = {}
        self._by_key: dict[str, SimulatedMessage] = {}
        self._by_id: dict[str, tuple[str, SimulatedMessage]] = {}
        self._recent: collections.deque[tuple[datetime, int]] = collections.deque()
        self._opted_out: set[str] = set()
        self._opt_out_removed_at: dict[str, datetime] = {}
        self.throttled = 0  # SendTextMessage requests answered ThrottlingException

    # What the service queues -------------------------------------------------------------

    def queued(self, message: OutboundMessage) -> None:
        """A message put on the send queue: shown as queued until it is sent (once per key)."""
        with self._lock:
            if message.key in self._by_key:
                return
            entry = self._record(
                message.phone_number, "outbound", message.body, message.kind, Status.QUEUED
            )
            entry.key = message.key
            self._by_key[message.key] = entry

    def not_sent(self, key: str, why: str) -> None:
        """The sender settled a queued message without sending it."""
        with self._lock:
            entry = self._by_key.get(key)
            if entry is None or entry.status != Status.QUEUED:
                return
            entry.status = Status.NOT_SENT
        self._print(f"sms    - [{entry.kind}] not sent: {why}")

    def waiting(self, key: str) -> bool:
        with self._lock:
            entry = self._by_key.get(key)
            return entry is not None and entry.status == Status.QUEUED

    # The platform's API ----------------------------------------------------------------

    def send_text_message(self, params: dict[str, Any]) -> str:
        """SendTextMessage: the message id, or a SimulatedRefusal."""
        number = str(params.get("DestinationPhoneNumber", ""))
        body = str(params.get("MessageBody", ""))
        context = params.get("Context") or {}
        kind, key = str(context.get("kind", "")), str(context.get("key", ""))
        parts = count_parts(body).count
        with self._lock:
            now = self._clock()
            if number in self._opted_out:
                self._print(f"sms    x {mask(number)} refused: on the opt-out list ({kind})")
                raise SimulatedRefusal(
                    "ConflictException",
                    400,
                    "The destination phone number is opted out.",
                    Reason="DESTINATION_PHONE_NUMBER_OPTED_OUT",
                    ResourceType="opt-out-list",
                    ResourceId=self._settings.opt_out_list_name or "default",
                )
            while self._recent and self._recent[0][0] <= now - ONE_SECOND:
                self._recent.popleft()
            in_window = sum(count for _, count in self._recent)
            if in_window + parts > max(self.mps, parts):
                self.throttled += 1
                self._print(
                    f"sms    ~ {mask(number)} [{kind}] throttled: over {self.mps} parts a second"
                )
                raise SimulatedRefusal(
                    "ThrottlingException", 400, "Rate exceeded for the origination identity."
                )
            self._recent.append((now, parts))
            entry = self._by_key.get(key) if key else None
            if entry is None:
                entry = self._record(number, "outbound", body, kind, Status.SENT)
                entry.key = key
            # A broadcast is queued with its placeholders: the phone shows what it received.
            entry.status, entry.at, entry.body = Status.SENT, now, body
            self._by_id[entry.message_id] = (number, entry)
        self._print(f"sms    > {mask(number)} [{kind}] {mask_in_text(body)}")
        self._publish(number, entry, parts, now)
        return entry.message_id

    def remove_opt_out(self, phone_number: str) -> bool:
        """DeleteOptedOutNumber: True when the number is off the list (or was not on it)."""
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
        """PutOptedOutNumber: the service lists a number that opted out in its own words."""
        with self._lock:
            already = phone_number in self._opted_out
            self._opted_out.add(phone_number)
        if not already:
            self._print(f"optout + {mask(phone_number)} added to the opt-out list by the service")
        return True

    def attach(self, client: Any) -> Any:
        """Answer ``client``'s End User Messaging requests here (botocore's before-send)."""
        client.meta.events.register("before-send.pinpoint-sms-voice-v2", self._answer)
        return client

    def _answer(self, request: Any, **_kwargs: Any) -> Any:
        from botocore.awsrequest import AWSResponse

        target = request.headers.get("X-Amz-Target", b"")
        operation = (target.decode() if isinstance(target, bytes) else target).rsplit(".", 1)[-1]
        params = json.loads(request.body or b"{}")
        try:
            if operation == "SendTextMessage":
                status, body = 200, {"MessageId": self.send_text_message(params)}
            elif operation == "PutOptedOutNumber":
                self.add_opt_out(params["OptedOutNumber"])
                status, body = 200, {"OptedOutNumber": params["OptedOutNumber"]}
            elif operation == "DeleteOptedOutNumber":
                number = params["OptedOutNumber"]
                if not self.is_opted_out(number):
                    raise SimulatedRefusal("ResourceNotFoundException", 400, "Not opted out.")
                if not self.remove_opt_out(number):
                    raise SimulatedRefusal(
                        "ValidationException", 400, "Removed less than 30 days ago."
                    )
                status, body = 200, {"OptedOutNumber": number}
            else:
                raise SimulatedRefusal("ValidationException", 400, f"{operation} not simulated")
        except SimulatedRefusal as refusal:
            status = refusal.status
            body = {"__type": refusal.code, "Message": str(refusal), **refusal.fields}
        headers = {
            "x-amzn-RequestId": str(uuid.uuid4()),
            "Content-Type": "application/x-amz-json-1.0",
        }
        return AWSResponse(request.url, status, headers, RawBody(json.dumps(body).encode()))

    def _publish(self, number: str, entry: SimulatedMessage, parts: int, now: datetime) -> None:
        """The configuration set's delivery event for an accepted message."""
        event_type = FAILURE_EVENT if number == FAILURE_NUMBER else "TEXT_DELIVERED"
        if self._events is None:
            self.settle_delivery(entry.message_id, event_type)
            return
        from local.events import delivery_event

        self._events(
            delivery_event(
                event_type,
                entry.message_id,
                number,
                context={"key": entry.key, "kind": entry.kind} if entry.key else {},
                origination_number=self._settings.origination_number or "+18005550100",
                parts=parts,
                at=now + self._delivery_delay,
            )
        )

    def settle_delivery(self, message_id: str, event_type: str) -> None:
        """The message's delivery event reached the ledger: delivered, or failed."""
        with self._lock:
            found = self._by_id.get(message_id)
            if found is not None and found[1].status == Status.SENT:
                found[1].status = (
                    Status.DELIVERED if event_type == "TEXT_DELIVERED" else (Status.FAILED)
                )

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
                    phone_number,
                    "outbound",
                    self._settings.texts.render(Template.STOP),
                    "stop",
                    Status.DELIVERED,
                )
            self._print(f"optout + {mask(phone_number)} added to the opt-out list; STOP reply sent")
        elif is_exact_keyword(body, PLATFORM_HELP_KEYWORDS):
            with self._lock:
                self._record(
                    phone_number,
                    "outbound",
                    self._settings.texts.render(Template.HELP),
                    "help",
                    Status.DELIVERED,
                )
            self._print(f"sms    > {mask(phone_number)} [help] platform HELP reply")

    # Views ------------------------------------------------------------------------------

    def messages(self, phone_number: str) -> list[SimulatedMessage]:
        with self._lock:
            return list(self._conversations.get(phone_number, ()))

    def all_messages(self) -> list[dict[str, Any]]:
        """Every message of every phone, oldest first, each with its number."""
        with self._lock:
            rows = [
                (message.at, message.as_json(number))
                for number, messages in self._conversations.items()
                for message in messages
            ]
        return [document for _, document in sorted(rows, key=lambda row: row[0])]

    def phones(self) -> list[dict[str, Any]]:
        """Every number with a conversation, the most recently active first."""
        with self._lock:
            rows = [
                {
                    "phoneNumber": number,
                    "messageCount": len(messages),
                    "lastAt": utc_iso(max(m.at for m in messages)) if messages else None,
                    "optedOut": number in self._opted_out,
                }
                for number, messages in self._conversations.items()
            ]
        return sorted(rows, key=lambda row: row["lastAt"] or "", reverse=True)

    def is_opted_out(self, phone_number: str) -> bool:
        with self._lock:
            return phone_number in self._opted_out

    def _record(
        self, phone_number: str, direction: str, body: str, kind: str, status: str = ""
    ) -> SimulatedMessage:
        message = SimulatedMessage(
            direction=direction,
            body=body,
            at=self._clock(),
            message_id=str(uuid.uuid4()),
            kind=kind,
            status=status,
        )
        self._conversations.setdefault(phone_number, []).append(message)
        return message


class RawBody(io.BytesIO):
    def stream(self, **_kwargs: Any) -> Iterator[bytes]:
        chunk = self.read()
        while chunk:
            yield chunk
            chunk = self.read()


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
