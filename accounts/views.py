"""Sign-up, log-in and log-out pages."""

from django.contrib.auth import login
from django.http import HttpResponse
from django.shortcuts import redirect
from django.urls import reverse_lazy
from django.views.generic import FormView

from chat import ratelimit
from chat.api.throttles import client_address

from .forms import SignUpForm


class SignUpView(FormView):
    template_name = "accounts/signup.html"
    form_class = SignUpForm
    success_url = reverse_lazy("home")

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated:
            return redirect(self.success_url)
        return super().dispatch(request, *args, **kwargs)

    def post(self, request, *args, **kwargs):
        # Sign-ups share the per-address bucket of token requests.
        wait = ratelimit.hit(ratelimit.auth_limit(), client_address(request))
        if wait:
            response = HttpResponse(
                "Too many sign-ups from your address: try again later.",
                status=429,
                content_type="text/plain; charset=utf-8",
            )
            response["Retry-After"] = ratelimit.retry_after_header(wait)
            return response
        return super().post(request, *args, **kwargs)

    def form_valid(self, form):
        user = form.save()
        login(self.request, user, backend="django.contrib.auth.backends.ModelBackend")
        return super().form_valid(form)
