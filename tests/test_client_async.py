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
