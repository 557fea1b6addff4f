"""Several server processes sharing PostgreSQL and Redis converge exactly."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from collab.client import NoteClient
from collab.emitter import Pusher

from serverproc import ROOT, ServerProcess
from sioclient import Peer, stroke


@pytest.fixture
def cluster(tmp_path: Path, pg_url: str, redis_url: str) -> Iterator[list[ServerProcess]]:
    """Three processes: one PostgreSQL database, one Redis queue on a channel of their own."""
    channel = "collab-test-" + uuid.uuid4().hex[:8]
    env = {"COLLAB_MESSAGE_QUEUE_CHANNEL": channel}
    procs = []
    try:
        for i in range(3):
            d = tmp_path / f"p{i}"
            d.mkdir()
            srv = ServerProcess(d, database=pg_url, env=env, args=["--message-queue", redis_url])
            procs.append(srv.start())
        yield procs
    finally:
        for srv in procs:
            srv.stop()


def test_clients_on_three_processes_converge(cluster: list[ServerProcess], note_id: str) -> None:
    peers = [Peer(cluster[i % 3].url, "websocket" if i % 2 else "polling", {"name": f"p{i}"}) for i in range(6)]
    try:
        for p in peers:
            assert p.call("join", {"note": note_id})["ok"]
        # presence spans the processes: everyone sees all six
        for p in peers:
            assert p.wait_until(lambda p=p: p.got["presence"] and len(p.got["presence"][-1]["peers"]) == 6)
        acks: list[list[dict]] = [[] for _ in peers]
        start = threading.Barrier(len(peers))

        def write(i: int) -> None:
            start.wait()
            for n in range(25):
                peers[i].emit("stroke", stroke(note_id, f"c{i}-{n}"), callback=acks[i].append)

        threads = [threading.Thread(target=write, args=(i,)) for i in range(len(peers))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        total = 25 * len(peers)
        for i, p in enumerate(peers):
            assert p.wait_until(lambda i=i: len(acks[i]) == 25, timeout=60)
        assert sorted(a["seq"] for per in acks for a in per) == list(range(1, total + 1))
        for i, p in enumerate(peers):
            assert p.wait_until(lambda p=p: len(p.got["stroke"]) == total - 25, timeout=60), f"peer {i}"
            assert sorted([s["seq"] for s in p.got["stroke"]] + [a["seq"] for a in acks[i]]) == list(
                range(1, total + 1)
            )
        states = [requests.get(f"{srv.url}/api/notes/{note_id}", timeout=5).json() for srv in cluster]
        assert states[0] == states[1] == states[2]
        assert [s["seq"] for s in states[0]["strokes"]] == list(range(1, total + 1))
        # an idempotent re-send on another process answers the original seq
        first = next(a for a in acks[0] if a["seq"])
        sid = next(f"c0-{n}" for n, a in enumerate(acks[0]) if a is first)
        other = Peer(cluster[2].url)
        other.call("join", {"note": note_id})
        assert other.call("stroke", stroke(note_id, sid)) == {"ok": True, "seq": first["seq"], "duplicate": True}
        other.close()
    finally:
        for p in peers:
            p.close()


def test_http_writes_and_pushed_ops_reach_every_process(
    cluster: list[ServerProcess], note_id: str, pg_url: str, redis_url: str
) -> None:
    peers = [Peer(srv.url) for srv in cluster]
    try:
        for p in peers:
            p.call("join", {"note": note_id})
        r = requests.patch(f"{cluster[0].url}/api/notes/{note_id}", json={"title": "Renamed"}, timeout=5)
        assert r.status_code == 200
        for p in peers:
            assert p.wait_until(lambda p=p: p.got["renamed"] == [{"note": note_id, "title": "Renamed"}])
        # a separate program pushes strokes through the store and the write-only emitter
        channel = cluster[0].env["COLLAB_MESSAGE_QUEUE_CHANNEL"]
        with Pusher(pg_url, redis_url, channel=channel) as push:
            assert push.strokes(note_id, [stroke(note_id, "from-cron")]) == [1]
        for p in peers:
            assert p.wait_until(lambda p=p: [s["id"] for s in p.got["stroke"]] == ["from-cron"])
        assert requests.delete(f"{cluster[1].url}/api/notes/{note_id}", timeout=5).status_code == 204
        for p in peers:
            assert p.wait_until(lambda p=p: p.got["deleted"] == [{"note": note_id}])
            # everyone left the room, on every process
            assert p.call("stroke", stroke(note_id, "late"))["error"]["code"] == "not_joined"
    finally:
        for p in peers:
            p.close()


def test_a_batch_crosses_to_another_process_only_while_that_process_has_members(
    cluster: list[ServerProcess], note_id: str, redis_url: str
) -> None:
    import redis

    seen: list[bytes] = []
    pubsub = redis.Redis.from_url(redis_url).pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(**{cluster[0].env["COLLAB_MESSAGE_QUEUE_CHANNEL"]: lambda m: seen.append(m["data"])})
    listener = pubsub.run_in_thread(sleep_time=0.02, daemon=True)

    def batches() -> int:
        return sum(b"collab:batch" in data for data in list(seen))  # BATCH, as JSON encodes it

    alice, bob = Peer(cluster[0].url), Peer(cluster[1].url, "polling")
    try:
        assert alice.call("join", {"note": note_id})["ok"]
        for n in range(5):
            assert alice.call("stroke", stroke(note_id, f"alone-{n}"))["ok"]
        assert alice.call("join", {"note": note_id})["ok"]  # a round trip: anything published has arrived
        assert batches() == 0, "no other process has members of the note: nothing crosses"

        assert bob.call("join", {"note": note_id})["ok"]
        for n in range(5):
            assert alice.call("stroke", stroke(note_id, f"shared-{n}"))["ok"]
        assert bob.wait_until(lambda: len(bob.got["stroke"]) == 5)
        assert [s["seq"] for s in bob.got["stroke"]] == list(range(6, 11))
        assert batches() >= 1

        assert bob.call("leave", {"note": note_id})["ok"]
        deadline = time.monotonic() + 20  # the record is taken back at a heartbeat (2 s)
        quiet = 0
        while quiet < 3 and time.monotonic() < deadline:
            before = batches()
            assert alice.call("stroke", stroke(note_id, f"after-{uuid.uuid4().hex[:6]}"))["ok"]
            time.sleep(0.3)
            quiet = quiet + 1 if batches() == before else 0
        assert quiet == 3, "batches kept crossing after the other process's last member left"
    finally:
        alice.close()
        bob.close()
        listener.stop()
        listener.join(5)
        pubsub.close()


def test_joins_on_other_processes_while_a_note_is_written_miss_no_op(
    cluster: list[ServerProcess], note_id: str
) -> None:
    writer = Peer(cluster[0].url)
    joiners = [Peer(cluster[1].url), Peer(cluster[2].url, "polling")]
    stop = threading.Event()
    sent: list[str] = []
    acks: list[dict] = []
    try:
        assert writer.call("join", {"note": note_id})["ok"]

        def write() -> None:
            while not stop.is_set():
                sent.append(f"w{len(sent)}")
                writer.emit("stroke", stroke(note_id, sent[-1]), callback=acks.append)
                time.sleep(0.01)

        t = threading.Thread(target=write)
        t.start()
        finals = []
        for peer in joiners:
            # join and leave again, sometimes long enough for the record to be taken back
            for pause in (0.05, 2.5, 0.1, 0.0):
                assert peer.call("join", {"note": note_id})["ok"]
                time.sleep(pause)
                assert peer.call("leave", {"note": note_id})["ok"]
            mark = len(peer.got["stroke"])
            finals.append((peer.call("join", {"note": note_id}), mark))
            assert finals[-1][0]["ok"]
        time.sleep(3)  # past a heartbeat, where records of notes left are taken back
        stop.set()
        t.join()
        total = len(sent)
        assert writer.wait_until(lambda: len(acks) == total, timeout=60)
        assert all(a["ok"] for a in acks)
        for peer, (ack, mark) in zip(joiners, finals, strict=True):
            later = lambda peer=peer, mark=mark: [s["seq"] for s in peer.got["stroke"][mark:]]  # noqa: E731
            assert ack["seq"] < total - 20, "the final join came while the note was being written"
            missing = total - ack["seq"]
            peer.wait_until(lambda later=later, missing=missing: len(later()) >= missing, timeout=30)
            seqs = {s["seq"] for s in ack["strokes"]} | set(later())
            assert seqs == set(range(1, total + 1)), "every op is in the join's catch-up or broadcast after it"
    finally:
        stop.set()
        writer.close()
        for p in joiners:
            p.close()


def test_kill_9_one_process_loses_nothing(cluster: list[ServerProcess], note_id: str) -> None:
    urls = [srv.url for srv in cluster]
    clients = [
        NoteClient(urls[i:] + urls[:i], note_id, name=f"c{i}", transports=["websocket" if i % 2 else "polling"])
        for i in range(4)
    ]
    try:
        ids: list[list[str]] = [[] for _ in clients]

        def draw(i: int, n: int) -> None:
            for k in range(n):
                ids[i].append(clients[i].draw([(k, i), (k + 1, i + 1)], color="#1971c2", width=2, wait=False))

        threads = [threading.Thread(target=draw, args=(i, 40)) for i in range(4)]
        for t in threads:
            t.start()
        cluster[0].kill()  # clients 0 and 3 were on it
        for t in threads:
            t.join()
        threads = [threading.Thread(target=draw, args=(i, 10)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for c in clients:
            c.wait_synced(timeout=60)
        server = requests.get(f"{urls[1]}/api/notes/{note_id}", timeout=5).json()
        stored = [s["id"] for s in server["strokes"]]
        assert sorted(stored) == sorted(i for per in ids for i in per), "every stroke exactly once"
        assert [s["seq"] for s in server["strokes"]] == list(range(1, len(stored) + 1))
        for c in clients:
            c.wait_until(lambda c=c: c.seq == server["seq"], timeout=30)
            assert [s["id"] for s in c.strokes] == stored
        # presence forgets the dead process's members once it is reaped
        alive = {c.peer for c in clients}
        clients[1].wait_until(lambda c: {p["peer"] for p in c.peers} == alive, timeout=30)
    finally:
        for c in clients:
            c.close(flush=False)


def test_a_process_that_stalled_past_its_heartbeat_lists_its_members_again(
    cluster: list[ServerProcess], note_id: str
) -> None:
    """A stall longer than the heartbeat's TTL gets its members reaped by the others; back, it restores them."""
    stalled, watcher = Peer(cluster[0].url, "websocket", {"name": "stalled"}), Peer(cluster[1].url, "websocket")
    try:
        for p in (stalled, watcher):
            assert p.call("join", {"note": note_id})["ok"]
        both = {stalled.sid, watcher.sid}

        def listed() -> set[str]:
            return {peer["peer"] for peer in watcher.got["presence"][-1]["peers"]} if watcher.got["presence"] else set()

        assert watcher.wait_until(lambda: listed() == both)
        assert cluster[0].proc is not None
        cluster[0].proc.send_signal(signal.SIGSTOP)  # no heartbeat: its mark expires, another process reaps it
        try:
            assert watcher.wait_until(lambda: listed() == {watcher.sid}, timeout=30), "the stalled process was reaped"
        finally:
            cluster[0].proc.send_signal(signal.SIGCONT)
        assert watcher.wait_until(lambda: listed() == both, timeout=15), "its member is listed again"
        assert stalled.call("join", {"note": note_id})["ok"], "its own connection lived through the stall"
    finally:
        stalled.close()
        watcher.close()


