"""The fake's broadcasts (``BroadcastStore``), as ``optin.adapters.dynamodb.broadcasts``
keeps them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from optin.domain.broadcasts.model import Broadcast
from optin.domain.ports import ConcurrentUpdate


class MemoryBroadcasts:
    """BroadcastStore on a dictionary; the state lives in ``MemoryStore``."""

    def broadcast(self, broadcast_id: str) -> Broadcast | None:
        self.calls.append("broadcast")
        return self.broadcasts.get(broadcast_id)

    def create_broadcast(self, broadcast: Broadcast) -> Broadcast:
        with self._lock:
            if broadcast.broadcast_id in self.broadcasts:
                raise ConcurrentUpdate(broadcast.broadcast_id)
            saved = replace(broadcast, version=1)
            self.broadcasts[broadcast.broadcast_id] = saved
            return saved

    def save_broadcast(
        self, broadcast: Broadcast, *, expected_version: int, add: Mapping[str, int] | None = None
    ) -> Broadcast:
        with self._lock:
            stored = self.broadcasts.get(broadcast.broadcast_id)
            if stored is None or stored.version != expected_version:
                raise ConcurrentUpdate(broadcast.broadcast_id)
            saved = replace(broadcast, counts=dict(stored.counts), version=expected_version + 1)
            self.broadcasts[broadcast.broadcast_id] = saved
            self._tally(broadcast.broadcast_id, add or {})
            return self.broadcasts[broadcast.broadcast_id]

    def tally_broadcast(self, broadcast_id: str, add: Mapping[str, int]) -> None:
        with self._lock:
            self._tally(broadcast_id, add)

    def _tally(self, broadcast_id: str, add: Mapping[str, int]) -> None:
        stored = self.broadcasts.get(broadcast_id)
        if stored is None:
            return
        counts = dict(stored.counts)
        for name, amount in add.items():
            counts[name] = counts.get(name, 0) + amount
        self.broadcasts[broadcast_id] = replace(stored, counts=counts)
