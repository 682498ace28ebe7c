"""The chat pages: home, a room, a direct conversation.

The pages render what a visitor may see and hand the rest to the browser client
(static/chat/chat.js), which reads the HTTP API and the WebSocket. Actions go
through the same services as the API.
"""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _

from chatsite.post_only import post_only

from . import events
from .change_feed import last_change_id
from .errors import ChatError, NotFound
from .forms import CreateRoomForm, DirectForm
from .search.query import search_messages
from .selectors import (
    direct_conversation,
    direct_conversations_of,
    is_member,
    is_moderator,
    last_visible_id,
    people_matching,
    public_rooms_to_join,
    read_position,
    room_by_slug,
    rooms_of,
    user_by_username,
)
from .services.restrictions import active_mute, until_text
from .services.rooms import RoomExists, create_room, join_room


def shell_context(request) -> dict:
    """What the app shell's sidebar shows on every chat page."""
    return {
        "rooms": rooms_of(request.user),
        "directs": direct_conversations_of(request.user),
    }


def home_context(request, **forms) -> dict:
    user = request.user
    return {
        **shell_context(request),
        "public_rooms": public_rooms_to_join(user),
        "room_form": forms.get("room_form") or CreateRoomForm(),
        "direct_form": forms.get("direct_form") or DirectForm(),
        "page_data": page_data(request, page="home"),
    }


def page_data(request, **extra) -> dict:
    """What chat.js needs, passed with json_script (never inline code).

    `cursor`: the newest message id the user could see as the page was made;
    the client's first `sync` starts there, so nothing falls between the
    page and the socket.
    """
    return {
        "me": events.user_payload(request.user),
        "cursor": last_visible_id(request.user),
        # The newest change (edit, deletion, reaction) as the page was made:
        # the first `sync` asks for the changes after it.
        "last_change_id": last_change_id(),
        # What the message actions may offer (the server decides again).
        "edit_window": settings.CHAT_EDIT_WINDOW_SECONDS,
        "moderator": request.user.is_staff,
        # The dots and the page's own status (static/chat/views/presence.js).
        "presence": {
            "enabled": settings.CHAT_PRESENCE_ENABLED,
            "away_after": settings.CHAT_PRESENCE_AWAY_SECONDS,
        },
        **extra,
    }


@login_required
def home(request):
    return render(request, "chat/home.html", home_context(request))


@login_required
def people(request):
    """The people directory: search by username, then open a conversation."""
    query = request.GET.get("q", "")
    return render(
        request,
        "chat/people.html",
        {
            **shell_context(request),
            "query": query[:150],
            "people": people_matching(query=query, viewer=request.user),
            "page_data": page_data(request, page="home"),
        },
    )


SEARCH_FILTERS = ("room", "with", "from")


@login_required
def search(request):
    """Search my messages: a box with filters, results that open in place."""
    query = request.GET.get("q", "")[:200]
    filters = {name: request.GET.get(name, "")[:150] for name in SEARCH_FILTERS}
    results, more, error = [], False, None
    if query.strip():
        try:
            found, more = search_messages(
                user=request.user,
                query=query,
                room=filters["room"] or None,
                with_user=filters["with"] or None,
                sender=filters["from"] or None,
                before=request.GET.get("before") or None,
            )
        except NotFound:
            error = _("No room or person by that name.")
        except ChatError as refused:
            error = (
                _("You are not a member of that room.")
                if refused.code == "forbidden"
                else _("This search cannot be run: check the filters.")
            )
        else:
            results = [search_result(f, me=request.user) for f in found]
    older = None
    if more and results:
        kept = {k: v for k, v in filters.items() if v}
        older = "?" + urlencode({"q": query, **kept, "before": results[-1]["id"]})
    return render(
        request,
        "chat/search.html",
        {
            **shell_context(request),
            "query": query,
            "filters": filters,
            "results": results,
            "error": error,
            "older": older,
            "page_data": page_data(request, page="search"),
        },
    )


