"""Support conversations: start, route to an agent, take, transfer, close,
reopen, rate, notes (docs/protocol.md, "Support").

Every change happens in a transaction and its frames go out once it commits
(publish_after_commit): the visitor hears `queue`, `agent.joined` and
`conversation.closed`; the site's agents hear `support.conversation` (and
`support.note`, which never goes to a visitor: notes are not messages).
"""

import datetime as dt
import logging
import threading
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, TypeVar

from channels.db import database_sync_to_async
from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from accounts.models import User
from chat import events
from chat.errors import ChatError, Forbidden, InvalidInput, NotFound
from chat.models import (
    Conversation,
    Membership,
    Message,
    SupportConversation,
    SupportNote,
    SupportOpening,
    SupportSite,
    SupportTeam,
    Visitor,
)

from . import business_hours, presence, publish_after_commit
from .messages import store_in_conversation
from .support import register_visitor
from .support_access import may_work_on, visible_filter
from .validation import clean_body

logger = logging.getLogger(__name__)

OPEN = (SupportConversation.Status.OFFERED, SupportConversation.Status.ASSIGNED)
WAITING = (SupportConversation.Status.QUEUED, SupportConversation.Status.OFFERED)
# The wait per place in the queue when no conversation was assigned yet.
DEFAULT_WAIT_SECONDS = 60


class Offline(ChatError):
    """Outside business hours or with no agent online: leave a message."""

    def __init__(self) -> None:
        super().__init__(
            "offline", _("No one is available now: leave a message instead.")
        )


# --- payloads and frames -----------------------------------------------------------


def agent_payload(user: User | None) -> dict | None:
    if user is None:
        return None
    return {"id": user.pk, "username": user.username, "display_name": _name(user)}


def _name(user: User) -> str:
    return events.display_name(user)


def conversation_payload(support: SupportConversation) -> dict:
    """A support conversation as agents see it (API and support.conversation)."""
    visitor = support.visitor
    return {
        "id": support.pk,
        "kind": "support",
        "site": {"key": support.site.public_key, "name": support.site.name},
        "status": support.status,
        "offline": support.offline,
        "visitor": {
            "id": visitor.pk,
            "user_id": visitor.user_id,
            "display_name": visitor.display_name,
            "name": visitor.name,
            "email": visitor.email,
            "page_url": visitor.page_url,
            "user_agent": visitor.user_agent,
            "time_zone": visitor.time_zone,
        },
        "agent": agent_payload(support.agent),
        "offered_to": agent_payload(support.offered_to),
        "team": team_payload(support.team),
        "queued_at": events.isoformat(support.queued_at),
        "opened_at": events.isoformat(support.opened_at),
        "assigned_at": _iso(support.assigned_at),
        "closed_at": _iso(support.closed_at),
        "rating": support.rating,
        "rating_comment": support.rating_comment,
    }


def team_payload(team: SupportTeam | None) -> dict | None:
    return None if team is None else {"name": team.name}


def _iso(value: dt.datetime | None) -> str | None:
    return events.isoformat(value) if value else None


def note_payload(note: SupportNote) -> dict:
    return {
        "id": note.pk,
        "conversation": note.support_id,
        "author": agent_payload(note.author),
        "body": note.body,
        "transfer_to": agent_payload(note.transfer_to),
        "transfer_team": team_payload(note.transfer_team),
        "created_at": events.isoformat(note.created_at),
    }


def queue_frame(position: int, wait: int, conversation_id: int | None = None) -> str:
    frame: dict = {
        "type": "queue",
        "position": position,
        "estimated_wait_seconds": wait,
    }
    if conversation_id is not None:
        frame["conversation"] = conversation_id
    return events.dumps(frame)


def agent_joined_frame(agent: User, conversation_id: int) -> str:
    return events.dumps(
        {
            "type": "agent.joined",
            "conversation": conversation_id,
            "agent": {"display_name": _name(agent)},
        }
    )


def closed_frame(conversation_id: int) -> str:
    return events.dumps(
        {"type": "conversation.closed", "conversation": conversation_id}
    )


