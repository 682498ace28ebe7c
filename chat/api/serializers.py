"""Request shapes, and response shapes for the OpenAPI schema."""

from rest_framework import serializers


class UserSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()


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


class MessagePageSerializer(serializers.Serializer):
    messages = MessageSerializer(many=True)
    more = serializers.BooleanField()
    last_id = serializers.IntegerField()


class PostMessageSerializer(serializers.Serializer):
    body = serializers.JSONField(help_text="1 to 4,000 characters.")
    client_id = serializers.JSONField(
        required=False,
        help_text="Unique per sender, at most 64 characters: a retry with the "
        "same client_id returns the stored message and stores nothing.",
    )


class RoomSerializer(serializers.Serializer):
    slug = serializers.CharField()
    title = serializers.CharField()
    private = serializers.BooleanField()
    owner = UserSerializer(allow_null=True)
    member = serializers.BooleanField()
    members = serializers.IntegerField()
    last_id = serializers.IntegerField()


class CreateRoomSerializer(serializers.Serializer):
    slug = serializers.CharField(max_length=50)
    title = serializers.CharField(max_length=200, required=False, allow_blank=True)
    private = serializers.BooleanField(required=False, default=False)


class MembershipSerializer(serializers.Serializer):
    room = serializers.CharField()
    member = serializers.BooleanField()
    changed = serializers.BooleanField()


class AddMemberSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)


class MemberSerializer(serializers.Serializer):
    user = UserSerializer()
    role = serializers.CharField()
    joined_at = serializers.DateTimeField()
