"""Attachments: storing an upload, attaching it to a message, purging files.

The type comes from the content (filetype), never from the name. An image is
decoded once, under a pixel cap (decompression bombs are refused), turned by its
EXIF orientation and stored again without its metadata (GPS included); its
thumbnail is made from the same decoded picture. The caller runs this off the
event loop (a sync view: a thread of its own under daphne).
"""

import io
import logging
import os
import unicodedata
from datetime import timedelta
from http import HTTPStatus

import filetype  # type: ignore[import-untyped]
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.db.models import Q, Sum
from django.utils import timezone
from PIL import Image, ImageOps, UnidentifiedImageError

from accounts.models import User
from chat.errors import ChatError, InvalidInput, NotFound
from chat.models import Conversation, Membership, Message, Upload

from .support_access import may_see_files_of

logger = logging.getLogger(__name__)

# How much of a file filetype reads to tell its type.
HEAD_BYTES = 8192
# Re-encoded without metadata; the thumbnail's format beside each.
IMAGE_FORMATS = {
    "image/jpeg": "JPEG",
    "image/png": "PNG",
    "image/webp": "WEBP",
    "image/gif": "GIF",
}


class TooLarge(ChatError):
    """Over a size limit: `too_long` (one file) or `quota` (all of a user's)."""

    status = HTTPStatus.REQUEST_ENTITY_TOO_LARGE


class UnsupportedType(ChatError):
    status = HTTPStatus.UNSUPPORTED_MEDIA_TYPE

    def __init__(self, detail: str):
        super().__init__("unsupported_type", detail)


def file_too_large() -> TooLarge:
    limit = settings.CHAT_UPLOAD_MAX_BYTES
    return TooLarge("too_long", f"A file is at most {limit} bytes.")


def content_type_of(head: bytes) -> str | None:
    """The type the content shows (plain text: UTF-8 without NULs), or None."""
    kind = filetype.guess(head)
    if kind is not None:
        return kind.mime
    if b"\x00" in head:
        return None
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A character cut at the end of the head is still text.
        if exc.start < len(head) - 3:
            return None
    return "text/plain"


def clean_name(name) -> str:
    """The file's name as shown: its last path part, printable, at most 200."""
    name = os.path.basename(str(name or "").replace("\\", "/"))
    name = "".join(
        c for c in unicodedata.normalize("NFC", name) if c.isprintable()
    ).strip()
    return name[:200] or "file"


def used_bytes(user: User) -> int:
    """What `user`'s stored files take (files not yet removed from storage)."""
    total = (
        Upload.objects.filter(owner=user)
        .exclude(file="")
        .aggregate(total=Sum("size"))["total"]
    )
    return total or 0


def store_upload(*, owner: User, file: UploadedFile) -> Upload:
    """Check and store one uploaded file; refuses with too_long, quota,
    unsupported_type or invalid (an image that cannot be decoded or is too big)."""
    size = file.size or 0
    if size > settings.CHAT_UPLOAD_MAX_BYTES:
        raise file_too_large()
    if size == 0:
        raise InvalidInput("empty", "The file is empty.")
    file.seek(0)
    head = file.read(HEAD_BYTES)
    file.seek(0)
    content_type = content_type_of(head)
    if content_type is None or content_type not in settings.CHAT_UPLOAD_TYPES:
        raise UnsupportedType(
            f"Files of this type ({content_type or 'unknown'}) cannot be uploaded."
        )
    if used_bytes(owner) + size > settings.CHAT_UPLOAD_QUOTA_BYTES:
        raise TooLarge("quota", "Your files have used up your storage quota.")
    name = clean_name(file.name)
    upload = Upload(owner=owner, name=name, size=size, content_type=content_type)
    if content_type in IMAGE_FORMATS:
        data, thumbnail, (upload.width, upload.height) = _clean_image(
            file, content_type
        )
        upload.size = len(data)
        upload.file.save(_stored_name(name), ContentFile(data), save=False)
        upload.thumbnail.save(_stored_name("thumbnail"), thumbnail, save=False)
    else:
        upload.file.save(_stored_name(name), file, save=False)
    try:
        upload.save()
    except BaseException:
        remove_files(upload)
        raise
    return upload


def _stored_name(name: str) -> str:
    """A storage name that tells nothing: the URL never shows it anyway."""
    suffix = os.path.splitext(name)[1].lower()
    if not suffix.isascii() or not suffix[1:].isalnum() or len(suffix) > 8:
        suffix = ""
    return f"{os.urandom(16).hex()}{suffix}"


def _clean_image(file, content_type: str) -> tuple[bytes, ContentFile, tuple]:
    """The image again without metadata, its thumbnail, and its size."""
    refused = InvalidInput("invalid", "The image cannot be read.")
    try:
        with Image.open(file) as image:
            width, height = image.size
            if width * height > settings.CHAT_UPLOAD_MAX_PIXELS:
                raise InvalidInput(
                    "invalid",
                    f"An image is at most {settings.CHAT_UPLOAD_MAX_PIXELS} pixels.",
                )
            frames = getattr(image, "n_frames", 1)
            if frames > 1 and width * height * frames > settings.CHAT_UPLOAD_MAX_PIXELS:
                raise InvalidInput("invalid", "The animation has too many pixels.")
            image.load()
            if frames > 1:
                # An animation is kept as sent but for its metadata.
                out = io.BytesIO()
                image.save(out, format="GIF", save_all=True)
                picture = image.convert("RGBA")
            else:
                picture = ImageOps.exif_transpose(image)
                out = io.BytesIO()
                _save(picture, out, IMAGE_FORMATS[content_type])
    except ChatError:
        raise
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise refused from exc
    except Image.DecompressionBombError as exc:
        raise refused from exc
    size = picture.size
    edge = settings.CHAT_UPLOAD_THUMBNAIL_SIZE
    thumb = picture.copy()
    thumb.thumbnail((edge, edge))
    thumb_out = io.BytesIO()
    thumb_format = "PNG" if thumb.mode in {"RGBA", "LA", "P"} else "JPEG"
    _save(thumb, thumb_out, thumb_format)
    return out.getvalue(), ContentFile(thumb_out.getvalue()), size