T = TypeVar("T")
# In a thread running a service for arun: the publishes to make once back on
# the event loop (instead of async_to_sync from the thread, which would wait
# on the loop that waits on this thread).
_collecting = threading.local()


def _publish(publish, **kwargs) -> None:
    """`publish(**kwargs)` of chat.events once the caller's transaction commits."""
    pending = getattr(_collecting, "pending", None)
    if pending is None:
        publish_after_commit(publish, **kwargs)
    else:
        transaction.on_commit(lambda: pending.append((publish, kwargs)))


def _later(user_ids: Iterable[int], text: str) -> None:
    _publish(events.publish_to_users, user_ids=list(user_ids), text=text)


def _collected(function: Callable[..., T], kwargs: dict) -> tuple[T, list]:
    pending: list = []
    _collecting.pending = pending
    try:
        return function(**kwargs), pending
    finally:
        _collecting.pending = None


async def arun(
    function: Callable[..., T],
    /,
    *,
    answer: Callable[[T], Awaitable[None]] | None = None,
    **kwargs: Any,
) -> T:
    """Run a service of this module from async code (the consumers): its
    database work on a thread, then `answer` (the sender's ack), then its
    frames published from the loop: store, ack, fan out."""
    result, pending = await database_sync_to_async(_collected)(function, kwargs)
    if answer is not None:
        await answer(result)
    for publish, publish_kwargs in pending:
        await publish(**publish_kwargs)
    return result


def _audience(support: SupportConversation) -> list[int]:
    """Who hears of a conversation: its site's agents and its team's."""
    ids = set(support.site.agents.values_list("pk", flat=True))
    if support.team_id is not None:
        ids.update(
            User.objects.filter(support_teams=support.team_id).values_list(
                "pk", flat=True
            )
        )
    return sorted(ids)


def _tell_team(support: SupportConversation, also: Iterable[int] = ()) -> None:
    text = events.dumps(
        {"type": "support.conversation", "conversation": conversation_payload(support)}
    )
    _later(sorted({*_audience(support), *also}), text)


def _tell_visitor(support: SupportConversation, text: str) -> None:
    """A frame of the conversation's state (queue, agent.joined, closed): the
    visitor's connections forget what they read of it."""
    _publish(
        events.publish_to_users,
        user_ids=[support.visitor.user_id],
        text=text,
        state=True,
    )


# --- reading -------------------------------------------------------------------------


def _loaded():
    return SupportConversation.objects.select_related(
        "site", "visitor", "agent", "offered_to", "conversation", "team"
    )


def conversation_for_agent(user: User, conversation_id, *, lock=False):
    if isinstance(conversation_id, bool) or not isinstance(conversation_id, int | str):
        raise InvalidInput("invalid", "'conversation' must be a conversation's id.")
    try:
        pk = int(conversation_id)
    except ValueError:
        raise InvalidInput("invalid", "'conversation' must be an id.") from None
    if not 0 < pk < 2**63:
        raise NotFound("No such support conversation.")
    support = _loaded().filter(pk=pk).first()
    if support is None or not may_work_on(user, support):
        raise NotFound("No such support conversation.")
    if lock:
        # The site, its team, then the row, as route() and route_team() do:
        # one order of locks, no deadlock.
        SupportSite.objects.select_for_update().filter(pk=support.site_id).first()
        if support.team_id is not None:
            SupportTeam.objects.select_for_update().filter(pk=support.team_id).first()
        support = _loaded().select_for_update(of=("self",)).get(pk=pk)
    return support


def reloaded(support: SupportConversation) -> SupportConversation:
    return _loaded().get(pk=support.pk)


def conversations_for_agent(user: User, *, status: str | None = None) -> list[dict]:
    query = _loaded().filter(visible_filter(user)).distinct()
    if status:
        if status not in SupportConversation.Status.values:
            raise InvalidInput("invalid", "Unknown status.")
        query = query.filter(status=status)
    else:
        query = query.exclude(status=SupportConversation.Status.CLOSED)
    return [conversation_payload(support) for support in query[:500]]


def latest_of(visitor: Visitor) -> SupportConversation | None:
    return _loaded().filter(visitor=visitor).order_by("-queued_at", "-pk").first()


