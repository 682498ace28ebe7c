"""The channels-redis layer, with a connection pool that waits when full.

redis-py's default pool fails with "Too many connections" once its limit is
reached, which a burst of handshakes (each joins groups) does at a few hundred
sockets; a blocking pool makes the burst wait for a free connection instead.
"""

from channels_redis.core import RedisChannelLayer as BaseRedisChannelLayer
from redis import asyncio as aioredis


class RedisChannelLayer(BaseRedisChannelLayer):
    pool_timeout = 10

    def create_pool(self, index):
        host = dict(self.hosts[index])
        if "address" not in host:
            return super().create_pool(index)
        address = host.pop("address")
        host.setdefault("timeout", self.pool_timeout)
        return aioredis.BlockingConnectionPool.from_url(address, **host)
