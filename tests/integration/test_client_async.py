"""AsyncNoteClient: the asyncio face of NoteClient against a real server."""

from __future__ import annotations

import asyncio
import threading

import pytest

from collab.client import AsyncNoteClient
from collab.errors import NotFound


@pytest.mark.parametrize("transport", ["websocket", "polling"])
def test_async_clients_converge_and_call_back_on_the_loop(server, note_id, transport):
    async def main() -> None:
        loop_thread = threading.get_ident()
        heard: list[tuple[str, int]] = []
        got = asyncio.Event()

        async def on_stroke(op: dict) -> None:
            heard.append((op["id"], threading.get_ident()))
            got.set()

        async with (
            await AsyncNoteClient.connect(server.url, note_id, transports=[transport]) as a,
            await AsyncNoteClient.connect(server.url, note_id, transports=[transport]) as b,
        ):
            b.on("stroke", on_stroke)
            sid = a.draw([(0, 0), (3, 4)], color="#e03131", width=3)
            await a.wait_synced(10)
            await asyncio.wait_for(got.wait(), 10)
            assert heard == [(sid, loop_thread)]
            assert a.strokes == b.strokes and a.seq == 1
            with pytest.raises(NotFound):
                await b.remove("nope")
            assert await b.remove(sid) == 2
            await a.wait_until(lambda c: c.seq == 2, 10)
            assert a.strokes == []

    asyncio.run(main())


def test_async_clients_add_every_tool_move_update_and_undo(server, note_id):
    async def main() -> None:
        moved = asyncio.Event()
        async with (
            await AsyncNoteClient.connect(server.url, note_id) as a,
            await AsyncNoteClient.connect(server.url, note_id, transports=["polling"]) as b,
        ):
            b.on("move", lambda op: moved.set())
            r = a.rect(0, 0, 10, 10, fill="#ffec99")
            a.ellipse(0, 0, 5, 5)
            a.line([(0, 0), (1, 1)])
            a.arrow([(0, 0), (2, 2)])
            t = a.text(0, 0, "hi", 30)
            a.sticky(5, 5, "note")
            await a.wait_synced(10)
            assert [s["tool"] for s in a.items] == ["rect", "ellipse", "line", "arrow", "text", "text"]
            assert await a.move([r, t], 3, 4) == 7
            await asyncio.wait_for(moved.wait(), 10)
            assert await a.update(r, fill=None) == 8
            assert "fill" not in (a.item(r) or {})
            assert await a.undo() == 9 and (a.item(r) or {})["fill"] == "#ffec99"
            assert a.can_redo and await a.redo() == 10
            assert await a.remove(r) == 11 and await a.restore(r) == 12
            assert (await a.profile(name="async bot"))["name"] == "async bot"  # type: ignore[index]
            await b.wait_until(lambda c: c.seq == a.seq, 10)
            assert b.items == a.items

    asyncio.run(main())