def _save(image: Image.Image, out: io.BytesIO, format: str) -> None:
    """Encode without EXIF, XMP or comments (Pillow writes only what it is given)."""
    if format == "JPEG" and image.mode not in {"RGB", "L", "CMYK"}:
        image = image.convert("RGB")
    options: dict = {"quality": 90} if format in {"JPEG", "WEBP"} else {}
    image.info.pop("exif", None)
    image.save(out, format=format, **options)


# --- attaching ----------------------------------------------------------------


def clean_attachment_ids(value) -> list[int]:
    """The upload ids a message asks for: a list of at most 10 distinct ids."""
    if value is None:
        return []
    limit = settings.CHAT_UPLOAD_MAX_FILES
    if not isinstance(value, list) or not all(
        isinstance(item, int) and not isinstance(item, bool) and 0 < item < 2**63
        for item in value
    ):
        raise InvalidInput("invalid", "'attachments' must be a list of upload ids.")
    if len(value) > limit:
        raise InvalidInput("too_long", f"A message has at most {limit} attachments.")
    if len(set(value)) != len(value):
        raise InvalidInput("invalid", "An upload is attached once.")
    return value


def uploads_by_id(ids: list[int]) -> dict[int, Upload]:
    return {upload.pk: upload for upload in Upload.objects.filter(pk__in=ids)}


def attachment_payloads(uploads: list[Upload]) -> list[dict]:
    from chat.events import upload_payload

    return [upload_payload(upload) for upload in uploads]


def claim(uploads_of: dict[int, list[int]], *, owners: dict[int, int]) -> set[int]:
    """Under the message ordering lock, before the insert: which of the
    messages (by index) can still have all their uploads. Two messages asking
    for one upload: the first has it."""
    wanted = {pk for ids in uploads_of.values() for pk in ids}
    free = set(
        Upload.objects.filter(pk__in=wanted, attached_at__isnull=True)
        .exclude(file="")
        .values_list("pk", "owner_id")
    )
    granted = set()
    taken: set[int] = set()
    for index, ids in uploads_of.items():
        owner = owners[index]
        if all((pk, owner) in free and pk not in taken for pk in ids):
            taken.update(ids)
            granted.add(index)
    return granted


def attach(*, message: Message, ids: list[int]) -> None:
    """Point the uploads at their message (in the insert's transaction)."""
    if ids:
        Upload.objects.filter(pk__in=ids).update(
            message=message, attached_at=message.created_at
        )


# --- unreachable files ---------------------------------------------------------


def visible_upload(*, user: User, upload_id: int, key: str) -> Upload:
    """The upload if `user` may download it, else NotFound (never 403: a
    stranger learns nothing, not even that the file exists)."""
    missing = NotFound("No such file.")
    upload = (
        Upload.objects.filter(pk=upload_id, key=key)
        .exclude(file="")
        .select_related("message__conversation")
        .first()
    )
    if upload is None or upload.purge_after is not None:
        raise missing
    if upload.attached_at is None:
        if upload.owner_id != user.pk:
            raise missing
        return upload
    message = upload.message
    if message is None or message.deleted_at is not None:
        raise missing
    if Membership.objects.filter(
        user=user, conversation_id=message.conversation_id
    ).exists():
        return upload
    # A support conversation's files: its visitor (a member) and its team.
    support = message.conversation.kind == Conversation.Kind.SUPPORT
    if support and may_see_files_of(user, message.conversation_id):
        return upload
    raise missing


def release_for_deleted(message_id: int) -> int:
    """A message was deleted: its files are unreachable now, removed later."""
    purge_at = timezone.now() + timedelta(hours=settings.CHAT_UPLOAD_PURGE_HOURS)
    return Upload.objects.filter(message_id=message_id, purge_after=None).update(
        purge_after=purge_at
    )


def remove_files(upload: Upload) -> None:
    """Remove the stored files (a missing one is not an error)."""
    for field in (upload.file, upload.thumbnail):
        if field.name:
            try:
                field.storage.delete(field.name)
            except OSError:
                logger.warning("could not remove %s", field.name, exc_info=True)


def purge_uploads(*, now=None) -> int:
    """Remove from storage what nobody can reach any more: files of deleted
    messages past their time, uploads never attached after
    CHAT_UPLOAD_PURGE_HOURS, and files whose message was purged. Returns how many."""
    now = now or timezone.now()
    never_attached = now - timedelta(hours=settings.CHAT_UPLOAD_PURGE_HOURS)
    due = Upload.objects.filter(
        Q(purge_after__lte=now)
        | Q(attached_at__isnull=True, created_at__lte=never_attached)
        | Q(attached_at__isnull=False, message__isnull=True)
    )
    return remove_uploads(due.iterator())


def remove_uploads(found) -> int:
    """Remove these uploads' files from storage, then their rows."""
    count = 0
    for upload in found:
        remove_files(upload)
        Upload.objects.filter(pk=upload.pk).delete()
        count += 1
    return count
