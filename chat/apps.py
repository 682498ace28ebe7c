from django.apps import AppConfig


class ChatConfig(AppConfig):
    name = "chat"
    verbose_name = "Chat"

    def ready(self) -> None:
        from accounts.access import access_lost

        from .services.access import close_lost_access

        # accounts does not import chat: chat listens for what must close.
        access_lost.connect(close_lost_access, dispatch_uid="chat.close_lost_access")
        # The domain publishes through a port (chat.events.Fanout); the
        # runtime provides it, so that chat.events never imports the runtime.
        from chat import events
        from chat.realtime.runtime import ProcessFanout

        events.use_fanout(ProcessFanout())
