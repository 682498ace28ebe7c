"""Canned replies of a support site's team: `/shortcut` opens them in /support/."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from .models_support import SupportSite


class CannedReply(models.Model):
    """A reply an agent puts in by its shortcut; `{visitor.name}`,
    `{visitor.email}`, `{agent.name}`, `{site.name}` are filled in the page."""

    site = models.ForeignKey(
        SupportSite, on_delete=models.CASCADE, related_name="canned_replies"
    )
    shortcut = models.SlugField(max_length=40, help_text=_("Typed after “/”."))
    text = models.TextField(max_length=4000)

    class Meta:
        ordering = ["shortcut", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["site", "shortcut"], name="canned_reply_shortcut_unique"
            )
        ]
        verbose_name_plural = "canned replies"

    def __str__(self) -> str:
        return f"/{self.shortcut}"
