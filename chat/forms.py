"""The forms of the chat pages; their services check again and have the last word."""

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from .models import slug_validator

SLUG_HELP = _("1-50 lower-case letters, digits, “-” or “_”.")


def validate_room_name(value: str) -> None:
    """The model's rule, with a message in the reader's language."""
    try:
        slug_validator(value)
    except ValidationError:
        raise ValidationError(SLUG_HELP, code="invalid") from None


class CreateRoomForm(forms.Form):
    slug = forms.CharField(
        label=_("Room name"),
        max_length=50,
        help_text=SLUG_HELP,
        validators=[validate_room_name],
    )
    title = forms.CharField(label=_("Title (optional)"), max_length=200, required=False)
    private = forms.BooleanField(
        label=_("Private: only people I add can see it"), required=False
    )


class DirectForm(forms.Form):
    username = forms.CharField(label=_("Username"), max_length=150)


class PresenceSettingsForm(forms.Form):
    hide_presence = forms.BooleanField(
        label=_("Hide my presence"),
        help_text=_("Others then always see me as offline, with no “last seen” time."),
        required=False,
    )
