"""The configurable rules of the service, as plain values the use cases receive.

``optin.settings`` builds them from the deployment's settings; the domain never reads
settings itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from optin.domain.broadcasts.quiet_hours import Window
from optin.domain.language.messages import Texts


@dataclass(frozen=True)
class Policy:
    """Time and volume limits of the confirmation flow. No field has a default: each one's
    default is written once, in ``optin.settings.SETTINGS``, which builds the policy."""

    window: timedelta  # how long a confirmation (or re-subscription) request stays open
    cooldown: timedelta  # between two confirmation SMS to one number
    daily_cap: int  # confirmation SMS to one number per UTC day
    confirmations_per_prefix_per_hour: int  # to the numbers of one prefix, per UTC hour
    daily_confirmation_budget: int  # to every number, per UTC day
    allow_voip: bool
    send_rate: int  # message parts per second the origination identity may send
    # A confirmation still queued this long after its registration is dropped.
    confirmation_max_delay: timedelta
    # Broadcasts: the most message parts a text may take (worst case of the names), the
    # characters a name is cut to in one, and the least time between two broadcasts to one
    # subscriber.
    max_broadcast_parts: int
    broadcast_name_characters: int
    broadcast_min_interval: timedelta
    # The local hours a broadcast may reach a subscriber (quietHours; the law's by default).
    quiet_hours: Window


@dataclass(frozen=True)
class Rules:
    """Everything configurable a use case needs: limits, accepted countries, texts."""

    policy: Policy
    texts: Texts
    confirm_keywords: tuple[str, ...]
    allowed_countries: tuple[str, ...]
    default_country: str
    require_consent: bool
