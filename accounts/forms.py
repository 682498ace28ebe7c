from django import forms
from django.contrib.auth.forms import PasswordResetForm, UserCreationForm
from django.utils.translation import gettext_lazy as _

from .models import User


class SignUpForm(UserCreationForm):
    class Meta(UserCreationForm.Meta):
        model = User
        fields = ("username",)


class EmailForm(forms.Form):
    email = forms.EmailField(
        label=_("Email address"),
        required=False,
        max_length=254,
        help_text=_("We send a link to confirm it; nothing else goes to it before."),
    )


class NotificationsForm(forms.Form):
    email_notifications = forms.BooleanField(
        label=_("Email me the direct messages and mentions I missed"),
        required=False,
    )


class VerifiedPasswordResetForm(PasswordResetForm):
    """Django's reset form, for verified addresses only."""

    def get_users(self, email):
        return (
            user
            for user in super().get_users(email)
            if getattr(user, "email_verified", False)
        )
