"""Sign-up, log-in and log-out pages; the account page, the email links, the
password reset; the service worker."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import REDIRECT_FIELD_NAME, login
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import LoginView, PasswordResetView
from django.contrib.staticfiles import finders
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render, resolve_url
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.generic import FormView

from .email import (
    send_verification,
    set_email,
    set_email_notifications,
    unsubscribe,
    verify_email,
)
from .forms import EmailForm, NotificationsForm, SignUpForm, VerifiedPasswordResetForm
from .limits import AttemptLimitMixin, attempt_wait
from .settings_sections import section_for, sections


class LimitedLoginView(AttemptLimitMixin, LoginView):
    """Django's log-in page, with the attempt limits (accounts.limits)."""

    redirect_authenticated_user = True


class SignUpView(AttemptLimitMixin, FormView):
    template_name = "accounts/signup.html"
    form_class = SignUpForm

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated:
            return redirect(self.get_success_url())
        return super().dispatch(request, *args, **kwargs)

    def get_success_url(self) -> str:
        """`next` if it is a page of this site, else home (as the login page does)."""
        target = self.request.POST.get(
            REDIRECT_FIELD_NAME, self.request.GET.get(REDIRECT_FIELD_NAME, "")
        )
        if url_has_allowed_host_and_scheme(
            target,
            allowed_hosts={self.request.get_host()},
            require_https=self.request.is_secure(),
        ):
            return target
        return resolve_url("home")

    def get_context_data(self, **kwargs):
        kwargs.setdefault("next", self.request.GET.get(REDIRECT_FIELD_NAME, ""))
        return super().get_context_data(**kwargs)

    def form_valid(self, form):
        user = form.save()
        login(self.request, user, backend="django.contrib.auth.backends.ModelBackend")
        return super().form_valid(form)


class LimitedPasswordResetView(AttemptLimitMixin, PasswordResetView):
    """Django's password reset, for verified addresses, with the attempt limits
    (each request draws from the address's bucket and the one of the address
    typed: nobody floods an inbox from here)."""

    form_class = VerifiedPasswordResetForm

    def post(self, request, *args, **kwargs):
        wait = attempt_wait(request, request.POST.get("email"))
        if wait:
            return self.limited(wait)
        return super(AttemptLimitMixin, self).post(request, *args, **kwargs)


def _link_base(request: HttpRequest) -> str:
    return f"{request.scheme}://{request.get_host()}"


@login_required
def account(request: HttpRequest) -> HttpResponse:
    """The account page: the email address, email notifications, browser push,
    and the sections other apps register (accounts.settings_sections)."""
    user = request.user
    email_form = EmailForm(initial={"email": user.email})
    notifications_form = NotificationsForm(
        initial={"email_notifications": user.email_notifications}
    )
    refused = None
    if request.method == "POST":
        action = request.POST.get("action")
        section = section_for(action)
        if section is not None:
            if section.save(request):
                messages.info(request, _("Saved."))
                return redirect("account")
            refused = section
        elif action == "email":
            email_form = EmailForm(request.POST)
            if email_form.is_valid():
                address = email_form.cleaned_data["email"]
                if set_email(user, address, link_base=_link_base(request)) and address:
                    messages.info(
                        request,
                        _("We sent a link to %(email)s: open it to confirm it.")
                        % {"email": address},
                    )
                return redirect("account")
        elif action == "resend" and user.email and not user.email_verified:
            send_verification(user, link_base=_link_base(request))
            messages.info(request, _("We sent the link again."))
            return redirect("account")
        elif action == "notifications":
            notifications_form = NotificationsForm(request.POST)
            if notifications_form.is_valid():
                set_email_notifications(
                    user, notifications_form.cleaned_data["email_notifications"]
                )
                messages.info(request, _("Saved."))
                return redirect("account")
    return render(
        request,
        "accounts/account.html",
        {
            "email_form": email_form,
            "notifications_form": notifications_form,
            "email_delay": settings.CHAT_EMAIL_DELAY_MINUTES,
            "vapid_public_key": settings.CHAT_VAPID_PUBLIC_KEY
            if settings.CHAT_VAPID_PRIVATE_KEY
            else "",
            # Other apps' sections (accounts.settings_sections), a refused one
            # with what was sent.
            "sections": [
                {
                    "template": section.template,
                    **section.context(
                        request, request.POST if section is refused else None
                    ),
                }
                for section in sections()
            ],
        },
        status=400 if request.method == "POST" else 200,
    )


def verify(request: HttpRequest, token: str) -> HttpResponse:
    """The signed link of a verification email: the address is confirmed."""
    user = verify_email(token)
    return render(
        request,
        "accounts/email_verified.html",
        {"verified": user is not None, "address": user.email if user else ""},
        status=200 if user is not None else 400,
    )


@csrf_exempt  # one click from a mail client (RFC 8058): the signed token is the proof
def unsubscribe_view(request: HttpRequest, token: str) -> HttpResponse:
    """The signed link of every missed-message email: one click, email off."""
    if request.method not in {"GET", "HEAD", "POST"}:
        return HttpResponse(status=405)
    user = unsubscribe(token)
    return render(
        request,
        "accounts/unsubscribed.html",
        {"unsubscribed": user is not None},
        status=200 if user is not None else 400,
    )


def service_worker(request: HttpRequest) -> HttpResponse:
    """/sw.js, from our own origin, allowed to control the whole site."""
    path = finders.find("chat/sw.js")
    if not path:
        raise Http404
    with open(path, "rb") as script:
        response = HttpResponse(script.read(), content_type="text/javascript")
    response["Service-Worker-Allowed"] = "/"
    response["Cache-Control"] = "no-cache"
    return response
