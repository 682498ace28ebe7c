"""Pages: a plain home page (the rich chat pages come with their own issue)."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from .models import Conversation, Membership


@login_required
def home(request):
    memberships = (
        Membership.objects.filter(user=request.user)
        .select_related("conversation__direct_low", "conversation__direct_high")
        .order_by("-joined_at")
    )
    rooms, directs = [], []
    for membership in memberships:
        conversation = membership.conversation
        if conversation.is_room:
            rooms.append(conversation)
        else:
            low, high = conversation.direct_low, conversation.direct_high
            directs.append(high if low.pk == request.user.pk else low)
    public = (
        Conversation.objects.filter(kind=Conversation.Kind.ROOM, is_private=False)
        .exclude(memberships__user=request.user)
        .order_by("slug")[:50]
    )
    return render(
        request,
        "chat/home.html",
        {"rooms": rooms, "directs": directs, "public_rooms": public},
    )
