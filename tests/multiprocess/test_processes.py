"""Two daphne processes behave as one server; a killed one loses no acked message."""

import asyncio
import random
import signal

import pytest

from tests.live import message_frame, open_chat

from .support import SERVICES_ONLY, ChatClient, talk, until

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True), SERVICES_ONLY]


async def test_users_on_two_processes_talk_live(start_daphnes, alice, bob, lobby):
    """Alice on process 1 and Bob on process 2: room and direct messages, live."""
    one, two = start_daphnes(2)
    async with open_chat(one, alice.token) as a, open_chat(two, bob.token) as b:
        await a.send(type="message.send", room=lobby, body="hi room", client_id="r1")
        ack = await a.recv()
        assert ack["type"] == "ack"
        room = message_frame(
            id=ack["id"],
            room=lobby,
            sender=alice.payload,
            body="hi room",
            client_id="r1",
        )
        assert await b.recv() == room
        assert await a.recv() == room

        await b.send(type="message.send", to="alice", body="psst", client_id="d1")
        ack = await b.recv()
        assert ack["type"] == "ack"
        direct = message_frame(
            id=ack["id"],
            recipient=alice.payload,
            sender=bob.payload,
            body="psst",
            client_id="d1",
        )
        assert await a.recv() == direct
        assert await b.recv() == direct
        await asyncio.gather(a.assert_silent(1), b.assert_silent(1))


def assert_has_every_acked_message(client: ChatClient, acked: dict[int, str]) -> None:
    """Every acked message once (one id per body), each sender's in sent order."""
    bodies = {frame["id"]: frame["body"] for frame in client.messages.values()}
    missing = {mid: body for mid, body in acked.items() if bodies.get(mid) != body}
    assert not missing, f"{client.name} lacks acked messages {missing}"
    assert len(set(bodies.values())) == len(bodies), f"{client.name}: a copy stored"
    sequences: dict[tuple, list[int]] = {}
    for message_id in sorted(client.messages):
        frame = client.messages[message_id]
        sender, number = frame["body"].rsplit(" ", 1)
        key = (sender, frame["room"], str(frame["recipient"]))
        sequences.setdefault(key, []).append(int(number))
    for key, numbers in sequences.items():
        assert numbers == sorted(numbers), f"{key} out of order: {numbers}"


def quick_pause() -> float:
    return random.uniform(0, 0.03)  # noqa: S311


async def test_sigkill_clients_reconnect_elsewhere_and_lose_nothing(
    start_daphnes, alice, bob, carol, lobby
):
    """SIGKILL under load: clients move to the other process; each acked message
    is there exactly once, in order, after sync."""
    one, two = start_daphnes(2)
    people = [alice, bob, carol]
    clients = {
        p.username: ChatClient(p.username, p.token, [one, two], first=i % 2).start()
        for i, p in enumerate(people)
    }
    await asyncio.gather(*(c.ready.wait() for c in clients.values()))
    acked: dict[str, dict[int, str]] = {name: {} for name in clients}

    async def kill_soon() -> None:
        # While the messages flow: once a quarter of them are acknowledged (a
        # fixed delay lets a fast server finish them all first).
        await until(lambda: len(acked["bob"]) >= 25, timeout=30)
        one.kill()

    await asyncio.wait_for(
        asyncio.gather(
            *(
                talk(clients, acked, name, 40, lobby, pause=quick_pause)
                for name in clients
            ),
            kill_soon(),
        ),
        60,
    )
    # alice and carol were on process 1: they came back on process 2.
    assert clients["alice"].connections == 2
    assert clients["carol"].connections == 2
    for name in ("alice", "carol"):
        # Their reconnect's sync (from the highest id seen) brought what they missed.
        await until(lambda n=name: clients[n].synced.is_set())
        assert_has_every_acked_message(clients[name], acked[name])
    for client in clients.values():
        await client.resync(after=0)
        assert_has_every_acked_message(client, acked[client.name])
        await client.stop()


async def test_sigterm_under_load_moves_clients_and_loses_nothing(
    start_daphnes, alice, bob, carol, lobby
):
    """SIGTERM while messages flow: Bob and Carol get 1012, move to the other
    process at once, and miss nothing; the process exits cleanly in seconds."""
    one, two = start_daphnes(2)
    a = ChatClient("alice", alice.token, [two]).start()
    b = ChatClient("bob", bob.token, [one, two]).start()
    c = ChatClient("carol", carol.token, [one, two]).start()
    await asyncio.gather(*(x.synced.wait() for x in (a, b, c)))
    acked: dict[int, str] = {}

    async def flood() -> None:
        for number in range(60):
            acked[await a.send(f"alice {number}", room=lobby)] = f"alice {number}"

    async def terminate_soon() -> float:
        await asyncio.sleep(0.3)
        started = asyncio.get_running_loop().time()
        one.process.send_signal(signal.SIGTERM)
        await asyncio.to_thread(one.process.wait, 10)
        return asyncio.get_running_loop().time() - started

    _, took = await asyncio.wait_for(asyncio.gather(flood(), terminate_soon()), 60)
    assert one.process.returncode == 0
    assert took < 3, f"exit took {took:.2f}s"
    assert "Exception inside application" not in one.log()
    for client in (b, c):
        assert client.close_codes[0] == 1012
        await until(lambda x=client: x.connections == 2 and x.synced.is_set())
        # The last live frames may still be on their way.
        await until(lambda x=client: set(acked) <= set(x.messages), timeout=10)
        assert_has_every_acked_message(client, acked)
    for client in (a, b, c):
        await client.stop()
