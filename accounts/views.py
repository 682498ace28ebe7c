"""Sign-up, log-in and log-out pages."""

from django.contrib.auth import REDIRECT_FIELD_NAME, login
from django.contrib.auth.views import LoginView
from django.shortcuts import redirect, resolve_url
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.generic import FormView

from .forms import SignUpForm
from .limits import AttemptLimitMixin


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
