from django.conf import settings
from django.contrib.auth import views as auth_views
from django.urls import path

from chatsite.post_only import post_only

from .views import (
    LimitedLoginView,
    LimitedPasswordResetView,
    SignUpView,
    account,
    unsubscribe_view,
    verify,
)

urlpatterns = [
    path("signup/", SignUpView.as_view(), name="signup"),
    path("login/", LimitedLoginView.as_view(), name="login"),
    # Logging out is a POST (the top bar's form); a GET goes home, logged in still.
    path(
        "logout/",
        post_only(settings.LOGIN_REDIRECT_URL)(auth_views.LogoutView.as_view()),
        name="logout",
    ),
    path("settings/", account, name="account"),
    path("email/verify/<str:token>/", verify, name="email-verify"),
    path("email/unsubscribe/<str:token>/", unsubscribe_view, name="email-unsubscribe"),
    # Django's password reset views, with our templates (templates/registration/).
    path("password/reset/", LimitedPasswordResetView.as_view(), name="password_reset"),
    path(
        "password/reset/sent/",
        auth_views.PasswordResetDoneView.as_view(),
        name="password_reset_done",
    ),
    path(
        "password/reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "password/reset/done/",
        auth_views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
]