def open_of(visitor: Visitor) -> SupportConversation | None:
    return (
        _loaded()
        .filter(visitor=visitor)
        .exclude(status=SupportConversation.Status.CLOSED)
        .order_by("-queued_at", "-pk")
        .first()
    )


def open_count(agent_id: int) -> int:
    return SupportConversation.objects.filter(
        Q(agent_id=agent_id, status=SupportConversation.Status.ASSIGNED)
        | Q(offered_to_id=agent_id, status=SupportConversation.Status.OFFERED)
    ).count()


def online_agents(site: SupportSite) -> list[User]:
    return _online(site.agents.all())


def _online(users) -> list[User]:
    return [
        user
        for user in users.filter(is_active=True).order_by("pk")
        if presence.has_open_page(user.pk)
    ]


def _same_queue(support: SupportConversation) -> Q:
    """The conversations waiting in one queue with this one: its team's
    (from any site), or else its site's own."""
    if support.team_id is not None:
        return Q(team_id=support.team_id)
    return Q(site_id=support.site_id, team__isnull=True)


def is_available(site: SupportSite) -> bool:
    """Whether a visitor may start a chat now: within hours, someone online."""
    return business_hours.is_open(site) and bool(online_agents(site))


def widget_config(site: SupportSite) -> dict:
    """What the widget shows before anything is sent (no visitor needed)."""
    return {
        "site": site.public_key,
        "name": site.name,
        "greeting": site.greeting,
        "prechat": {"name": site.prechat_name, "email": site.prechat_email},
        "offline_message": site.offline_message,
        "open": is_available(site),
    }


def queue_position(support: SupportConversation) -> tuple[int, int]:
    """(position from 1, estimated wait in seconds) of a waiting conversation."""
    ahead = (
        SupportConversation.objects.filter(_same_queue(support), status__in=WAITING)
        .filter(
            Q(queued_at__lt=support.queued_at)
            | Q(queued_at=support.queued_at, pk__lt=support.pk)
        )
        .count()
    )
    position = ahead + 1
    recent = list(
        SupportConversation.objects.filter(
            _same_queue(support), assigned_at__isnull=False
        )
        .order_by("-assigned_at")
        .values_list("queued_at", "assigned_at")[:20]
    )
    waits = [
        (assigned - queued).total_seconds()
        for queued, assigned in recent
        if assigned is not None
    ]
    per_place = sum(waits) / len(waits) if waits else DEFAULT_WAIT_SECONDS
    return position, max(0, round(position * max(per_place, 1)))


def visitor_state_frames(visitor: Visitor) -> list[str]:
    """What a visitor's socket says after hello: its queue place or its agent."""
    support = open_of(visitor)
    if support is None:
        return []
    if support.status == SupportConversation.Status.ASSIGNED and support.agent:
        return [agent_joined_frame(support.agent, support.pk)]
    position, wait = queue_position(support)
    return [queue_frame(position, wait)]


# --- routing ------------------------------------------------------------------


def route(site: SupportSite) -> None:
    """Offer the site's queued conversations (those not transferred to a
    team), in order, to its online agents under capacity (the one with the
    fewest open first), then tell everyone waiting their place. Runs in the
    caller's transaction."""
    site = SupportSite.objects.select_for_update().get(pk=site.pk)  # one at a time
    mine = _loaded().filter(site=site, team__isnull=True)
    _offer(mine.filter(status=SupportConversation.Status.QUEUED), online_agents(site))
    _tell_queue(mine)


def route_team(team: SupportTeam) -> None:
    """The same for the conversations transferred to `team`, from any site:
    its online agents, each conversation's site's capacity."""
    team = SupportTeam.objects.select_for_update().get(pk=team.pk)
    mine = _loaded().filter(team=team)
    queued = mine.filter(status=SupportConversation.Status.QUEUED)
    _offer(queued.select_for_update(of=("self",)), _online(team.agents.all()))
    _tell_queue(mine)


def _route_for(support: SupportConversation) -> None:
    """Route the queues a change of this conversation may move."""
    route(support.site)
    if support.team is not None:
        route_team(support.team)


