"""Request shapes, and response shapes for the OpenAPI schema."""

from rest_framework import serializers

from chat.models import slug_validator
from chat.selectors import MAX_ID

# Query parameters, with the bounds the server checks (a schema that says what
# is accepted, so that generated clients and fuzzers stay within it).
MESSAGE_ID = {"type": "integer", "minimum": 0, "maximum": MAX_ID}
LIMIT = {"type": "integer", "minimum": 1, "maximum": MAX_ID}
CHANGE_ID = {"type": "integer", "minimum": 0, "maximum": MAX_ID}


class UserSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()


class ReactionSerializer(serializers.Serializer):
    emoji = serializers.CharField()
    count = serializers.IntegerField()
    users = serializers.ListField(
        child=serializers.IntegerField(), help_text="The ids of who reacted."
    )


class MessageSerializer(serializers.Serializer):
    """The same shape as the WebSocket `message` frame (chat.events)."""

    type = serializers.CharField(default="message")
    id = serializers.IntegerField()
    room = serializers.CharField(allow_null=True)
    recipient = UserSerializer(allow_null=True)
    sender = UserSerializer()
    body = serializers.CharField()
    client_id = serializers.CharField()
    created_at = serializers.DateTimeField()
    edited_at = serializers.DateTimeField(
        allow_null=True, help_text="When it was last edited (null: never)."
    )
    deleted = serializers.BooleanField(
        help_text="A tombstone: its body is empty and it has no reactions."
    )
    reactions = ReactionSerializer(many=True)
    reply_to = serializers.IntegerField(
        allow_null=True, help_text="The message of the conversation it answers."
    )
    mentions = serializers.ListField(
        child=serializers.IntegerField(), help_text="The ids of the users mentioned."
    )


class MessagePageSerializer(serializers.Serializer):
    messages = MessageSerializer(many=True)
    more = serializers.BooleanField()
    more_after = serializers.BooleanField(
        required=False, help_text="With `around` only: newer messages remain."
    )
    last_id = serializers.IntegerField()


class ChangeSerializer(serializers.Serializer):
    """A change as its live frame shows it: message.edited, message.deleted or
    message.reactions (docs/protocol.md)."""

    type = serializers.CharField(
        help_text="`message.edited`, `message.deleted` or `message.reactions`."
    )
    id = serializers.IntegerField(help_text="The message's id.")
    room = serializers.CharField(allow_null=True)
    recipient = UserSerializer(allow_null=True)
    change_id = serializers.IntegerField()
    body = serializers.CharField(required=False, help_text="message.edited")
    edited_at = serializers.DateTimeField(required=False, help_text="message.edited")
    reactions = ReactionSerializer(
        many=True, required=False, help_text="message.reactions: the whole state."
    )


class ChangePageSerializer(serializers.Serializer):
    changes = ChangeSerializer(many=True)
    last_change_id = serializers.IntegerField(
        help_text="The next request's `after`: nothing up to it is left out."
    )
    more = serializers.BooleanField(help_text="Whether more changes wait beyond.")


class PollPageSerializer(MessagePageSerializer):
    """The long poll's answer; `changes` and `last_change_id` with `changes_after`."""

    more = serializers.BooleanField(
        help_text="Whether more messages (or changes) wait beyond: poll again."
    )
    changes = ChangeSerializer(many=True, required=False)
    last_change_id = serializers.IntegerField(required=False)


class EditMessageSerializer(serializers.Serializer):
    """Documents an edit; the body is checked by the service, as on the WebSocket."""

    body = serializers.CharField(
        min_length=1,
        max_length=4000,
        help_text="The new text, with the rules of a post (400 `empty`, `too_long`).",
    )


class ReactionsSerializer(serializers.Serializer):
    reactions = ReactionSerializer(many=True, help_text="The message's reactions now.")


