"""A Redis broker channel sends its commands through one kept client (config/broker.py),
which must behave as the fresh client Kombu would build for each command."""

import redis

from config.broker import Channel
from config.celery import app as celery_app
from tests.workers import TEST_BROKER_URL, require_worker_services


def test_a_redis_channel_keeps_one_client_for_its_commands_and_a_new_pool_gets_a_new_one():
    require_worker_services()
    redis.Redis.from_url(TEST_BROKER_URL).flushdb()
    with celery_app.connection_for_write(TEST_BROKER_URL) as broker:
        channel = broker.default_channel
        assert isinstance(channel, Channel)
        with channel.conn_or_acquire() as first, channel.conn_or_acquire() as second:
            assert first is second
            assert first.connection_pool is channel.pool

        channel._disconnect_pools()  # as after a fork or a lost connection

        with channel.conn_or_acquire() as third:
            assert third is not first
            assert third.connection_pool is channel.pool
            assert third.ping()


def test_messages_go_through_the_kept_client_and_come_back_in_order():
    require_worker_services()
    redis.Redis.from_url(TEST_BROKER_URL).flushdb()
    with celery_app.connection_for_write(TEST_BROKER_URL) as broker:
        queue = broker.SimpleQueue("broker-test")
        for number in range(3):
            queue.put({"number": number})
        received = []
        for _ in range(3):
            message = queue.get(timeout=5)
            received.append(message.payload["number"])
            message.ack()
        queue.close()
    assert received == [0, 1, 2]
    assert redis.Redis.from_url(TEST_BROKER_URL).hlen("unacked") == 0
