from django.urls import path, re_path
from drf_spectacular.views import SpectacularAPIView
from rest_framework.renderers import JSONRenderer

from accounts.api import PushSubscriptionsView, TicketView, TokenView

from . import changes, invites, moderation, reports, support, support_uploads, views
from .errors import not_found
from .longpoll import LongPollView
from .people import PeopleView
from .presence import PresenceView
from .search import SearchView
from .uploads import DownloadView, UploadView


class SchemaView(SpectacularAPIView):
    """The schema in YAML; a refusal (an unknown method) in JSON like every error."""

    def get_renderers(self):
        if self.request.method not in {"GET", "HEAD"}:
            return [JSONRenderer()]
        return super().get_renderers()


urlpatterns = [
    path(
        "support/conversations/",
        support.AgentConversationsView.as_view(),
        name="api-support-conversations",
    ),
    path(
        "support/conversations/<int:pk>/",
        support.AgentConversationView.as_view(),
        name="api-support-conversation",
    ),
    *(
        path(
            f"support/conversations/<int:pk>/{action}/",
            support.AgentActionView.as_view(action=action),
            name=f"api-support-{action}",
        )
        for action in ("messages", "notes", "take", "transfer", "close", "reopen")
    ),
    path(
        "support/metrics/",
        support.MetricsView.as_view(),
        name="api-support-metrics",
    ),
    path(
        "support/metrics.csv",
        support.MetricsCsvView.as_view(),
        name="api-support-metrics-csv",
    ),
    re_path(
        r"^support/(?P<public_key>[A-Za-z0-9_-]{1,64})/conversation/$",
        support.VisitorConversationView.as_view(),
        name="api-support-visitor-conversation",
    ),
    re_path(
        r"^support/(?P<public_key>[A-Za-z0-9_-]{1,64})/offline/$",
        support.OfflineView.as_view(),
        name="api-support-offline",
    ),
    re_path(
        r"^support/(?P<public_key>[A-Za-z0-9_-]{1,64})/rating/$",
        support.RatingView.as_view(),
        name="api-support-rating",
    ),
    re_path(
        r"^support/(?P<public_key>[A-Za-z0-9_-]{1,64})/transcript/$",
        support.TranscriptView.as_view(),
        name="api-support-transcript",
    ),
    re_path(
        r"^support/(?P<public_key>[A-Za-z0-9_-]{1,64})/$",
        support.SiteConfigView.as_view(),
        name="api-support-site",
    ),
    re_path(
        r"^support/(?P<public_key>[A-Za-z0-9_-]{1,64})/visitors/$",
        support.VisitorsView.as_view(),
        name="api-support-visitors",
    ),
    re_path(
        r"^support/(?P<public_key>[A-Za-z0-9_-]{1,64})/uploads/$",
        support_uploads.VisitorUploadView.as_view(),
        name="api-support-uploads",
    ),
    re_path(
        r"^support/(?P<public_key>[A-Za-z0-9_-]{1,64})/uploads/"
        r"(?P<upload_id>[0-9]{1,18})/(?P<key>[^/]{1,100})/$",
        support_uploads.VisitorDownloadView.as_view(),
        name="api-support-upload-file",
    ),
    path("auth/token/", TokenView.as_view(), name="api-token"),
    path("auth/ticket/", TicketView.as_view(), name="api-ticket"),
    path(
        "push/subscriptions/",
        PushSubscriptionsView.as_view(),
        name="api-push-subscriptions",
    ),
    path("rooms/", views.RoomListView.as_view(), name="api-rooms"),
    path("rooms/<str:slug>/", views.RoomDetailView.as_view(), name="api-room"),
    path("rooms/<str:slug>/join/", views.RoomJoinView.as_view(), name="api-room-join"),
    path(
        "rooms/<str:slug>/leave/", views.RoomLeaveView.as_view(), name="api-room-leave"
    ),
    path(
        "rooms/<str:slug>/members/",
        views.RoomMembersView.as_view(),
        name="api-room-members",
    ),
    path(
        "rooms/<str:slug>/members/<str:username>/",
        views.RoomMemberView.as_view(),
        name="api-room-member",
    ),
    path(
        "rooms/<str:slug>/members/<str:username>/role/",
        views.RoomMemberRoleView.as_view(),
        name="api-room-member-role",
    ),
    path("rooms/<str:slug>/bans/", moderation.BansView.as_view(), name="api-room-bans"),
    path(
        "rooms/<str:slug>/bans/<str:username>/",
        moderation.BanView.as_view(),
        name="api-room-ban",
    ),
    path(
        "rooms/<str:slug>/mutes/",
        moderation.MutesView.as_view(),
        name="api-room-mutes",
    ),
    path(
        "rooms/<str:slug>/mutes/<str:username>/",
        moderation.MuteView.as_view(),
        name="api-room-mute",
    ),
    path(
        "rooms/<str:slug>/audit/", moderation.AuditView.as_view(), name="api-room-audit"
    ),
    path(
        "rooms/<str:slug>/messages/",
        views.RoomMessagesView.as_view(),
        name="api-room-messages",
    ),
    path("rooms/<str:slug>/read/", views.RoomReadView.as_view(), name="api-room-read"),
    path("dm/", views.DirectListView.as_view(), name="api-dms"),
    path("dm/<str:username>/read/", views.DirectReadView.as_view(), name="api-dm-read"),
    path(
        "dm/<str:username>/messages/",
        views.DirectMessagesView.as_view(),
        name="api-dm-messages",
    ),
    path("messages/", LongPollView.as_view(), name="api-messages"),
    path(
        "messages/<int:message_id>/",
        changes.MessageView.as_view(),
        name="api-message",
    ),
    # The resolver matches the decoded path: `emoji` is the emoji itself, every
    # code point of it (ZWJ sequences, skin tones, variation selectors).
    path(
        "messages/<int:message_id>/reactions/<str:emoji>/",
        changes.ReactionView.as_view(),
        name="api-message-reaction",
    ),
    path(
        "messages/<int:message_id>/report/",
        reports.ReportMessageView.as_view(),
        name="api-message-report",
    ),
    path(
        "rooms/<str:slug>/invites/",
        invites.RoomInvitesView.as_view(),
        name="api-room-invites",
    ),
    path(
        "rooms/<str:slug>/invites/<str:code>/",
        invites.RoomInviteView.as_view(),
        name="api-room-invite",
    ),
    path("invites/<str:code>/", invites.InviteView.as_view(), name="api-invite"),
    path(
        "invites/<str:code>/accept/",
        invites.AcceptInviteView.as_view(),
        name="api-invite-accept",
    ),
    path(
        "rooms/<str:slug>/reports/",
        reports.RoomReportsView.as_view(),
        name="api-room-reports",
    ),
    path(
        "rooms/<str:slug>/reports/<int:report_id>/resolve/",
        reports.ResolveReportView.as_view(),
        name="api-room-report-resolve",
    ),
    path("changes/", changes.ChangesView.as_view(), name="api-changes"),
    path("users/", PeopleView.as_view(), name="api-users"),
    path("presence/", PresenceView.as_view(), name="api-presence"),
    path("search/", SearchView.as_view(), name="api-search"),
    path("uploads/", UploadView.as_view(), name="api-uploads"),
    path(
        "uploads/<int:upload_id>/<str:key>/",
        DownloadView.as_view(),
        name="api-upload-file",
    ),
    path(
        "uploads/<int:upload_id>/<str:key>/thumbnail/",
        DownloadView.as_view(thumbnail=True),
        name="api-upload-thumbnail",
    ),
    path("schema/", SchemaView.as_view(), name="api-schema"),
    # Last: anything else under /api/ is a JSON 404, not the site's HTML page.
    # [\s\S]: a path with a newline in it is an API 404 too.
    re_path(r"^(?P<path>[\s\S]*)$", not_found),
]
