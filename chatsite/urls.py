from django.contrib import admin
from django.urls import include, path

from accounts.views import service_worker
from chat.support_views import widget_script
from chatsite.post_only import post_only

urlpatterns = [
    # The admin's logout is POST-only too: a GET goes back to the admin's index.
    path(
        "admin/logout/",
        post_only("admin:index")(admin.site.admin_view(admin.site.logout)),
    ),
    path("admin/", admin.site.urls),
    path("api/", include("chat.api.urls")),
    path("accounts/", include("accounts.urls")),
    # The Web Push service worker, at the root so that it may control every page.
    path("sw.js", service_worker, name="service-worker"),
    # The support widget's loader, at the root as the snippet names it.
    path("widget.js", widget_script, name="support-widget-script"),
    path("", include("chat.urls")),
]

# Errors Django answers itself (a disallowed Host, a fault): JSON under /api/.
handler400 = "chat.api.errors.bad_request"
handler500 = "chat.api.errors.server_error"
