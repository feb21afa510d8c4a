"""Kombu's Redis transport, with one Redis client per channel for its commands.

Kombu builds a new `redis.Redis` for every command it sends outside its polling loop: a
task's publish, and a worker's bookkeeping and acknowledgement of each message. Since
redis-py 8, building one copies its table of response callbacks (about 170 entries),
a fifth of the CPU of publishing a task. A client holds no connection of its own (each
command borrows one from the channel's pool) and may be shared between threads, so one
is kept per channel and pool instead.
"""

from typing import Any

from kombu.transport import redis


class Channel(redis.Channel):
    _commands_client: Any = None

    def _create_client(self, asynchronous: bool = False) -> Any:
        if asynchronous:
            return super()._create_client(asynchronous=True)  # type: ignore[misc]
        client = self._commands_client
        # A channel that dropped its pools (after a fork or a lost connection) makes a
        # new one on demand: its client goes with it.
        if client is None or client.connection_pool is not self.pool:
            client = self._commands_client = super()._create_client()  # type: ignore[misc]
        return client


class Transport(redis.Transport):
    Channel = Channel
