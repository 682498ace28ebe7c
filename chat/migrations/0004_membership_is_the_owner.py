"""A room's owners are its memberships with the owner role; the room's own
`owner` column goes. A room that named an owner who had left it gets them back
as an owner-member, so that nobody loses a room they owned."""

from django.db import migrations, models


def owners_to_memberships(apps, schema_editor):
    Conversation = apps.get_model("chat", "Conversation")
    Membership = apps.get_model("chat", "Membership")
    rooms = Conversation.objects.filter(kind="room", owner__isnull=False)
    for room in rooms.only("pk", "owner_id").iterator():
        membership, _ = Membership.objects.get_or_create(
            conversation_id=room.pk, user_id=room.owner_id
        )
        if membership.role != "owner":
            membership.role = "owner"
            membership.save(update_fields=["role"])


def memberships_to_owners(apps, schema_editor):
    Conversation = apps.get_model("chat", "Conversation")
    Membership = apps.get_model("chat", "Membership")
    owners = Membership.objects.filter(
        conversation__kind="room", role="owner"
    ).order_by("conversation_id", "-joined_at", "-pk")
    for membership in owners.iterator():
        # The earliest owner is written last and stays.
        Conversation.objects.filter(pk=membership.conversation_id).update(
            owner_id=membership.user_id
        )


class Migration(migrations.Migration):
    dependencies = [
        ("chat", "0003_unused_proxy_and_role_sender_protected"),
    ]

    operations = [
        migrations.RunPython(owners_to_memberships, memberships_to_owners),
        migrations.RemoveField(model_name="conversation", name="owner"),
        migrations.AlterField(
            model_name="membership",
            name="role",
            field=models.CharField(
                choices=[("owner", "Owner"), ("member", "Member")],
                default="member",
                max_length=16,
            ),
        ),
    ]