def _offer(queued, agents: list[User]) -> None:
    counts = {agent.pk: open_count(agent.pk) for agent in agents}
    for support in queued.order_by("queued_at", "pk"):
        capacity = support.site.capacity
        free = [a for a in agents if counts[a.pk] < capacity]
        if not free:
            continue  # another site's conversation may have room still
        fresh = [a for a in free if a.pk not in set(support.passed_by)]
        if not fresh:
            # Every free agent let it pass once: start the round again rather
            # than leave it waiting for no one.
            support.passed_by = []
            fresh = free
        agent = min(fresh, key=lambda a: (counts[a.pk], a.pk))
        support.status = SupportConversation.Status.OFFERED
        support.offered_to = agent
        support.offered_at = business_hours.now()
        support.save(update_fields=["status", "offered_to", "offered_at", "passed_by"])
        counts[agent.pk] += 1
        _tell_team(support)


def _tell_queue(conversations) -> None:
    """Each waiting visitor's place (`queue`), and the same to the team."""
    waiting = list(conversations.filter(status__in=WAITING).order_by("queued_at", "pk"))
    for support in waiting:
        position, wait = queue_position(support)
        _tell_visitor(support, queue_frame(position, wait))
        _later(_audience(support), queue_frame(position, wait, support.pk))


def expire_offers() -> int:
    """Offers not taken within SUPPORT_ACCEPT_SECONDS go to the next agent;
    returns how many. Safe to run in several processes at once."""
    deadline = business_hours.now() - dt.timedelta(
        seconds=settings.SUPPORT_ACCEPT_SECONDS
    )
    due = SupportConversation.objects.filter(
        status=SupportConversation.Status.OFFERED, offered_at__lte=deadline
    )
    expired = 0
    site_ids = due.filter(team__isnull=True).values_list("site_id", flat=True)
    for site_id in set(site_ids):
        with transaction.atomic():
            # The queue's lock first (route's order); another process that
            # holds it is doing this queue already.
            site = (
                SupportSite.objects.select_for_update(skip_locked=True)
                .filter(pk=site_id)
                .first()
            )
            if site is not None:
                expired += _expire(due.filter(site_id=site_id, team__isnull=True))
                route(site)
    team_ids = due.filter(team__isnull=False).values_list("team_id", flat=True)
    for team_id in set(team_ids):
        with transaction.atomic():
            team = (
                SupportTeam.objects.select_for_update(skip_locked=True)
                .filter(pk=team_id)
                .first()
            )
            if team is not None:
                expired += _expire(due.filter(team_id=team_id))
                route_team(team)
    return expired


def _expire(due) -> int:
    expired = 0
    for support in due.select_for_update():
        if support.offered_to_id is not None:
            support.passed_by = [*support.passed_by, support.offered_to_id]
        support.status = SupportConversation.Status.QUEUED
        support.offered_to = None
        support.offered_at = None
        support.save(update_fields=["status", "offered_to", "offered_at", "passed_by"])
        expired += 1
    return expired


def route_all() -> None:
    """Offer what waits in every queue (an agent came online, say)."""
    for site in SupportSite.objects.filter(
        conversations__status=SupportConversation.Status.QUEUED,
        conversations__team__isnull=True,
    ).distinct():
        with transaction.atomic():
            route(site)
    for team in SupportTeam.objects.filter(
        conversations__status=SupportConversation.Status.QUEUED
    ).distinct():
        with transaction.atomic():
            route_team(team)


# --- the visitor's side ---------------------------------------------------------------


def _start(visitor: Visitor, *, offline: bool = False) -> SupportConversation:
    now = business_hours.now()
    conversation = Conversation.objects.create(
        kind=Conversation.Kind.SUPPORT, created_at=now
    )
    Membership.objects.create(conversation=conversation, user=visitor.user)
    support = SupportConversation.objects.create(
        conversation=conversation,
        site=visitor.site,
        visitor=visitor,
        queued_at=now,
        opened_at=now,
        offline=offline,
        status=SupportConversation.Status.CLOSED
        if offline
        else SupportConversation.Status.QUEUED,
        closed_at=now if offline else None,
    )
    SupportOpening.objects.create(support=support, opened_at=now)
    return _loaded().get(pk=support.pk)


