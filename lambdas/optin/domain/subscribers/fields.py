"""The subscriber's own fields, declared once: what the form sends, how each is checked, where
it is kept and who sees it.

Validation (``registration.py``), the registration's ledger evidence and the profile
(``lifecycle.py``), erasure (``erasure.py``), the operator view (``operator/views.py``), the
table's items (``adapters/dynamodb``), the API's request model (``infra/api.py``) and the web
form's ``config.json`` (``formconfig.py``) all read this table. Adding a field is a row here,
an attribute of ``RegistrationRequest`` and ``Subscriber``, and the form's markup.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class FieldKind(enum.StrEnum):
    NAME = "name"  # text with at least one letter
    TEXT = "text"


@dataclass(frozen=True)
class SubscriberField:
    key: str  # the name in the API, the form, the table's items and the documents
    attribute: str  # the attribute of RegistrationRequest and Subscriber
    label: str  # how an error message names it
    kind: FieldKind
    max_length: int
    required: bool
    evidence_key: str  # its name in the REGISTERED event's details (the export shows it)
    erased: bool  # erasure removes it from the ledger (the profile goes whole)
    operator_view: bool  # in the subscriber representation (the operator API, the CLI)
    on_form: bool  # an input of the web form (else the form fills it itself)


MAX_NAME_LENGTH = 100
MAX_SOURCE_LENGTH = 200

FIELDS: tuple[SubscriberField, ...] = (
    SubscriberField(
        key="firstName",
        attribute="first_name",
        label="First name",
        kind=FieldKind.NAME,
        max_length=MAX_NAME_LENGTH,
        required=True,
        evidence_key="firstName",
        erased=True,
        operator_view=True,
        on_form=True,
    ),
    SubscriberField(
        key="lastName",
        attribute="last_name",
        label="Last name",
        kind=FieldKind.NAME,
        max_length=MAX_NAME_LENGTH,
        required=True,
        evidence_key="lastName",
        erased=True,
        operator_view=True,
        on_form=True,
    ),
    SubscriberField(
        key="source",
        attribute="source",
        label="source",
        kind=FieldKind.TEXT,
        max_length=MAX_SOURCE_LENGTH,
        required=False,
        evidence_key="page",
        erased=True,
        operator_view=True,
        on_form=False,  # the page the form is on
    ),
)

# Ledger details of the registration evidence that erasure keeps.
KEPT_EVIDENCE = frozenset(field.evidence_key for field in FIELDS if not field.erased)
