import base64
import json

import pytest

from optin.domain import errors
from optin.domain.errors import RegistrationError
from optin.domain.subscribers.registration import parse_registration
from optin.handlers.http import json_document

VALID = {
    "phoneNumber": "+12065550142",
    "firstName": "Carlos",
    "lastName": "Salazar",
    "consent": True,
}


def parse(
    document=None,
    *,
    raw=None,
    content_type="application/json",
    require_consent=True,
    is_base64=False,
):
    """The envelope as the registration handler decodes it, then the fields."""
    body = raw if raw is not None else json.dumps(document)
    headers = {} if content_type is None else {"Content-Type": content_type}
    event = {"body": body, "headers": headers, "isBase64Encoded": is_base64}
    return parse_registration(
        json_document(event),
        default_country="US",
        allowed_countries=("US", "CA"),
        require_consent=require_consent,
    )


def refused(*args, **kwargs) -> RegistrationError:
    with pytest.raises(RegistrationError) as error:
        parse(*args, **kwargs)
    return error.value


def test_valid_request():
    request = parse({**VALID, "source": " /signup ", "optTimestamp": "Tue Feb 19 2019"})
    assert (request.phone_number, request.first_name, request.source) == (
        "+12065550142",
        "Carlos",
        "/signup",
    )
    assert request.country == "US"
    assert request.consent is True


def test_seed_field_name_is_an_alias():
    document = {"destinationNumber": "2065550142", "firstName": "Carlos", "lastName": "Salazar"}
    assert parse(document, require_consent=False).phone_number == "2065550142"


@pytest.mark.parametrize(
    ("document", "error", "field"),
    [
        ({**VALID, "phoneNumber": None}, errors.MissingField, "phoneNumber"),
        ({k: v for k, v in VALID.items() if k != "firstName"}, errors.MissingField, "firstName"),
        ({**VALID, "lastName": "   "}, errors.MissingField, "lastName"),
        ({**VALID, "firstName": "x" * 101}, errors.InvalidField, "firstName"),
        ({**VALID, "firstName": "Car\u0000los"}, errors.InvalidField, "firstName"),
        ({**VALID, "lastName": "Sal\u202eazar"}, errors.InvalidField, "lastName"),
        ({**VALID, "lastName": 42}, errors.InvalidField, "lastName"),
        ({**VALID, "phoneNumber": 2065550142}, errors.InvalidField, "phoneNumber"),
        ({**VALID, "destinationNumber": "+14165550142"}, errors.InvalidField, "phoneNumber"),
        ({**VALID, "country": "USA"}, errors.InvalidField, "country"),
        ({**VALID, "country": "GB"}, errors.UnsupportedCountry, "country"),
        ({**VALID, "source": "x" * 201}, errors.InvalidField, "source"),
        ({**VALID, "consent": "yes"}, errors.InvalidField, "consent"),
        ({**VALID, "consent": False}, errors.ConsentRequired, "consent"),
        ({k: v for k, v in VALID.items() if k != "consent"}, errors.ConsentRequired, "consent"),
    ],
)
def test_field_errors(document, error, field):
    got = refused(document)
    assert (type(got), got.field) == (error, field)


def test_consent_optional_when_not_required():
    assert parse({**VALID, "consent": None}, require_consent=False).consent is False


@pytest.mark.parametrize("raw", ["{", "", "null", "[1]", '"text"', "\ud800"])
def test_invalid_json(raw):
    assert type(refused(raw=raw)) is errors.InvalidJson


def test_body_over_4_kib_is_too_large():
    error = refused({**VALID, "source": "x" * 5000})
    assert type(error) is errors.PayloadTooLarge


def test_4_kib_exactly_is_fine():
    document = {**VALID, "padding": ""}
    room = 4096 - len(json.dumps(document))
    assert parse({**VALID, "padding": "x" * room}).first_name == "Carlos"


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/x-www-form-urlencoded"])
def test_unsupported_media_type(content_type):
    error = refused(VALID, content_type=content_type)
    assert type(error) is errors.UnsupportedMediaType


