"""Pages: a plain home page (the rich chat pages come with their own issue)."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from .models import Conversation
from .selectors import direct_conversations_of


@login_required
def home(request):
    rooms = Conversation.objects.filter(
        kind=Conversation.Kind.ROOM, memberships__user=request.user
    ).order_by("slug")
    public = (
        Conversation.objects.filter(kind=Conversation.Kind.ROOM, is_private=False)
        .exclude(memberships__user=request.user)
        .order_by("slug")[:50]
    )
    directs = [other for _, other in direct_conversations_of(request.user)]
    return render(
        request,
        "chat/home.html",
        {"rooms": rooms, "directs": directs, "public_rooms": public},
    )
