"""Every text a person sees: SMS bodies, the form's consent disclosure, API messages.

Texts are configuration (``messageTemplates``) with compliant defaults. A template may use
``{brand}``, ``{program}``, ``{frequency}``, ``{terms}``, ``{privacy}``, ``{help}``,
``{keyword}``, ``{number}`` and ``{form}``; never a form field, so no name is ever echoed into
an SMS.
"""

from __future__ import annotations

import enum
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from string import Formatter


class Template(enum.StrEnum):
    """Every text the service renders; the values are the ``messageTemplates`` keys, the
    ``kind`` of a sent SMS, and the owed SMS an inbound marker stores."""

    CONFIRMATION = "confirmation"
    WELCOME = "welcome"
    EXPIRED = "expired"
    HELP = "help"
    STOP = "stop"
    SIGNUP = "signup"
    DISCLOSURE = "disclosure"


DEFAULT_TEMPLATES: Mapping[Template, str] = {
    Template.CONFIRMATION: (
        "{brand}: {program}. Reply {keyword} to confirm. {frequency}. "
        "Msg & data rates may apply. Reply HELP for help, STOP to cancel. Terms: {terms}"
    ),
    Template.WELCOME: (
        "{brand}: you're subscribed to {program}. {frequency}. "
        "Msg & data rates may apply. Reply HELP for help, STOP to cancel."
    ),
    Template.EXPIRED: (
        "{brand}: your request expired. Please register again on our form. "
        "Reply HELP for help, STOP to cancel."
    ),
    Template.HELP: (
        "{brand} {program}: help at {help}. {frequency}. "
        "Msg & data rates may apply. Reply STOP to cancel."
    ),
    Template.STOP: (
        "{brand}: you're unsubscribed and will get no more messages. Reply START to resubscribe."
    ),
    Template.SIGNUP: "{brand}: to get {program} by text, sign up at {form}",
    Template.DISCLOSURE: (
        "By checking this box I agree to receive {program} text messages from {brand} "
        "at the number above. {frequency}. Msg & data rates may apply. "
        "Reply HELP for help, STOP to cancel. Consent is not a condition of purchase. "
        "Terms: {terms} Privacy: {privacy}"
    ),
}

# What each SMS must keep for carrier compliance when an operator overrides it.
REQUIRED_PARTS: Mapping[Template, tuple[str, ...]] = {
    Template.CONFIRMATION: ("{brand}", "{keyword}", "HELP", "STOP", "{terms}", "rates may apply"),
    Template.WELCOME: ("{brand}", "HELP", "STOP"),
    Template.EXPIRED: ("{brand}",),
    Template.HELP: ("{brand}", "{help}", "STOP"),
    Template.STOP: ("{brand}", "START"),
    Template.SIGNUP: ("{brand}", "{form}"),
    Template.DISCLOSURE: ("{brand}", "{program}", "{frequency}", "{terms}", "{privacy}", "STOP"),
}
_TEMPLATE_NAMES = frozenset(template.value for template in Template)
_FIELDS = frozenset(
    ("brand", "program", "frequency", "terms", "privacy", "help", "keyword", "number", "form")
)


@dataclass(frozen=True)
class Branding:
    brand: str
    program: str
    frequency: str
    terms: str
    privacy: str
    help: str
    keyword: str = "YES"
    number: str = ""
    form: str = ""  # where the form is, for the "sign up at" answer


class TemplateError(ValueError):
    """A template override that is unknown, malformed or drops a compliance element."""


def check_templates(overrides: Mapping[str, str]) -> None:
    """Refuse an override that is unknown, malformed or drops a compliance element."""
    for name, template in overrides.items():
        if name not in _TEMPLATE_NAMES:
            raise TemplateError(f"{name!r}: not one of {', '.join(Template)}")
        try:
            fields = {field for _, field, _, _ in Formatter().parse(template) if field is not None}
        except ValueError as error:
            raise TemplateError(f"{name}: {error}") from None
        unknown = fields - _FIELDS
        if unknown:
            raise TemplateError(f"{name}: unknown field {sorted(unknown)[0]}")
        missing = [part for part in REQUIRED_PARTS[Template(name)] if part not in template]
        if missing:
            raise TemplateError(f"{name}: must contain {missing[0]!r}")


class Texts:
    def __init__(self, branding: Branding, overrides: Mapping[str, str] | None = None) -> None:
        check_templates(overrides or {})
        self._branding = branding
        self._templates: dict[Template, str] = {
            **DEFAULT_TEMPLATES,
            **{Template(name): text for name, text in (overrides or {}).items()},
        }

    def render(self, template: Template) -> str:
        b = self._branding
        text = self._templates[template].format(
            brand=b.brand,
            program=b.program,
            frequency=b.frequency.rstrip("."),
            terms=b.terms,
            privacy=b.privacy,
            help=b.help,
            keyword=b.keyword,
            number=b.number or "our number",
            form=b.form or "our website",
        )
        return " ".join(text.split())

    @property
    def brand(self) -> str:
        return self._branding.brand

    @property
    def disclosure(self) -> str:
        return self.render(Template.DISCLOSURE)

    @property
    def disclosure_version(self) -> str:
        return disclosure_version(self.disclosure)

    def accepted_message(self) -> str:
        """The one 202 message, the same whatever the number's state."""
        keyword = self._branding.keyword
        where = f"to {self._branding.number}" if self._branding.number else "to our number"
        return (
            f"Thanks! Check your phone: reply {keyword} to the text message we sent to confirm. "
            f"If you once replied STOP to us, text {keyword} {where} to subscribe again."
        )


def disclosure_version(text: str) -> str:
    """A short, stable id of a disclosure text: what the person saw, by content."""
    return "d-" + hashlib.sha256(text.encode()).hexdigest()[:12]
