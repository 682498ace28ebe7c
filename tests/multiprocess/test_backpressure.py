"""A process that cannot keep up (its channel full) stalls nobody else."""

import asyncio
import signal
import time

import pytest

from .support import SERVICES_ONLY, ChatClient, until

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True), SERVICES_ONLY]

CAPACITY = 5
COUNT = 30


async def test_full_channel_stalls_nobody_and_sync_recovers(
    start_daphnes, alice, bob, carol, lobby
):
    """Bob's process is frozen: its Redis channel fills (ChannelFull). Alice's acks
    and Carol's live frames are not held up; Bob gets the rest by sync."""
    one, two = start_daphnes(2, CHAT_CHANNEL_CAPACITY=str(CAPACITY))
    a = ChatClient("alice", alice.token, [one]).start()
    c = ChatClient("carol", carol.token, [one]).start()
    b = ChatClient("bob", bob.token, [two]).start()
    # Each has had its first sync answered: nothing of Bob's is waiting in process 2.
    await asyncio.gather(*(x.synced.wait() for x in (a, b, c)))
    two.process.send_signal(signal.SIGSTOP)
    # cannot read its channel any more
    try:
        slowest = 0.0
        sent = []
        for number in range(COUNT):
            started = time.monotonic()
            sent.append(await a.send(f"alice {number}", room=lobby, wait=10))
            slowest = max(slowest, time.monotonic() - started)
        assert slowest < 5, f"an ack took {slowest:.2f}s"
        await until(lambda: all(mid in c.messages for mid in sent), timeout=10)
    finally:
        two.process.send_signal(signal.SIGCONT)
    await asyncio.sleep(2)  # what Bob's channel held arrives
    live = [mid for mid in sent if mid in b.messages]
    assert len(live) < COUNT, "the channel never filled: the test proves nothing"
    await b.resync(after=0)
    assert all(mid in b.messages for mid in sent)
    assert b.connections == 1
    for client in (a, b, c):
        await client.stop()
