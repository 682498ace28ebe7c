from django.apps import AppConfig


class ChatConfig(AppConfig):
    name = "chat"
    verbose_name = "Chat"

    def ready(self) -> None:
        from accounts.access import access_lost

        from .services.access import close_lost_access

        # accounts does not import chat: chat listens for what must close.
        access_lost.connect(close_lost_access, dispatch_uid="chat.close_lost_access")
        # The account page's presence section (accounts.settings_sections).
        from .account_settings import register_presence_section

        register_presence_section()
        # SQLite's search index calls a function of ours (chat.search.sqlite).
        from django.db.backends.signals import connection_created

        from .search.sqlite import register_functions

        connection_created.connect(register_functions, dispatch_uid="chat.search")
        # The domain publishes through a port (chat.events.Fanout); the
        # runtime provides it, so that chat.events never imports the runtime.
        from chat import events
        from chat.realtime.runtime import ProcessFanout

        from .search import checks  # noqa: F401 - registers the system check

        events.use_fanout(ProcessFanout())
