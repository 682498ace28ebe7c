"""The account page's presence section (accounts.settings_sections): hide my
presence. Registered by ChatConfig.ready(); saved through chat.services.presence,
which tells the others at once."""

from django.http import HttpRequest

from accounts.settings_sections import SettingsSection, register

from .forms import PresenceSettingsForm
from .services.presence import is_hidden, set_hidden


def _context(request: HttpRequest, data) -> dict:
    if data is not None:
        return {"form": PresenceSettingsForm(data)}
    return {
        "form": PresenceSettingsForm(initial={"hide_presence": is_hidden(request.user)})
    }


def _save(request: HttpRequest) -> bool:
    form = PresenceSettingsForm(request.POST)
    if not form.is_valid():
        return False
    set_hidden(user=request.user, hidden=form.cleaned_data["hide_presence"])
    return True


def register_presence_section() -> None:
    register(
        SettingsSection(
            action="presence",
            template="chat/_presence_settings.html",
            context=_context,
            save=_save,
        )
    )
