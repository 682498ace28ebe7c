"""The admin's customer-support pages: sites (with the widget's snippet) and
their conversations (read only: agents work in /support/)."""

from django.conf import settings
from django.contrib import admin
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from .models import SupportConversation, SupportSite, SupportTeam


def snippet(site: SupportSite, base: str) -> str:
    """What the site's owner pastes on their pages."""
    return (
        f'<script src="{base}/widget.js" data-site="{site.public_key}" async></script>'
    )


@admin.register(SupportSite)
class SupportSiteAdmin(admin.ModelAdmin):
    list_display = ("name", "public_key", "capacity", "time_zone")
    filter_horizontal = ("agents",)
    readonly_fields = ("public_key", "secret", "widget_snippet")
    fields = (
        "name",
        "widget_snippet",
        "public_key",
        "secret",
        "allowed_origins",
        "agents",
        "capacity",
        "time_zone",
        "business_hours",
        "holidays",
        "greeting",
        "prechat_name",
        "prechat_email",
        "offline_message",
    )

    def get_form(self, request, obj=None, change=False, **kwargs):
        self._base = request.build_absolute_uri("/").rstrip("/") if request else ""
        return super().get_form(request, obj, change, **kwargs)

    @admin.display(description=_("snippet"))
    def widget_snippet(self, site: SupportSite) -> str:
        if site.pk is None:
            return _("Saved sites show the snippet to paste on their pages.")
        base = getattr(self, "_base", "") or settings.CHAT_SITE_URL
        return format_html("<pre><code>{}</code></pre>", snippet(site, base))


@admin.register(SupportTeam)
class SupportTeamAdmin(admin.ModelAdmin):
    """Named teams of agents: a conversation transferred to one is routed to
    its agents (a site's own conversations go to the site's agents)."""

    list_display = ("name",)
    filter_horizontal = ("agents",)


@admin.register(SupportConversation)
class SupportConversationAdmin(admin.ModelAdmin):
    list_display = (
        "pk",
        "site",
        "team",
        "visitor",
        "status",
        "agent",
        "queued_at",
        "rating",
    )
    list_filter = ("status", "site")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