def test_json_with_charset_is_json():
    assert parse(VALID, content_type="application/json; charset=utf-8").last_name == "Salazar"


def test_base64_body():
    raw = base64.b64encode(json.dumps(VALID).encode()).decode()
    assert parse(raw=raw, is_base64=True).first_name == "Carlos"
    assert type(refused(raw="%%%", is_base64=True)) is errors.InvalidJson


def test_client_disclosure_version_is_kept_only_when_well_formed():
    assert parse({**VALID, "disclosureVersion": "d-0123456789ab"}).form_disclosure_version
    assert parse({**VALID, "disclosureVersion": "<script>"}).form_disclosure_version == ""


# Names: at least one letter, nothing invisible ----------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "A\ud83d",  # cut inside an emoji: an unpaired surrogate
        "\ud83dA",
        "\u200b",  # zero-width space
        "\u3164",  # Hangul filler
        "\u2800",  # braille blank
        "\ufeff",  # byte order mark
        "\u200b\u3164\u2800",
        "Ana\u200bMaria",
        "\u200dAna",  # a joiner that joins nothing
        "Ana\u00ad",  # soft hyphen
        "Ana\ue000",  # private use
        "Ana\u0378",  # unassigned
        "Ana\u2028Maria",  # line separator
        "123",  # no letter
        "\u0301",  # a mark alone
        "-.'",
    ],
)
@pytest.mark.parametrize("field", ["firstName", "lastName"])
def test_a_name_without_a_visible_letter_or_with_invisible_characters_is_refused(name, field):
    error = refused({**VALID, field: name})
    assert (error.status, error.code, error.field) == (400, "INVALID_FIELD", field)


@pytest.mark.parametrize(
    "name",
    [
        "Zoë",
        "O'Brien",
        "Anne-Marie",
        "李",
        "Ｊｏｈｎ",
        "علی\u200cرضا",  # Persian: a non-joiner between two letters is part of the spelling
        "Ana 🌸",
        "Ñ",
    ],
)
def test_names_in_any_script_are_accepted(name):
    assert parse({**VALID, "firstName": name}).first_name == name


@pytest.mark.parametrize("page", ["/signup\ud83d", "/signup\u200b", "/sign\u2028up"])
def test_a_page_with_invisible_characters_is_refused(page):
    error = refused({**VALID, "source": page})
    assert (error.status, error.code, error.field) == (400, "INVALID_FIELD", "source")


# Body shapes -----------------------------------------------------------------------------


def test_a_body_that_is_not_a_string_is_invalid_json():
    event = {"body": dict(VALID), "headers": {"Content-Type": "application/json"}}
    with pytest.raises(RegistrationError) as error:
        json_document(event)
    assert (error.value.status, error.value.code) == (400, "INVALID_JSON")


def test_a_byte_order_mark_before_the_json_is_accepted():
    assert parse(raw="\ufeff" + json.dumps(VALID)).first_name == "Carlos"
    encoded = base64.b64encode(b"\xef\xbb\xbf" + json.dumps(VALID).encode()).decode()
    assert parse(raw=encoded, is_base64=True).first_name == "Carlos"


@pytest.mark.parametrize(
    "raw",
    [
        '{"n": ' + "9" * 4000 + "}",
        '{"n": 1e999999}',
        '{"n": ' + "[" * 1800 + "]" * 1800 + "}",
    ],
)
def test_huge_numbers_and_deep_nesting_are_refused_as_4xx(raw):
    assert 400 <= refused(raw=raw).status < 500


def test_a_huge_number_in_an_unknown_field_of_a_valid_form_is_ignored():
    raw = json.dumps(VALID)[:-1] + ', "n": ' + "9" * 3900 + "}"
    assert parse(raw=raw).first_name == "Carlos"
