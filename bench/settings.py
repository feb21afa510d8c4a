"""The server's settings with the read benchmark's URLconf (bench/urls.py), which adds
the bare baseline view; nothing else differs from production."""

from config.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
