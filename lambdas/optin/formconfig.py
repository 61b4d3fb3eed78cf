"""The web form's ``config.json``: API URL and the texts it shows, from the same settings
the functions use, so the disclosure the form shows is the one the server records."""

from __future__ import annotations

from typing import Any

from optin.domain.errors import ErrorCode
from optin.domain.subscribers.fields import FIELDS
from optin.settings import Settings


def form_config(settings: Settings, api_url: str) -> dict[str, Any]:
    texts = settings.texts
    return {
        "apiUrl": api_url,
        "brandName": settings.brand_name,
        "programDescription": settings.program_description,
        "messageFrequency": settings.message_frequency,
        "termsUrl": settings.terms_url,
        "privacyUrl": settings.privacy_url,
        "helpContact": settings.help_contact,
        "confirmKeyword": settings.primary_confirm_keyword,
        "originationNumber": settings.origination_number,
        "allowedCountries": list(settings.allowed_countries),
        "defaultCountry": settings.default_country,
        "requireConsentCheckbox": settings.require_consent_checkbox,
        "disclosure": texts.disclosure,
        "disclosureVersion": texts.disclosure_version,
        "fields": [
            {
                "key": field.key,
                "label": field.label,
                "kind": field.kind.value,
                "maxLength": field.max_length,
                "required": field.required,
                "onForm": field.on_form,
            }
            for field in FIELDS
        ],
        # The API's error codes, as the form names them (it has no copy of its own).
        "errorCodes": {code.name: code.value for code in ErrorCode},
    }