def test_unsafe_setup_is_refused(tmp_path: Path, redis_url: str) -> None:
    proc = subprocess.run(
        [
            sys.executable,
            str(ROOT / "app.py"),
            "--database",
            f"sqlite:///{tmp_path / 'x.db'}",
            "--message-queue",
            redis_url,
        ],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert proc.returncode == 3  # configuration that cannot work (README, "Exit codes")
    assert "postgresql://" in proc.stderr and "SQLite" in proc.stderr


def test_processes_starting_at_once_on_a_fresh_database(tmp_path: Path, pg_url: str, redis_url: str) -> None:
    """deploy/run-cluster.sh starts every process at once: none may lose a race creating the schema."""
    env = {"COLLAB_MESSAGE_QUEUE_CHANNEL": "collab-test-" + uuid.uuid4().hex[:8]}
    procs = []
    for i in range(3):
        d = tmp_path / f"s{i}"
        d.mkdir()
        procs.append(ServerProcess(d, database=pg_url, env=env, args=["--message-queue", redis_url]))
    errors: list[BaseException] = []

    def start(p: ServerProcess) -> None:
        try:
            p.start()
        except BaseException as exc:  # reported below with the server's log
            errors.append(exc)

    starters = [threading.Thread(target=start, args=(p,)) for p in procs]
    for t in starters:
        t.start()
    for t in starters:
        t.join()
    try:
        assert not errors, errors
        for p in procs:
            assert requests.get(p.url + "/healthz", timeout=5).json() == {"ok": True}
    finally:
        for p in procs:
            p.stop()


def test_connections_arriving_at_once_start_one_presence_heartbeat(tmp_path: Path, pg_url: str, redis_url: str) -> None:
    import redis

    channel = "collab-test-" + uuid.uuid4().hex[:8]
    srv = ServerProcess(tmp_path, database=pg_url, env={"COLLAB_MESSAGE_QUEUE_CHANNEL": channel},
                        args=["--message-queue", redis_url]).start()  # fmt: skip
    peers: list[Peer] = []
    try:
        threads = [threading.Thread(target=lambda: peers.append(Peer(srv.url))) for _ in range(20)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        beats = 0
        deadline = time.monotonic() + 4.5  # a heartbeat loop beats every 2 s: at most 3 times
        with redis.Redis.from_url(redis_url).monitor() as mon:
            for command in mon.listen():
                if command["command"].startswith("SET ") and f"{channel}/notes:proc:" in command["command"]:
                    beats += 1
                if time.monotonic() > deadline:
                    break
        assert len(peers) == 20
        assert 1 <= beats <= 3, f"{beats} heartbeats in 4.5 s: more than one heartbeat loop"
    finally:
        for p in peers:
            p.close()
        srv.stop()


def test_every_batch_crosses_while_a_process_that_records_no_members_is_alive(
    cluster: list[ServerProcess], note_id: str, redis_url: str
) -> None:
    """A process of an earlier collab (or on python-socketio's own manager) must not miss ops."""
    import redis

    r = redis.Redis.from_url(redis_url, decode_responses=True)
    channel = cluster[0].env["COLLAB_MESSAGE_QUEUE_CHANNEL"]
    prefix = f"collab:{channel}/notes"
    seen: list[bytes] = []
    pubsub = redis.Redis.from_url(redis_url).pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(**{channel: lambda m: seen.append(m["data"])})
    listener = pubsub.run_in_thread(sleep_time=0.02, daemon=True)

    def crossed(tag: str) -> bool:
        """Whether a stroke alice sends now is published (it has no member on another process)."""
        before = len(seen)
        assert alice.call("stroke", stroke(note_id, f"{tag}-{uuid.uuid4().hex[:6]}"))["ok"]
        time.sleep(0.3)
        return any(b"collab:batch" in data for data in seen[before:])

    alice = Peer(cluster[0].url)
    try:
        assert alice.call("join", {"note": note_id})["ok"]
        assert not crossed("alone")
        r.sadd(f"{prefix}:procs", "legacy")
        r.set(f"{prefix}:proc:legacy", "1", ex=60)  # alive, and says it records nothing
        deadline = time.monotonic() + 15  # seen at the next heartbeat (2 s)
        while not crossed("legacy") and time.monotonic() < deadline:
            pass
        assert crossed("legacy"), "batches did not cross though a process records no members"
        r.delete(f"{prefix}:proc:legacy")
        deadline = time.monotonic() + 15
        while crossed("gone") and time.monotonic() < deadline:
            pass
        assert not crossed("gone"), "batches kept crossing after that process was gone"
    finally:
        alice.close()
        listener.stop()
        listener.join(5)
        pubsub.close()
        r.srem(f"{prefix}:procs", "legacy")
