from django.urls import include, path
from django.views.i18n import JavaScriptCatalog

from . import views

urlpatterns = [
    path("", views.home, name="home"),
    path("rooms/new/", views.create_room_page, name="room-create"),
    path("rooms/<str:slug>/", views.room, name="room"),
    path("rooms/<str:slug>/join/", views.join_room_page, name="room-join"),
    path("dm/", views.start_direct, name="direct-start"),
    path("people/", views.people, name="people"),
    path("account/", views.account, name="account"),
    path("search/", views.search, name="search"),
    path("dm/<str:username>/", views.direct, name="direct"),
    # The language switch (Django's set_language: a POST with the CSRF token).
    path("i18n/", include("django.conf.urls.i18n")),
    # The browser client's strings in the page's language, as a static script
    # (djangojs messages of LOCALE_PATHS).
    path("jsi18n/", JavaScriptCatalog.as_view(), name="javascript-catalog"),
]
