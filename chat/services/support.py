"""Customer support: sites, visitors and their tokens (docs/protocol.md,
"Support"). Conversations and their routing are in support_routing."""

import hashlib
import hmac
import secrets
from urllib.parse import urlsplit

from django.core import signing
from django.core.validators import validate_email
from django.db import transaction

from accounts.models import User
from chat.errors import Forbidden, InvalidInput, NotFound
from chat.models import SupportSite, Visitor

from . import business_hours

TOKEN_SALT = "chat.support.visitor"  # noqa: S105 (a salt, not a secret)
FIELD_MAX = {"page_url": 2000, "user_agent": 500, "time_zone": 64}


def clean_origin(value: object) -> str:
    """`scheme://host[:port]` of an http(s) URL, else invalid."""
    parts = urlsplit(str(value or "").strip())
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise InvalidInput("invalid", f"'{value}' is not an http(s) origin.")
    return f"{parts.scheme}://{parts.netloc}".lower()


def create_site(
    *,
    name: str,
    origins: list[str],
    agents: list[User] = (),  # type: ignore[assignment]
    time_zone: str = "UTC",
    business_hours_ranges: list[dict] | None = None,
    holidays: list[str] | None = None,
    capacity: int = 3,
) -> SupportSite:
    """A new support site (its public key and secret made here)."""
    name = str(name or "").strip()
    if not name or len(name) > 200:
        raise InvalidInput("invalid", "A site's name is 1-200 characters.")
    site = SupportSite(
        name=name,
        allowed_origins="\n".join(clean_origin(origin) for origin in origins),
        time_zone=business_hours.clean_zone(time_zone),
        business_hours=business_hours.clean_hours(business_hours_ranges or []),
        holidays=list(holidays or []),
        capacity=capacity,
    )
    with transaction.atomic():
        site.save()
        site.agents.set(agents)
    return site


def site_by_key(public_key: object) -> SupportSite:
    if not isinstance(public_key, str) or not public_key or len(public_key) > 64:
        raise NotFound("No such support site.")
    site = SupportSite.objects.filter(public_key=public_key).first()
    if site is None:
        raise NotFound("No such support site.")
    return site


def origin_allowed(site: SupportSite, origin: str | None) -> bool:
    if not origin:
        return False
    return origin.rstrip("/").lower() in {o.lower() for o in site.origins}


def require_origin(site: SupportSite, origin: str | None) -> None:
    if not origin_allowed(site, origin):
        raise Forbidden("This page's origin may not use this site's widget.")


def user_hash(site: SupportSite, user_id: str) -> str:
    """data-user-hash: HMAC-SHA256 of the site's user id with its secret (hex)."""
    return hmac.new(
        site.secret.encode(), str(user_id).encode(), hashlib.sha256
    ).hexdigest()


def _prechat(site: SupportSite, fields: dict) -> dict:
    found = {}
    for key, mode in (("name", site.prechat_name), ("email", site.prechat_email)):
        value = fields.get(key)
        value = value.strip() if isinstance(value, str) else ""
        if mode == SupportSite.Field.OFF:
            value = ""
        elif mode == SupportSite.Field.REQUIRED and not value:
            raise InvalidInput("invalid", f"'{key}' is required.")
        found[key] = value
    if found["email"]:
        try:
            validate_email(found["email"])
        except Exception:
            raise InvalidInput("invalid", "'email' is not an email address.") from None
    for key, limit in FIELD_MAX.items():
        value = fields.get(key)
        found[key] = value.strip()[:limit] if isinstance(value, str) else ""
    found["name"] = found["name"][:200]
    return found


def register_visitor(
    *, site: SupportSite, fields: dict, user_id=None, user_hash_value=None
) -> Visitor:
    """A new visitor, or the site's known user again (data-user-id with its
    data-user-hash): the same visitor on any device. Pre-chat fields given
    update the visitor's."""
    cleaned = _prechat(site, fields)
    external = ""
    if user_id is not None or user_hash_value is not None:
        if not isinstance(user_id, str | int) or not str(user_id).strip():
            raise InvalidInput("invalid", "'user_id' must be the site's user id.")
        external = str(user_id).strip()[:200]
        if not isinstance(user_hash_value, str) or not hmac.compare_digest(
            user_hash_value.lower(), user_hash(site, external)
        ):
            raise Forbidden("'user_hash' does not match 'user_id'.")
    with transaction.atomic():
        visitor = None
        if external:
            visitor = (
                Visitor.objects.select_for_update()
                .filter(site=site, external_id=external)
                .first()
            )
        if visitor is None:
            user = User(username=f"visitor-{secrets.token_hex(8)}")
            user.set_unusable_password()
            user.save()
            visitor = Visitor(site=site, user=user, external_id=external)
        for key, value in cleaned.items():
            if value:
                setattr(visitor, key, value)
        visitor.save()
        # Frames show a visitor as its user (events.display_name).
        if visitor.user.first_name != visitor.display_name[:150]:
            visitor.user.first_name = visitor.display_name[:150]
            visitor.user.save(update_fields=["first_name"])
    return visitor


def visitor_token(visitor: Visitor) -> str:
    """The signed token the widget keeps: names the visitor and its site."""
    return signing.dumps({"v": visitor.pk, "s": visitor.site_id}, salt=TOKEN_SALT)


def visitor_from_token(site: SupportSite, token: object) -> Visitor:
    """The visitor a token names, on this site only; else forbidden."""
    if not isinstance(token, str) or not token or len(token) > 500:
        raise Forbidden("A visitor token is required.")
    try:
        data = signing.loads(token, salt=TOKEN_SALT)
    except signing.BadSignature:
        raise Forbidden("This visitor token is not valid.") from None
    if not isinstance(data, dict) or data.get("s") != site.pk:
        raise Forbidden("This visitor token is not valid.")
    visitor_id = data.get("v")
    if not isinstance(visitor_id, int):
        raise Forbidden("This visitor token is not valid.")
    visitor = (
        Visitor.objects.select_related("user", "site").filter(pk=visitor_id).first()
    )
    if visitor is None or visitor.site_id != site.pk:
        raise Forbidden("This visitor token is not valid.")
    return visitor


def visitor_payload(visitor: Visitor) -> dict:
    return {
        "id": visitor.pk,
        "display_name": visitor.display_name,
        "name": visitor.name,
        "email": visitor.email,
    }
