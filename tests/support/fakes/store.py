"""The whole in-memory store (``Store``), composed as ``DynamoSubscriberStore`` is."""

from __future__ import annotations

import os
import threading
from collections import defaultdict
from datetime import datetime

from optin.domain.broadcasts.model import Broadcast
from optin.domain.language.messages import Template
from optin.domain.model import ConsentEvent, Dimension, ErasedNumber, Subscriber
from optin.domain.ports import InboundMarker, LimitCounter
from optin.domain.sending.outbound import SendRecord
from tests.support.fakes.erasure import MemoryErasure
from tests.support.fakes.operator import MemoryOperator
from tests.support.fakes.sending import MemorySends


class MemoryStore(MemorySends, MemoryOperator, MemoryErasure):
    """Store with the same conditional-write semantics as the
    DynamoDB adapter."""

    def __init__(self) -> None:
        self.subscribers: dict[str, Subscriber] = {}
        self.ledger: dict[str, list[ConsentEvent]] = defaultdict(list)
        self.markers: dict[str, InboundMarker] = {}
        self.answers: dict[tuple[str, Template], tuple[datetime, str]] = {}
        self.disclosures: dict[str, str] = {}
        self.send_records: dict[str, SendRecord] = {}
        self.broadcasts: dict[str, Broadcast] = {}
        self.event_ids: set[str] = set()
        self.counters: dict[LimitCounter, int] = defaultdict(int)
        self.calls: list[str] = []
        self._lock = threading.Lock()
        # What the operator API reads: counters, erased numbers, the ledger's order.
        self.segments: dict[tuple[Dimension, str], dict[str, int]] = {}
        self.erased: dict[str, ErasedNumber] = {}
        self.erased_ledger: dict[str, list[ConsentEvent]] = defaultdict(list)
        self._erasure_key = os.urandom(32)
        self._order: list[tuple[str, str]] = []  # ("number" or "erased", key) as first written
