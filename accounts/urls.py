from django.contrib.auth import views as auth_views
from django.urls import path

from .limits import limit_posts_per_address
from .views import SignUpView

urlpatterns = [
    path("signup/", limit_posts_per_address(SignUpView.as_view()), name="signup"),
    path(
        "login/",
        limit_posts_per_address(
            auth_views.LoginView.as_view(redirect_authenticated_user=True)
        ),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
]
