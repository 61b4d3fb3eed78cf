"""The fake's operator reads (``OperatorStore``), as ``optin.adapters.dynamodb.operator``
answers them."""

from __future__ import annotations

from datetime import datetime

from optin.domain.model import Dimension, Status, Subscriber, SubscriberFilter
from optin.domain.ports import InvalidCursor, LedgerEntry, Page
from tests.support.fakes.subscribers import MemorySubscribers


class MemoryOperator(MemorySubscribers):
    """The operator API's and housekeeping's reads on dictionaries."""

    def list_subscribers(
        self, where: SubscriberFilter, *, limit: int, cursor: str | None
    ) -> Page[Subscriber]:
        order = {status: index for index, status in enumerate(Status)}
        matching = sorted(
            (
                s
                for s in list(self.subscribers.values())
                if (where.status is None or s.status is where.status)
                and (where.source is None or s.source == where.source)
                and (where.country is None or s.country == where.country)
            ),
            key=lambda s: (order[s.status], -s.updated_at.timestamp(), s.phone_number),
        )
        start = _offset(cursor)
        page = matching[start : start + limit]
        more = start + limit < len(matching)
        return Page(page, str(start + limit) if more else None)

    def segment_counts(self, dimension: Dimension) -> dict[str, dict[str, int]]:
        return {
            value: {status.value: counts.get(status.value, 0) for status in Status}
            for (counted, value), counts in sorted(self.segments.items(), key=lambda i: i[0][1])
            if counted is dimension and any(counts.values())
        }

    def ledger_entries(
        self, *, since: datetime | None, until: datetime | None, limit: int, cursor: str | None
    ) -> Page[LedgerEntry]:
        position, index = (int(part) for part in (cursor or "0:0").split(":"))
        entries: list[LedgerEntry] = []
        while position < len(self._order) and len(entries) < limit:
            kind, key = self._order[position]
            events = (self.ledger if kind == "number" else self.erased_ledger).get(key, [])
            while index < len(events) and len(entries) < limit:
                event = events[index]
                index += 1
                if (since is None or event.at >= since) and (until is None or event.at < until):
                    number, number_hash = (key, "") if kind == "number" else ("", key)
                    entries.append(LedgerEntry(number, number_hash, event, f"{position}:{index}"))
            if index >= len(events):
                position, index = position + 1, 0
        done = position >= len(self._order)
        return Page(
            entries,
            None if done else f"{position}:{index}",
            1.0 if done else position / len(self._order),
        )

    def stale(
        self, status: Status, before: datetime, *, limit: int, cursor: str | None
    ) -> Page[Subscriber]:
        after = tuple(cursor.split("|", 1)) if cursor else None
        candidates = sorted(
            (s.updated_at.isoformat(), s.phone_number)
            for s in list(self.subscribers.values())
            if s.status is status and s.updated_at < before
        )
        keys = [key for key in candidates if after is None or key > after][:limit]
        found = [self.subscribers[number] for _, number in keys]
        return Page(found, "|".join(keys[-1]) if len(keys) == limit else None)

    def count_older_profiles(self, *, limit: int) -> bool:
        return True


def _offset(cursor: str | None) -> int:
    if not cursor:
        return 0
    if not cursor.isdigit():
        raise InvalidCursor("not a cursor this store handed out")
    return int(cursor)
