from django.apps import AppConfig


class ChatConfig(AppConfig):
    name = "chat"
    verbose_name = "Chat"

    def ready(self) -> None:
        # The domain publishes through a port (chat.events.Fanout); the
        # runtime provides it, so that chat.events never imports the runtime.
        from chat import events
        from chat.realtime.publishing import ProcessFanout

        events.use_fanout(ProcessFanout())
