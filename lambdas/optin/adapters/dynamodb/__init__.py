"""The store on one DynamoDB table (layout in ``schema``), one module per part of it.

``codec`` reads and writes the table's items, ``base`` holds the calls and transactions
every part shares; ``DynamoSubscriberStore`` composes the parts into the domain's
``Store``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from optin.adapters.dynamodb.base import dynamodb_client
from optin.adapters.dynamodb.broadcasts import BroadcastTable
from optin.adapters.dynamodb.erasure import ErasureTable
from optin.adapters.dynamodb.operator import OperatorTable
from optin.adapters.dynamodb.sending import DynamoRateBucket, SendTable

__all__ = ["DynamoRateBucket", "DynamoSubscriberStore", "dynamodb_client"]


class DynamoSubscriberStore(SendTable, BroadcastTable, OperatorTable, ErasureTable):
    """``erasure_key`` gives the key of the hash an erased number is kept under; it is
    called once, when first needed (None: no erasure happens here, none is looked up)."""

    def __init__(
        self,
        table_name: str,
        client: Any | None = None,
        *,
        erasure_key: Callable[[], bytes] | None = None,
    ) -> None:
        self.table_name = table_name
        self._client = client or dynamodb_client()
        self._kept_disclosures = set()
        self._erasure_key_source = erasure_key
        self._erasure_key = None
        self._seen = {}
