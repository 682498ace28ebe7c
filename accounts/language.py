"""A user's language, remembered for what is sent to them with no request to
ask (the missed-message email): the language they logged in with, or last
chose with the language switch."""

from django.conf import settings
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.utils import translation
from django.views.i18n import set_language as django_set_language

from .models import User


def remember_language(user, language: str | None) -> None:
    """Store `language` as the user's if it is one of ours and not already it."""
    if not getattr(user, "is_authenticated", False) or not language:
        return
    if language not in dict(settings.LANGUAGES) or user.language == language:
        return
    user.language = language
    User.objects.filter(pk=user.pk).update(language=language)


def language_of(user) -> str:
    """The language to write to `user` in: theirs, else the site's."""
    language = getattr(user, "language", "")
    return language if language in dict(settings.LANGUAGES) else settings.LANGUAGE_CODE


def set_language(request: HttpRequest) -> HttpResponse:
    """Django's language switch, which also remembers the choice for the user."""
    response = django_set_language(request)
    if request.method == "POST" and response.status_code in (200, 302):
        remember_language(request.user, request.POST.get("language"))
    return response


@receiver(user_logged_in, dispatch_uid="accounts.remember_language_on_login")
def remember_language_on_login(sender, request, user, **kwargs) -> None:
    """Logging in remembers the language the page was shown in."""
    if request is not None:
        remember_language(user, translation.get_language())
