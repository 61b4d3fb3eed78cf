"""The fake's erasure, as ``optin.adapters.dynamodb.erasure`` does it."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from dataclasses import replace

from optin.domain.model import ConsentEvent, ErasedNumber
from optin.domain.ports import ConcurrentUpdate
from optin.domain.sending.outbound import SendState
from tests.support.fakes.subscribers import MemorySubscribers


class MemoryErasure(MemorySubscribers):
    """Erasure on dictionaries: the ledger moves under the number's keyed hash."""

    def number_hash(self, phone_number: str) -> str:
        return hmac.new(self._erasure_key, phone_number.encode(), hashlib.sha256).hexdigest()

    def erased_number(self, phone_number: str) -> ErasedNumber | None:
        self.calls.append("erased_number")
        return self.erased.get(self.number_hash(phone_number))

    def erase(
        self,
        phone_number: str,
        *,
        expected_version: int | None,
        record: ErasedNumber,
        event: ConsentEvent,
        scrub: Callable[[ConsentEvent], ConsentEvent],
    ) -> None:
        self.calls.append("erase")
        number_hash = self.number_hash(phone_number)
        with self._lock:
            current = self.subscribers.get(phone_number)
            if (current.version if current else 0) != (expected_version or 0):
                raise ConcurrentUpdate()
            if current is not None:
                del self.subscribers[phone_number]
                self._count(current, -1)
            moved = [scrub(e) for e in self.ledger.pop(phone_number, []) if e.at <= event.at]
            if number_hash not in self.erased_ledger:
                self._order.append(("erased", number_hash))
            self.erased_ledger[number_hash] = sorted(
                [*self.erased_ledger[number_hash], *moved, event], key=lambda e: e.at
            )
            self.erased[number_hash] = record
            for message_id, marker in list(self.markers.items()):
                if marker.phone_number == phone_number:
                    self.markers[message_id] = replace(
                        marker, phone_number=f"ERASED#{number_hash}", owed_sms=None
                    )
            for key, sent in list(self.send_records.items()):
                if sent.phone_number == phone_number:
                    self.send_records[key] = replace(
                        sent,
                        phone_number=f"ERASED#{number_hash}",
                        state=SendState.ERASED,
                        version=sent.version + 1,
                    )