def _publish_message(support: SupportConversation, message: Message) -> None:
    conversation = message.conversation
    ids = [support.visitor.user_id]
    if support.agent_id is not None:
        ids.append(support.agent_id)
    conversation.support_user_ids = ids  # type: ignore[attr-defined]
    _publish(events.publish_message, message=message)


def visitor_send(
    *, visitor: Visitor, body, client_id=None, attachments=None
) -> tuple[Message, bool]:
    """A visitor's message: to their open conversation, or the first of a new
    one (queued and routed) if the site takes chats now."""
    with transaction.atomic():
        # One visitor's tabs start one conversation, not one each.
        Visitor.objects.select_for_update().filter(pk=visitor.pk).first()
        found = open_of(visitor)
        started = found is None
        if found is None:
            visitor.site.refresh_from_db()  # its hours as they are now
            if not is_available(visitor.site):
                raise Offline()
            found = _start(visitor)
        support = found
        message, created = store_in_conversation(
            conversation=support.conversation,
            sender=visitor.user,
            body=body,
            client_id=client_id,
            attachments=attachments,
        )
        if created:
            _publish_message(support, message)
        if started:
            _tell_team(support)
            route(support.site)
    return message, created


def visitor_typing_targets(visitor: Visitor) -> tuple[int | None, list[int]]:
    """(conversation id, agent ids) a visitor's typing goes to."""
    support = open_of(visitor)
    if support is None or support.agent_id is None:
        return None, []
    return support.pk, [support.agent_id]


def rate(*, visitor: Visitor, rating, comment="") -> SupportConversation:
    """The visitor's rating (1-5) and comment of their last closed conversation."""
    if isinstance(rating, bool) or not isinstance(rating, int) or not 1 <= rating <= 5:
        raise InvalidInput("invalid", "'rating' is a whole number from 1 to 5.")
    if not isinstance(comment, str) or len(comment) > 2000:
        raise InvalidInput("invalid", "'comment' is at most 2000 characters.")
    with transaction.atomic():
        support = (
            _loaded()
            .filter(visitor=visitor, status=SupportConversation.Status.CLOSED)
            .order_by("-closed_at", "-pk")
            .first()
        )
        if support is None:
            raise NotFound("No closed conversation to rate.")
        support.rating, support.rating_comment = rating, comment.strip()
        support.save(update_fields=["rating", "rating_comment"])
        _tell_team(support)
    return support


def transcript(*, visitor: Visitor, email=None) -> str:
    """Email the visitor's last conversation to them; returns the address."""
    address = email if isinstance(email, str) and email.strip() else visitor.email
    if not address or "@" not in address or len(address) > 254:
        raise InvalidInput("invalid", "'email' is needed for the transcript.")
    support = latest_of(visitor)
    if support is None:
        raise NotFound("No conversation yet.")
    lines = []
    for message in Message.objects.filter(
        conversation_id=support.pk, deleted_at__isnull=True
    ).select_related("sender"):
        when = message.created_at.strftime("%Y-%m-%d %H:%M")
        lines.append(f"[{when}] {_name(message.sender)}: {message.body}")
    subject = _("Your conversation with %(site)s") % {"site": support.site.name}
    send_mail(subject, "\n".join(lines) + "\n", None, [address.strip()])
    return address.strip()


def leave_message(
    *, site: SupportSite, visitor: Visitor | None, name, email, body
) -> SupportConversation:
    """The offline form: stored as a (closed, offline) conversation and
    emailed to the team."""
    if not isinstance(email, str) or "@" not in email:
        raise InvalidInput("invalid", "'email' is required.")
    body = clean_body(body)
    with transaction.atomic():
        fields = {"name": name, "email": email}
        if visitor is None:
            visitor = register_visitor(site=site, fields=fields)
        else:
            visitor.email = email.strip()[:254]
            if isinstance(name, str) and name.strip():
                visitor.name = name.strip()[:200]
            visitor.save(update_fields=["email", "name"])
        support = _start(visitor, offline=True)
        store_in_conversation(
            conversation=support.conversation,
            sender=visitor.user,
            body=body,
            client_id=f"offline-{support.pk}",
        )
        _tell_team(support)
        team = list(
            site.agents.filter(is_active=True)
            .exclude(email="")
            .values_list("email", flat=True)
        )
    if team:
        subject = _("Message left on %(site)s") % {"site": site.name}
        text = f"{visitor.display_name} <{visitor.email}>:\n\n{body}\n"
        send_mail(subject, text, None, team)
    return support


