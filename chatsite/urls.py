from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", include("chat.api.urls")),
    path("accounts/", include("accounts.urls")),
    path("", include("chat.urls")),
]

# Errors Django answers itself (a disallowed Host, a fault): JSON under /api/.
handler400 = "chat.api.errors.bad_request"
handler500 = "chat.api.errors.server_error"
