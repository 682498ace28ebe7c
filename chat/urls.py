from django.urls import path
from django.views.i18n import JavaScriptCatalog

from accounts.language import set_language

from . import moderation_views, support_views, views

urlpatterns = [
    path("", views.home, name="home"),
    path("rooms/new/", views.create_room_page, name="room-create"),
    path("rooms/<str:slug>/", views.room, name="room"),
    path("rooms/<str:slug>/join/", views.join_room_page, name="room-join"),
    path("rooms/<str:slug>/reports/", moderation_views.reports, name="room-reports"),
    path("rooms/<str:slug>/audit/", moderation_views.audit_log, name="room-audit"),
    path("invite/<str:code>/", moderation_views.invite, name="invite"),
    path("dm/", views.start_direct, name="direct-start"),
    path("people/", views.people, name="people"),
    path("search/", views.search, name="search"),
    path("dm/<str:username>/", views.direct, name="direct"),
    path("support/", support_views.agent_page, name="support"),
    path("support/metrics/", support_views.metrics_page, name="support-metrics"),
    path(
        "support/widget/<str:key>/",
        support_views.widget_frame,
        name="support-widget",
    ),
    # The language switch (Django's set_language: a POST with the CSRF token),
    # which also remembers a logged-in user's choice (accounts.language).
    path("i18n/setlang/", set_language, name="set_language"),
    # The browser client's strings in the page's language, as a static script
    # (djangojs messages of LOCALE_PATHS).
    path("jsi18n/", JavaScriptCatalog.as_view(), name="javascript-catalog"),
]