# --- the agent's side -----------------------------------------------------------


def _assign(support: SupportConversation, agent: User) -> None:
    now = business_hours.now()
    previous = support.agent_id
    support.status = SupportConversation.Status.ASSIGNED
    support.agent = agent
    support.offered_to = None
    support.offered_at = None
    support.assigned_at = support.assigned_at or now
    support.save()
    if previous is not None and previous != agent.pk:
        Membership.objects.filter(conversation_id=support.pk, user_id=previous).delete()
    Membership.objects.get_or_create(conversation_id=support.pk, user=agent)
    SupportOpening.objects.filter(support=support, closed_at__isnull=True).update(
        agent=agent
    )
    _tell_visitor(support, agent_joined_frame(agent, support.pk))
    _tell_team(support)


def take(*, agent: User, conversation_id) -> SupportConversation:
    """An agent takes a waiting conversation (offered to them, or by hand)."""
    with transaction.atomic():
        support = conversation_for_agent(agent, conversation_id, lock=True)
        if support.status not in WAITING:
            if support.status == SupportConversation.Status.ASSIGNED and (
                support.agent_id == agent.pk
            ):
                return support
            raise InvalidInput("not_waiting", "This conversation is not waiting.")
        _assign(support, agent)
        _route_for(support)
    return support


def agent_send(
    *, agent: User, conversation_id, body, client_id=None, attachments=None
) -> tuple[Message, bool]:
    """A message of the conversation's agent (an offered one is taken by it)."""
    with transaction.atomic():
        support = conversation_for_agent(agent, conversation_id, lock=True)
        if support.status in WAITING:
            _assign(support, agent)
            _route_for(support)
        elif support.status == SupportConversation.Status.CLOSED:
            raise InvalidInput("closed", "This conversation is closed: reopen it.")
        elif support.agent_id != agent.pk:
            raise Forbidden("Another agent has this conversation.")
        message, created = store_in_conversation(
            conversation=support.conversation,
            sender=agent,
            body=body,
            client_id=client_id,
            attachments=attachments,
        )
        if created:
            SupportOpening.objects.filter(
                support=support, closed_at__isnull=True, first_response_at__isnull=True
            ).update(first_response_at=business_hours.now())
            _publish_message(support, message)
    return message, created


def agent_typing_targets(agent: User, conversation_id) -> list[int]:
    support = conversation_for_agent(agent, conversation_id)
    if support.agent_id != agent.pk or support.status != "assigned":
        return []
    return [support.visitor.user_id]


def add_note(*, agent: User, conversation_id, body) -> SupportNote:
    """An internal note: to the team's connections only, never the visitor's."""
    body = clean_body(body)
    with transaction.atomic():
        support = conversation_for_agent(agent, conversation_id)
        return _note(support, agent, body)


def _note(
    support: SupportConversation,
    author: User,
    body: str,
    *,
    transfer_to: User | None = None,
    transfer_team: SupportTeam | None = None,
    also: Iterable[int] = (),
) -> SupportNote:
    note = SupportNote.objects.create(
        support=support,
        author=author,
        body=body,
        transfer_to=transfer_to,
        transfer_team=transfer_team,
        created_at=business_hours.now(),
    )
    text = events.dumps({"type": "support.note", "note": note_payload(note)})
    _later(sorted({*_audience(support), *also}), text)
    return note


def notes_of(agent: User, conversation_id) -> list[dict]:
    support = conversation_for_agent(agent, conversation_id)
    notes = support.notes.select_related("author", "transfer_to", "transfer_team")
    return [note_payload(note) for note in notes]


