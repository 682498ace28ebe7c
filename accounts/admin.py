"""Admin for users and their API tokens.

A token's secret is never shown: only its prefix, which is stored in the clear.
Tokens are made by `manage.py createtoken` or the API, and revoked here through
accounts.tokens.revoke_token, like everywhere else.
"""

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin
from django.utils import timezone
from django.utils.translation import ngettext

from .access import deactivate_user
from .models import ApiToken, User
from .tokens import revoke_token

TOKEN_FIELDS = (
    "name",
    "prefix",
    "created_at",
    "last_used_at",
    "expires_at",
    "revoked_at",
)


class ApiTokenInline(admin.TabularInline):
    """The user's tokens, read-only: revoke them from the token list."""

    model = ApiToken
    fields = TOKEN_FIELDS
    readonly_fields = TOKEN_FIELDS
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(User)
class ChatUserAdmin(UserAdmin):
    inlines = [ApiTokenInline]
    actions = ["deactivate_selected"]

    def has_delete_permission(self, request, obj=None):
        # Deactivation only (docs/security.md): it closes the account's sockets
        # at once and keeps everyone's history; a deletion would do neither.
        return False

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if change and "is_active" in form.changed_data and not obj.is_active:
            # Unticking "active" ends the account's open connections too.
            deactivate_user(obj)

    @admin.action(description="Deactivate selected users", permissions=["change"])
    def deactivate_selected(self, request, queryset):
        done = sum(deactivate_user(user) for user in queryset.filter(is_active=True))
        self.message_user(
            request,
            ngettext("Deactivated %d user.", "Deactivated %d users.", done) % done,
            messages.SUCCESS,
        )


class TokenStateFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("usable", "Usable"), ("revoked", "Revoked"), ("expired", "Expired")]

    def queryset(self, request, queryset):
        if self.value() == "usable":
            return queryset.usable()
        if self.value() == "revoked":
            return queryset.filter(revoked_at__isnull=False)
        if self.value() == "expired":
            return queryset.filter(expires_at__lte=timezone.now())
        return queryset


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = (
        "prefix",
        "user",
        "name",
        "created_at",
        "last_used_at",
        "expires_at",
        "revoked_at",
    )
    list_display_links = ("prefix",)
    list_filter = (TokenStateFilter, "created_at")
    list_select_related = ("user",)
    search_fields = ("user__username", "name", "prefix")
    # The digest is left out on purpose: nothing secret reaches a page.
    fields = ("user", *TOKEN_FIELDS)
    readonly_fields = (
        "user",
        "prefix",
        "created_at",
        "last_used_at",
        "revoked_at",
    )
    actions = ["revoke_selected"]

    def has_add_permission(self, request):
        # A token's plaintext is shown once, by createtoken or the API.
        return False

    @admin.action(description="Revoke selected tokens", permissions=["change"])
    def revoke_selected(self, request, queryset):
        revoked = 0
        for token in queryset.filter(revoked_at__isnull=True):
            revoke_token(token)
            revoked += 1
        self.message_user(
            request,
            ngettext("Revoked %d token.", "Revoked %d tokens.", revoked) % revoked,
            messages.SUCCESS,
        )
