"""A capacity model from one run's figures: processes, Redis and PostgreSQL.

The workload is stated, not measured: every connected user holds one socket,
sends one message every USER_SECONDS_PER_MESSAGE seconds, into rooms of
ROOM_MEMBERS members on average. A process is planned at HEADROOM of what it
sustained saturated, so that latency stays near its unloaded value. Figures per
process come from our server's runs in the same results (one core each);
Redis and PostgreSQL costs from the CPU their processes used during our
saturating run, per delivery and per message.

On the embedded engine (in-memory layer) there is one process only: the layer
does not reach across processes, so it serves what one process serves.
"""

import math

USERS = (10_000, 100_000, 1_000_000)
USER_SECONDS_PER_MESSAGE = 300  # one message per user every five minutes
ROOM_MEMBERS = 50
HEADROOM = 0.5
PROCESS_CONNECTIONS = 10_000  # sockets one process is given at most (fds, GC)


def _run(runs, engine, scenario):
    for run in runs:
        if (
            run["engine"] == engine
            and run["target"] == "ours"
            and run["scenario"] == scenario
        ):
            return run
    return None


def model(results: dict) -> list[dict]:
    rows = []
    runs = results["runs"]
    for engine in results["engines"]:
        fan = _run(runs, engine, "fanout-saturate")
        idle = _run(runs, engine, "idle")
        if fan is None or idle is None:
            continue
        deliveries = fan["deliveries_per_s"] * HEADROOM
        messages = fan["messages_per_s"] * HEADROOM
        kib = max(idle["kib_per_connection"] or 0.0, 1.0)
        handshakes = idle["handshakes_per_s"] or 1.0
        cpu = fan["cpu"]
        redis_per_delivery = (cpu.get("redis_share") or 0.0) / max(
            fan["deliveries_per_s"], 1.0
        )
        pg_per_message = (cpu.get("postgres_share") or 0.0) / max(
            fan["messages_per_s"], 1.0
        )
        for users in USERS:
            msg_rate = users / USER_SECONDS_PER_MESSAGE
            delivery_rate = msg_rate * ROOM_MEMBERS
            needs = {
                "deliveries": delivery_rate / deliveries if deliveries else math.inf,
                "messages stored": msg_rate / messages if messages else math.inf,
                "connections": users / PROCESS_CONNECTIONS,
            }
            processes = max(1, math.ceil(max(needs.values())))
            limit = max(needs, key=needs.get)
            row = {
                "engine": engine,
                "users": users,
                "messages_per_s": round(msg_rate, 1),
                "deliveries_per_s": round(delivery_rate),
                "processes": processes,
                "bound_by": limit,
                "server_memory_gib": round(users * kib / 2**20, 1),
                "reconnect_all_seconds": round(users / (handshakes * processes)),
            }
            if engine == "embedded":
                row["fits"] = processes == 1
            else:
                row["redis_cores"] = round(delivery_rate * redis_per_delivery, 2)
                row["postgres_cores"] = round(msg_rate * pg_per_message, 2)
                row["fits"] = None
            rows.append(row)
    return rows