def _agent_named(support: SupportConversation, to) -> User:
    """`to`: the username of an agent who may work on the conversation."""
    if not isinstance(to, str) or len(to) > 150:
        raise InvalidInput("invalid", "'to' must be an agent's username.")
    target = User.objects.filter(username=to, is_active=True).first()
    in_site = target is not None and support.site.agents.filter(pk=target.pk).exists()
    in_team = (
        target is not None
        and support.team is not None
        and support.team.agents.filter(pk=target.pk).exists()
    )
    if target is None or not (in_site or in_team):
        raise InvalidInput("invalid", "'to' must be an agent of the team.")
    return target


def _team_named(name) -> SupportTeam:
    if not isinstance(name, str) or not name.strip() or len(name) > 100:
        raise InvalidInput("invalid", "'team' must be a team's name.")
    team = SupportTeam.objects.filter(name=name.strip()).first()
    if team is None:
        raise InvalidInput("invalid", "'team' must be a team's name.")
    return team


def transfer(
    *, agent: User, conversation_id, to=None, team=None, note=""
) -> SupportConversation:
    """Hand over to another agent (`to`, a username), to another team (`team`,
    its name: back in that team's queue), or back to the queue (neither);
    with a note the receiver sees first."""
    with transaction.atomic():
        support = conversation_for_agent(agent, conversation_id, lock=True)
        if support.status == SupportConversation.Status.CLOSED:
            raise InvalidInput("closed", "This conversation is closed.")
        if to is not None and team is not None:
            raise InvalidInput("invalid", "Transfer to an agent or a team, not both.")
        target = _agent_named(support, to) if to is not None else None
        target_team = _team_named(team) if team is not None else None
        before = _audience(support)
        if target is not None:
            _assign(support, target)
        else:
            if support.agent_id is not None:
                Membership.objects.filter(
                    conversation_id=support.pk, user_id=support.agent_id
                ).delete()
            support.status = SupportConversation.Status.QUEUED
            support.agent = None
            support.offered_to = None
            support.offered_at = None
            if target_team is not None:
                SupportTeam.objects.select_for_update().filter(
                    pk=target_team.pk
                ).first()
                support.team = target_team
                support.passed_by = []
            else:
                support.passed_by = [agent.pk]
            support.save()
            _tell_team(support, also=before)
        if isinstance(note, str) and note.strip():
            _note(
                support,
                agent,
                clean_body(note),
                transfer_to=target,
                transfer_team=target_team,
                also=before,
            )
        _route_for(support)
    return support


def close(*, conversation_id, agent: User | None = None, visitor=None):
    """Close (the agent, or the visitor their own): the visitor hears
    `conversation.closed`; the agent's capacity frees."""
    with transaction.atomic():
        if visitor is not None:
            support = open_of(visitor)
            if support is None:
                raise NotFound("No open conversation.")
            support = _loaded().select_for_update(of=("self",)).get(pk=support.pk)
        elif agent is not None:
            support = conversation_for_agent(agent, conversation_id, lock=True)
        else:
            raise InvalidInput("invalid", "Closed by an agent or its visitor.")
        if support.status == SupportConversation.Status.CLOSED:
            return support
        now = business_hours.now()
        support.status = SupportConversation.Status.CLOSED
        support.closed_at = now
        support.offered_to = None
        support.save()
        SupportOpening.objects.filter(support=support, closed_at__isnull=True).update(
            closed_at=now
        )
        _tell_visitor(support, closed_frame(support.pk))
        _tell_team(support)
        _route_for(support)
    return support


def reopen(*, agent: User, conversation_id) -> SupportConversation:
    """Open a closed conversation again, as the reopening agent's."""
    with transaction.atomic():
        support = conversation_for_agent(agent, conversation_id, lock=True)
        if support.status != SupportConversation.Status.CLOSED:
            raise InvalidInput("not_closed", "This conversation is not closed.")
        now = business_hours.now()
        support.closed_at = None
        support.opened_at = now
        support.save()
        SupportOpening.objects.create(support=support, opened_at=now, agent=agent)
        _assign(support, agent)
        _route_for(support)
    return support


def history(agent: User, conversation_id) -> list[dict]:
    support = conversation_for_agent(agent, conversation_id)
    messages = Message.objects.filter(conversation_id=support.pk).select_related(
        "sender", "conversation"
    )
    return [events.message_payload(message) for message in messages[:1000]]
