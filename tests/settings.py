"""The project's settings, with what the tests need to start without set-up."""

import os

os.environ.setdefault("SECRET_KEY", "tests-only-secret-key")

from chatsite.settings import *  # noqa: E402, F403

# In-process tests store messages directly; only real servers relay them.
CHAT_RELAY_OTHER_PROCESSES = False
