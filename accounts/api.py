"""`/api/auth/token/`: trade a username and password for a token, or revoke one.

`/api/auth/ticket/`: a single-use WebSocket ticket valid for 30 seconds.

`/api/push/subscriptions/`: a browser's Web Push subscription.
"""

from django.conf import settings
from django.contrib.auth import authenticate
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from chatsite.errors import error_body, errors
from chatsite.throttles import AddressRateThrottle

from .email import delete_push_subscription, save_push_subscription
from .limits import AccountRateThrottle
from .models import ApiToken, PushSubscription
from .tickets import create_ticket
from .tokens import create_token, revoke_token


class TokenRequestSerializer(serializers.Serializer):
    username = serializers.CharField(min_length=1, max_length=150)
    password = serializers.CharField(
        min_length=1, max_length=4096, trim_whitespace=False
    )
    name = serializers.CharField(max_length=100, required=False, allow_blank=True)
    expires_days = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, max_value=3650
    )


class TokenResponseSerializer(serializers.Serializer):
    id = serializers.IntegerField(help_text="The user's id.")
    username = serializers.CharField()
    token = serializers.CharField(help_text="Shown this once; only a digest is kept.")
    name = serializers.CharField()
    expires_at = serializers.DateTimeField(allow_null=True)


class TokenView(APIView):
    def get_authenticators(self):
        # Creating a token takes a password, not a session: no CSRF to satisfy.
        if self.request is not None and self.request.method == "POST":
            return []
        return super().get_authenticators()

    def get_permissions(self):
        if self.request.method == "POST":
            return [AllowAny()]
        return super().get_permissions()

    def get_throttles(self):
        # Password attempts: per client address, and per account they name.
        if self.request.method == "POST":
            return [AddressRateThrottle(), AccountRateThrottle()]
        return super().get_throttles()

    @extend_schema(
        request=TokenRequestSerializer,
        responses={201: TokenResponseSerializer, **errors(400, 429)},
        auth=[],
    )
    def post(self, request: Request) -> Response:
        """Log in with a username and password; the new token is shown once."""
        data = TokenRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = authenticate(
            request._request,
            username=data.validated_data["username"],
            password=data.validated_data["password"],
        )
        if user is None:
            return Response(
                {
                    "code": "invalid_credentials",
                    "detail": "Wrong username or password.",
                },
                status=status.HTTP_400_BAD_REQUEST,
            )
        token, plaintext = create_token(
            user=user,
            name=data.validated_data.get("name") or "api",
            expires_days=data.validated_data.get("expires_days"),
        )
        return Response(
            {
                "id": user.pk,
                "username": user.username,
                "token": plaintext,
                "name": token.name,
                "expires_at": token.expires_at,
            },
            status=status.HTTP_201_CREATED,
        )

    @extend_schema(request=None, responses={204: None, **errors(400, 401)})
    def delete(self, request: Request) -> Response:
        """Revoke the token this request is made with."""
        if not isinstance(request.auth, ApiToken):
            return Response(
                error_body("no_token", "Send the token to revoke as Bearer."),
                status=status.HTTP_400_BAD_REQUEST,
            )
        revoke_token(request.auth)
        return Response(status=status.HTTP_204_NO_CONTENT)


class TicketResponseSerializer(serializers.Serializer):
    ticket = serializers.CharField(help_text="Use once, as /ws/chat/?ticket=...")
    expires_in = serializers.IntegerField(help_text="Seconds it stays valid.")


class TicketView(APIView):
    @extend_schema(
        request=None,
        responses={201: TicketResponseSerializer, **errors(401, 403, 429)},
    )
    def post(self, request: Request) -> Response:
        """A single-use WebSocket ticket, for clients that cannot send headers."""
        token = request.auth if isinstance(request.auth, ApiToken) else None
        session_key = None if token else request.session.session_key
        ticket = create_ticket(user=request.user, token=token, session_key=session_key)
        return Response(
            {"ticket": ticket, "expires_in": settings.CHAT_TICKET_SECONDS},
            status=status.HTTP_201_CREATED,
        )


class PushKeysSerializer(serializers.Serializer):
    p256dh = serializers.CharField(min_length=16, max_length=200)
    auth = serializers.CharField(min_length=8, max_length=100)


class PushSubscriptionSerializer(serializers.Serializer):
    """A browser's PushSubscription.toJSON()."""

    endpoint = serializers.URLField(max_length=1000)
    keys = PushKeysSerializer()
    expirationTime = serializers.IntegerField(  # noqa: N815 - the browser's name
        required=False, allow_null=True
    )

    def validate_endpoint(self, value: str) -> str:
        if not value.startswith("https://") and not settings.CHAT_PUSH_HTTP_ENDPOINTS:
            raise serializers.ValidationError("A push endpoint is an https:// URL.")
        return value


class PushUnsubscribeSerializer(serializers.Serializer):
    endpoint = serializers.URLField(max_length=1000)


class PushSubscriptionsView(APIView):
    """`/api/push/subscriptions/`: this browser's Web Push subscription."""

    @extend_schema(responses={200: None, **errors(401)})
    def get(self, request: Request) -> Response:
        """The server's VAPID public key (null: push is off) and my subscriptions."""
        public_key = settings.CHAT_VAPID_PUBLIC_KEY or None
        if not settings.CHAT_VAPID_PRIVATE_KEY:
            public_key = None
        return Response(
            {
                "public_key": public_key,
                "subscriptions": [
                    {"id": s.pk, "endpoint": s.endpoint, "created_at": s.created_at}
                    for s in PushSubscription.objects.filter(user=request.user)
                ],
            }
        )

    @extend_schema(
        request=PushSubscriptionSerializer, responses={201: None, **errors(400, 401)}
    )
    def post(self, request: Request) -> Response:
        """Store a subscription (the same endpoint again replaces it)."""
        data = PushSubscriptionSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        subscription = save_push_subscription(
            user=request.user,
            endpoint=data.validated_data["endpoint"],
            p256dh=data.validated_data["keys"]["p256dh"],
            auth=data.validated_data["keys"]["auth"],
        )
        return Response(
            {"id": subscription.pk, "endpoint": subscription.endpoint},
            status=status.HTTP_201_CREATED,
        )

    @extend_schema(
        request=PushUnsubscribeSerializer,
        responses={204: None, **errors(400, 401, 404)},
    )
    def delete(self, request: Request) -> Response:
        """Forget a subscription of mine."""
        data = PushUnsubscribeSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        if not delete_push_subscription(
            user=request.user, endpoint=data.validated_data["endpoint"]
        ):
            return Response(
                error_body("not_found", "No subscription of yours has that endpoint."),
                status=status.HTTP_404_NOT_FOUND,
            )
        return Response(status=status.HTTP_204_NO_CONTENT)
