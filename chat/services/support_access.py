"""Who may see and work on a support conversation: staff, the agents of its
site, and the agents of the team it was transferred to (docs/protocol.md,
"Support"). Reads only; models only, so that uploads can ask it too."""

from django.db.models import Q

from accounts.models import User
from chat.models import SupportConversation, SupportSite


def sites_of(user: User):
    """The sites whose agents `user` is one of (staff: all)."""
    if user.is_staff:
        return SupportSite.objects.all()
    return SupportSite.objects.filter(agents=user)


def visible_filter(user: User) -> Q:
    """The support conversations `user` sees: their sites' and those
    transferred to a team of theirs."""
    if user.is_staff:
        return Q()
    return Q(site__agents=user) | Q(team__agents=user)


def may_work_on(user: User, support: SupportConversation) -> bool:
    if not user.is_active:
        return False
    if user.is_staff:
        return True
    return (
        SupportConversation.objects.filter(pk=support.pk)
        .filter(visible_filter(user))
        .exists()
    )


def may_see_files_of(user: User, conversation_id: int) -> bool:
    """Whether `user` works on the support conversation (a file's download)."""
    support = SupportConversation.objects.filter(pk=conversation_id).first()
    return support is not None and may_work_on(user, support)