class PostMessageSerializer(serializers.Serializer):
    """Documents a post; the fields are checked by the service, as on the WebSocket."""

    body = serializers.CharField(
        min_length=1,
        max_length=4000,
        help_text="1 to 4,000 characters, not only spaces "
        "(else 400 with code `empty` or `too_long`).",
    )
    client_id = serializers.CharField(
        required=False,
        max_length=64,
        help_text="Unique per sender, at most 64 characters: a retry with the "
        "same client_id returns the stored message (200) and stores nothing.",
    )
    reply_to = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=1,
        help_text="The id of the message this one answers, of the same "
        "conversation (else 400 with code `invalid`).",
    )
    attachments = serializers.ListField(
        child=serializers.IntegerField(),
        required=False,
        max_length=10,
        help_text="Ids of my uploads not attached yet (POST /api/uploads/), at "
        "most 10; with them the body may be empty.",
    )


class RoomSerializer(serializers.Serializer):
    slug = serializers.CharField()
    title = serializers.CharField()
    private = serializers.BooleanField()
    owner = UserSerializer(allow_null=True)
    member = serializers.BooleanField()
    members = serializers.IntegerField()
    last_id = serializers.IntegerField()
    last_message_at = serializers.DateTimeField(allow_null=True)
    read_id = serializers.IntegerField(help_text="My read position (0: none).")
    unread = serializers.IntegerField(
        help_text="Messages of others after my read position (0 if not a member)."
    )
    mentions = serializers.IntegerField(
        help_text="Those of them that mention me (0 if not a member)."
    )


class DirectConversationSerializer(serializers.Serializer):
    user = UserSerializer(help_text="The other user of the conversation.")
    last_id = serializers.IntegerField(help_text="Its newest message's id, or 0.")
    last_message_at = serializers.DateTimeField(allow_null=True)
    read_id = serializers.IntegerField(help_text="My read position (0: none).")
    unread = serializers.IntegerField(
        help_text="Messages of the other user after my read position."
    )
    mentions = serializers.IntegerField(help_text="Those of them that mention me.")


class ReadSerializer(serializers.Serializer):
    """Documents a read; the id is checked by the service, as on the WebSocket."""

    id = serializers.IntegerField(help_text="The newest message id I have read.")


# "with" is a Python keyword: the class is built from a dict of its fields.
ReadPositionSerializer = type(
    "ReadPositionSerializer",
    (serializers.Serializer,),
    {
        "room": serializers.CharField(allow_null=True),
        "with": UserSerializer(
            allow_null=True, help_text="The other user of a direct conversation."
        ),
        "id": serializers.IntegerField(help_text="My read position now."),
        "unread": serializers.IntegerField(),
        "mentions": serializers.IntegerField(
            help_text="Unread messages that mention me."
        ),
        "changed": serializers.BooleanField(help_text="Whether the position moved."),
    },
)


class CreateRoomSerializer(serializers.Serializer):
    slug = serializers.RegexField(
        slug_validator.regex,
        max_length=50,
        error_messages={"invalid": slug_validator.message},
    )
    title = serializers.CharField(max_length=200, required=False, allow_blank=True)
    private = serializers.BooleanField(required=False, default=False)


class UpdateRoomSerializer(serializers.Serializer):
    """A rename, a change of privacy, or both; what is left out stays."""

    title = serializers.CharField(max_length=200, required=False, allow_blank=True)
    private = serializers.BooleanField(required=False)


class RoleSerializer(serializers.Serializer):
    role = serializers.CharField(
        max_length=16,
        help_text="`owner`, `moderator` or `member`. The last owner cannot "
        "step down: 409 `last_owner`.",
    )


class MemberRoleSerializer(serializers.Serializer):
    room = serializers.CharField()
    user = UserSerializer()
    role = serializers.CharField()


class MembershipSerializer(serializers.Serializer):
    room = serializers.CharField()
    member = serializers.BooleanField()
    changed = serializers.BooleanField()


class AddMemberSerializer(serializers.Serializer):
    username = serializers.CharField(min_length=1, max_length=150)


class MemberSerializer(serializers.Serializer):
    user = UserSerializer()
    role = serializers.CharField()
    joined_at = serializers.DateTimeField()
    # Presence as the others see it (docs/protocol.md, "Presence").
    status = serializers.ChoiceField(["online", "away", "offline"])
