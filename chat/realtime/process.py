"""This server process's name among the processes that share a channel layer.

Made once at import, from `secrets`: the connections' channel names
(chat.consumers) and the hub's subscriptions (chat.realtime.hub) start with it, so a
process recognises what it published itself when the layer brings it back.
Imports nothing of chat, so that any module may import it.
"""

import secrets

TAG = secrets.token_hex(6)