def search_result(found, *, me) -> dict:
    """One result as the page shows it: where, who, when, the highlight, a link."""
    message = found.message
    conversation = message.conversation
    if conversation.is_room:
        place, url = f"#{conversation.slug}", reverse("room", args=[conversation.slug])
    else:
        low, high = conversation.direct_low, conversation.direct_high
        other = high if low.pk == me.pk else low
        place, url = f"@{other.username}", reverse("direct", args=[other.username])
    return {
        "id": message.id,
        "place": place,
        "url": f"{url}?{urlencode({'around': message.id})}",
        "sender": message.sender.username,
        "created_at": message.created_at,
        # chat.search.text.highlight: escaped HTML with only <mark> added.
        "highlight": mark_safe(found.highlight),  # noqa: S308
    }


@post_only("home")
@login_required
def create_room_page(request):
    form = CreateRoomForm(request.POST)
    if form.is_valid():
        try:
            room = create_room(
                slug=form.cleaned_data["slug"],
                title=form.cleaned_data["title"],
                is_private=form.cleaned_data["private"],
                owner=request.user,
            )
        except RoomExists:
            form.add_error("slug", _("A room with this name exists already."))
        except ChatError:
            form.add_error("slug", _("This room name cannot be used."))
        else:
            return redirect("room", slug=room.slug)
    return render(
        request, "chat/home.html", home_context(request, room_form=form), status=400
    )


@post_only("home")
@login_required
def start_direct(request):
    form = DirectForm(request.POST)
    if form.is_valid():
        username = form.cleaned_data["username"]
        try:
            other = user_by_username(username)
        except ChatError:
            form.add_error("username", _("No one has this username."))
        else:
            if other.pk == request.user.pk:
                form.add_error("username", _("Choose someone other than yourself."))
            else:
                return redirect("direct", username=other.username)
    return render(
        request, "chat/home.html", home_context(request, direct_form=form), status=400
    )


def _room_or_404(request, slug):
    try:
        return room_by_slug(slug)
    except ChatError:
        return None


@login_required
def room(request, slug):
    found = _room_or_404(request, slug)
    if found is None:
        return render(request, "chat/missing.html", {"slug": slug}, status=404)
    if not is_member(user=request.user, conversation=found):
        if found.is_private:
            # Says nothing of the room but that it exists and is closed.
            return render(request, "chat/private.html", {"slug": slug}, status=403)
        return render(request, "chat/join.html", {"room": found})
    data = page_data(
        request,
        page="conversation",
        room=found.slug,
        to=None,
        title=found.title,
        read_id=read_position(request.user, found),
    )
    # A room's owners and moderators may delete anyone's message there, as
    # staff may anywhere.
    data["moderator"] = data["moderator"] or is_moderator(
        user=request.user, conversation=found
    )
    data["staff"] = request.user.is_staff
    # A muted user's page says why and until when (static/chat/views/muted.js).
    mute = active_mute(room=found, user=request.user)
    data["muted"] = (
        {"until": until_text(mute.expires_at), "reason": mute.reason} if mute else None
    )
    return render(
        request,
        "chat/conversation.html",
        {
            "room": found,
            "title": found.title or found.slug,
            "page_data": data,
            **shell_context(request),
        },
    )


@post_only(lambda slug: reverse("room", args=[slug]))
@login_required
def join_room_page(request, slug):
    try:
        found, _joined = join_room(user=request.user, slug=slug)
    except NotFound:
        return render(request, "chat/missing.html", {"slug": slug}, status=404)
    except ChatError:
        return render(request, "chat/private.html", {"slug": slug}, status=403)
    messages.success(request, _("You joined %(room)s.") % {"room": found.title})
    return redirect("room", slug=found.slug)


@login_required
def direct(request, username):
    try:
        other = user_by_username(username)
    except ChatError:
        return render(request, "chat/missing.html", {"username": username}, status=404)
    if other.pk == request.user.pk:
        return redirect("home")
    conversation = direct_conversation(user=request.user, other=other)
    data = page_data(
        request,
        page="conversation",
        room=None,
        to=other.username,
        title=other.username,
        read_id=read_position(request.user, conversation) if conversation else 0,
    )
    return render(
        request,
        "chat/conversation.html",
        {
            "other": other,
            "title": other.username,
            "page_data": data,
            **shell_context(request),
        },
    )
