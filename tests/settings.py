"""The project's settings, with what the tests need to start without set-up."""

import os

os.environ.setdefault("SECRET_KEY", "tests-only-secret-key")

from chatsite.settings import *  # noqa: E402, F403
