"""The admin's canned replies of the support sites (used in /support/)."""

from django.contrib import admin

from .models import CannedReply


@admin.register(CannedReply)
class CannedReplyAdmin(admin.ModelAdmin):
    list_display = ("shortcut", "site", "text")
    list_filter = ("site",)
    search_fields = ("shortcut", "text")
