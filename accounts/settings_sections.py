"""Sections that other apps add to the account page.

accounts never imports chat (pyproject.toml's layers): an app that keeps a
setting of a user's registers a section here from its AppConfig.ready(), and the
account page (accounts.views.account) shows it and hands it the POSTs that name
its `action`.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest


@dataclass(frozen=True)
class SettingsSection:
    # The POST field `action` that this section's form sends.
    action: str
    # Rendered with the context that `context` gives, inside the account page.
    template: str
    # The section's context; `data` is the POST when it was refused.
    context: Callable[[HttpRequest, Any], dict]
    # Saves a POST of this section: True when saved, False when refused.
    save: Callable[[HttpRequest], bool]


_sections: dict[str, SettingsSection] = {}


def register(section: SettingsSection) -> None:
    """Adds (or replaces, by action) a section of the account page."""
    _sections[section.action] = section


def sections() -> list[SettingsSection]:
    return list(_sections.values())


def section_for(action: str | None) -> SettingsSection | None:
    return _sections.get(action or "")
