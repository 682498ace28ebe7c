from django.conf import settings
from django.contrib.auth import views as auth_views
from django.urls import path

from chatsite.post_only import post_only

from .views import LimitedLoginView, SignUpView

urlpatterns = [
    path("signup/", SignUpView.as_view(), name="signup"),
    path("login/", LimitedLoginView.as_view(), name="login"),
    # Logging out is a POST (the top bar's form); a GET goes home, logged in still.
    path(
        "logout/",
        post_only(settings.LOGIN_REDIRECT_URL)(auth_views.LogoutView.as_view()),
        name="logout",
    ),
]
