"""The subscriber's fields are declared once (domain/subscribers/fields.py): the checks, the
profile, the operator view, erasure, the API's documents and the web form all follow the
declaration, so a field added there cannot be forgotten by one of them."""

from __future__ import annotations

import re
from dataclasses import fields as dataclass_fields
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from optin.domain.errors import InvalidField, MissingField
from optin.domain.model import ConsentEvent, EventType, Status, Subscriber
from optin.domain.operator.views import representation
from optin.domain.subscribers.erasure import scrub
from optin.domain.subscribers.fields import FIELDS, FieldKind
from optin.domain.subscribers.registration import RegistrationRequest, parse_registration
from optin.formconfig import form_config
from optin.settings import Settings
from tests.support.fakes import BASE_ENV

ROOT = Path(__file__).resolve().parents[2]
VALID = {"phoneNumber": "+12065550142", "firstName": "Ana", "lastName": "Silva", "consent": True}


def parse(document):
    return parse_registration(
        document, default_country="US", allowed_countries=("US", "CA"), require_consent=True
    )


def test_every_field_is_an_attribute_of_the_request_and_of_the_subscriber():
    request = {field.name for field in dataclass_fields(RegistrationRequest)}
    subscriber = {field.name for field in dataclass_fields(Subscriber)}
    for field in FIELDS:
        assert field.attribute in request
        assert field.attribute in subscriber


@pytest.mark.parametrize("field", FIELDS, ids=lambda field: field.key)
def test_each_field_is_checked_against_its_declared_length(field):
    at_limit = "a" * field.max_length
    assert getattr(parse({**VALID, field.key: at_limit}), field.attribute) == at_limit
    with pytest.raises(InvalidField) as refused:
        parse({**VALID, field.key: "a" * (field.max_length + 1)})
    assert refused.value.field == field.key


@pytest.mark.parametrize("field", FIELDS, ids=lambda field: field.key)
def test_a_required_field_missing_is_named_and_an_optional_one_is_empty(field):
    document = {key: value for key, value in VALID.items() if key != field.key}
    if field.required:
        with pytest.raises(MissingField) as missing:
            parse(document)
        assert missing.value.field == field.key
    else:
        assert getattr(parse(document), field.attribute) == ""


@pytest.mark.parametrize(
    "field", [f for f in FIELDS if f.kind is FieldKind.NAME], ids=lambda field: field.key
)
def test_a_name_field_needs_a_letter(field):
    with pytest.raises(InvalidField):
        parse({**VALID, field.key: "1234"})


def test_the_operator_view_shows_the_fields_declared_for_it():
    subscriber = Subscriber(
        phone_number="+12065550142",
        status=Status.CONFIRMED,
        created_at=datetime(2026, 12, 1, tzinfo=UTC),
        updated_at=datetime(2026, 12, 1, tzinfo=UTC),
        first_name="Ana",
        last_name="Silva",
        source="/signup",
    )
    document = representation(subscriber)
    for field in FIELDS:
        assert (field.key in document) is field.operator_view
        if field.operator_view:
            assert document[field.key] == getattr(subscriber, field.attribute)


def test_erasure_removes_the_evidence_of_every_field_declared_erased():
    event = ConsentEvent(
        type=EventType.REGISTERED,
        at=datetime(2026, 12, 1, tzinfo=UTC),
        source="/signup",
        details={field.evidence_key: "x" for field in FIELDS} | {"toStatus": "PENDING"},
    )
    kept = scrub(event).details
    for field in FIELDS:
        assert (field.evidence_key in kept) is not field.erased
    assert kept["toStatus"] == "PENDING"


def test_the_form_configuration_declares_every_field():
    config = form_config(Settings.from_env(BASE_ENV), "/v1/register")
    assert [entry["key"] for entry in config["fields"]] == [field.key for field in FIELDS]
    for entry, field in zip(config["fields"], FIELDS, strict=True):
        assert entry["maxLength"] == field.max_length
        assert entry["required"] is field.required
        assert entry["onForm"] is field.on_form
        assert entry["kind"] == field.kind.value


def test_the_form_markup_has_an_input_for_each_form_field_with_its_limit():
    markup = (ROOT / "web" / "index.html").read_text()
    for field in FIELDS:
        tag = re.search(rf'<input id="{field.key}"[^>]*>', markup, re.S)
        assert (tag is not None) is field.on_form, field.key
        if tag:
            assert f'maxlength="{field.max_length}"' in tag.group(0)
            assert (" required" in tag.group(0)) is field.required


def test_the_openapi_document_describes_every_field_with_its_limit():
    document = yaml.safe_load((ROOT / "docs" / "openapi.yaml").read_text())
    schema = document["components"]["schemas"]["RegistrationRequest"]
    for field in FIELDS:
        assert schema["properties"][field.key]["maxLength"] == field.max_length
        assert (field.key in schema.get("required", [])) is field.required
