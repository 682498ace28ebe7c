"""The long poll's sync work on a few threads shared by every poll.

Django's ASGI handler runs each request in an asgiref `ThreadSensitiveContext`
of its own: the first thread-sensitive call of the request (the
`request_started` signal, each sync middleware hook, the session, the token
lookup, the reads) makes a one-thread executor for that request, kept until the
request ends. A long poll waits for up to CHAT_LONG_POLL_MAX_SECONDS, so every
waiting poll would hold a thread.

`PollThreads` sits in front of Django and runs the long poll's requests in a
context that brings its own executor, one of a fixed few: Django's handler then
finds a context already set and makes none, and every sync call of the request
goes to that executor's one thread. A request keeps the same thread from start
to end (what thread sensitivity asks for); the requests sharing it take turns,
call by call, and none holds it while waiting. Everything else about the
request (middleware, headers, errors) is Django's.
"""

import itertools
from concurrent.futures import ThreadPoolExecutor

from asgiref.sync import ThreadSensitiveContext

PATH = "/api/messages/"

# Threads shared by every long poll of the process. More than one lets a poll's
# database round trip overlap another's; each is made on first use.
THREADS = 4

_executors = [
    ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"longpoll-{n}")
    for n in range(THREADS)
]
_next_executor = itertools.cycle(_executors)


class PollThreads:
    """ASGI: the long poll's requests run on the shared threads, others untouched."""

    def __init__(self, inner):
        self.inner = inner

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["path"] != PATH:
            return await self.inner(scope, receive, send)
        async with ThreadSensitiveContext(executor=next(_next_executor)):
            return await self.inner(scope, receive, send)
