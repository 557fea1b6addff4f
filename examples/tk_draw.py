"""A small desktop drawing program that shares a note live with the browser page.

One machine serves (``collab serve --host 0.0.0.0``); everyone else opens the
note in a browser (``http://HOST:5000/n/NOTE``) or runs this program:

    python examples/tk_draw.py http://HOST:5000 NOTE --name Ada

Draw with the left mouse button (a pen, or a line, arrow, rectangle or
ellipse dragged from corner to corner); pick a colour and a width in the
toolbar; Ctrl+Z (or Undo) undoes your own last op and Ctrl+Y (or Redo) does
it again (the client's undo: a stroke is removed, a clear restored...);
Clear empties the note for everyone. Other people's items of every tool
appear as they finish them (texts and sticky notes too), their unfinished
strokes as dashed previews. What you draw while offline is kept and sent
when the server is back (the title bar says so).

Standard library only (tkinter), besides :mod:`collab.client`.
``--demo`` draws two strokes and a rectangle and undoes the rectangle and a
stroke through the same mouse handlers (used by the test under Xvfb);
``--quit-after-demo`` then prints a JSON summary and exits.
"""

from __future__ import annotations

import argparse
import json
import queue
import sys
import time
import tkinter as tk
from pathlib import Path
from typing import Any

try:
    from collab.client import NoteClient, new_stroke_id
except ImportError:  # run from a checkout without installing
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from collab.client import NoteClient, new_stroke_id

PALETTE = ("#000000", "#e03131", "#2f9e44", "#1971c2", "#f08c00", "#9c36b5")
SHAPES = ("pen", "line", "arrow", "rect", "ellipse")


class DrawApp:
    """The window: a toolbar, a canvas and one :class:`NoteClient`."""

    def __init__(self, root: tk.Tk, note: NoteClient) -> None:
        self.root = root
        self.note = note
        self.color = PALETTE[1]
        self.width = tk.DoubleVar(value=4)
        self.highlighter = tk.BooleanVar(value=False)
        self.tool = tk.StringVar(value="pen")
        self.events: queue.Queue[tuple[str, Any]] = queue.Queue()
        self.mine: list[str] = []  # ids of my items, oldest first (for the demo's summary)
        self.current: list[list[float]] | None = None
        self.current_id = ""
        self.last_draft = 0.0
        self.dirty = True

        bar = tk.Frame(root)
        bar.pack(side=tk.TOP, fill=tk.X)
        for c in PALETTE:
            tk.Button(bar, bg=c, activebackground=c, width=2, command=lambda c=c: self.pick(c)).pack(side=tk.LEFT)
        tk.Scale(bar, from_=1, to=30, orient=tk.HORIZONTAL, variable=self.width, label="width").pack(side=tk.LEFT)
        tk.Checkbutton(bar, text="highlighter", variable=self.highlighter).pack(side=tk.LEFT)
        for tool in SHAPES:
            tk.Radiobutton(bar, text=tool, value=tool, variable=self.tool, indicatoron=False).pack(side=tk.LEFT)
        tk.Button(bar, text="Undo", command=self.undo).pack(side=tk.LEFT)
        tk.Button(bar, text="Redo", command=self.redo).pack(side=tk.LEFT)
        tk.Button(bar, text="Clear", command=self.clear).pack(side=tk.LEFT)
        self.status = tk.Label(bar, text="connecting…", anchor=tk.E)
        self.status.pack(side=tk.RIGHT)
        self.canvas = tk.Canvas(root, width=900, height=600, bg="white", highlightthickness=0)
        self.canvas.pack(fill=tk.BOTH, expand=True)
        self.canvas.bind("<ButtonPress-1>", self.press)
        self.canvas.bind("<B1-Motion>", self.motion)
        self.canvas.bind("<ButtonRelease-1>", self.release)
        root.bind("<Control-z>", lambda e: self.undo())
        root.bind("<Control-y>", lambda e: self.redo())
        root.bind("<Control-Z>", lambda e: self.redo())  # Ctrl+Shift+Z

        # Callbacks run on the client's thread: hand them to Tk's thread through a queue.
        note.on_change(lambda: self.events.put(("change", None)))
        note.on("draft", lambda d: self.events.put(("draft", d)))
        note.on_status(lambda up, detail: self.events.put(("status", (up, detail))))
        note.on_presence(lambda peers: self.events.put(("presence", peers)))
        note.on_error(lambda err: self.events.put(("error", err)))
        self.poll()

    # -- input ------------------------------------------------------------------------
    def pick(self, color: str) -> None:
        self.color = color

    def press(self, event: tk.Event) -> None:  # type: ignore[type-arg]
        self.current = [[event.x, event.y]]
        self.current_id = new_stroke_id()

    def motion(self, event: tk.Event) -> None:  # type: ignore[type-arg]
        if self.current is None:
            return
        if self.tool.get() != "pen":  # a shape: a rubber band from the first corner
            self.current[1:] = [[event.x, event.y]]
            self.canvas.delete("live")
            self.draw_item({"tool": self.tool.get(), "points": self.current, "color": self.color,
                            "width": self.width.get()}, ("live",))  # fmt: skip
            return
        (x0, y0), (x1, y1) = self.current[-1], (event.x, event.y)
        self.current.append([x1, y1])
        self.canvas.create_line(
            x0, y0, x1, y1, fill=self.color, width=self.width.get(), capstyle=tk.ROUND, tags=("live",)
        )
        now = time.monotonic()
        if now - self.last_draft > 0.05 and len(self.current) <= 5000:
            self.last_draft = now
            self.note.draft(self.current, self.color, self.width.get(), id=self.current_id)

    def release(self, event: tk.Event) -> None:  # type: ignore[type-arg]
        if self.current is None:
            return
        points, self.current = self.current, None
        if self.tool.get() != "pen":
            (x0, y0), (x1, y1) = points[0], (event.x, event.y)
            if (x0, y0) != (x1, y1):
                shape = self.tool.get()
                self.mine.append(
                    self.note.add(shape, [(x0, y0), (x1, y1)], color=self.color, width=self.width.get())  # type: ignore[arg-type]
                )
            self.dirty = True
            return
        tool = "highlighter" if self.highlighter.get() else "pen"
        for start in range(0, len(points), 4999):  # the contract allows 5000 points a stroke
            chunk = points[start : start + 5000]
            sid = self.current_id if start == 0 else new_stroke_id()
            self.note.draw(chunk, self.color, self.width.get(), tool, id=sid)
            self.mine.append(sid)
        self.dirty = True

    def undo(self) -> None:
        self.note.undo(wait=False)  # queued: runs once what was drawn before is on the server

    def redo(self) -> None:
        self.note.redo(wait=False)

    def clear(self) -> None:
        self.note.clear(wait=False)

    # -- output -------------------------------------------------------------------------
    def poll(self) -> None:
        while True:
            try:
                kind, data = self.events.get_nowait()
            except queue.Empty:
                break
            if kind == "change":
                self.dirty = True
            elif kind == "draft":
                self.show_draft(data)
            elif kind == "status" or kind == "presence":
                self.show_status()
            elif kind == "error":
                self.status.config(text=f"refused: {data}")
        if self.dirty:
            self.dirty = False
            self.redraw()
        self.root.after(30, self.poll)

    def show_status(self) -> None:
        n = len(self.note.peers)
        state = f"online, {n} here" if self.note.connected else "offline: strokes are kept and sent later"
        self.status.config(text=state)
        self.root.title(f"{self.note.note_id} — {state}")

    def show_draft(self, d: dict[str, Any]) -> None:
        tag = f"draft-{d.get('peer')}"
        self.canvas.delete(tag)
        flat = [c for p in d.get("points", []) for c in p]
        if len(flat) >= 4:
            self.canvas.create_line(
                *flat, fill=d.get("color", "#000"), width=d.get("width", 2), dash=(4, 2), tags=(tag,)
            )

    def redraw(self) -> None:
        c = self.canvas
        c.delete("stroke")
        c.delete("live")
        for s in [*self.note.items, *self.note.pending]:
            c.delete(f"draft-{s.get('peer')}")
            self.draw_item(s, ("stroke", s["id"]))

    def draw_item(self, s: dict[str, Any], tags: tuple[str, ...]) -> None:
        """One item of any tool on the canvas (an image as its frame)."""
        c = self.canvas
        tool, pts, color = s.get("tool", "pen"), s["points"], s["color"]
        w = float(s.get("width") or 2)
        fill = s.get("fill") or ""
        if tool in ("rect", "ellipse", "image") and len(pts) == 2:
            (x0, y0), (x1, y1) = pts
            make = c.create_oval if tool == "ellipse" else c.create_rectangle
            make(x0, y0, x1, y1, outline=color, width=w, fill=fill if tool != "image" else "#e9ecef", tags=tags)
        elif tool == "text":
            (x, y), size = pts[0], int(s.get("size") or 20)
            text = c.create_text(x, y, text=s.get("text", ""), anchor=tk.NW, fill=color, font=("TkDefaultFont", -size),
                                 tags=tags)  # fmt: skip
            if fill:  # a sticky note: the text on a coloured square
                x0, y0, x1, y1 = c.bbox(text)
                pad = size / 2
                c.tag_lower(c.create_rectangle(x0 - pad, y0 - pad, x1 + pad, y1 + pad, fill=fill, outline="",
                                               tags=tags), text)  # fmt: skip
        elif len(pts) == 1:
            extra: dict[str, Any] = {"stipple": "gray50"} if tool == "highlighter" else {}
            (x, y), r = pts[0], w / 2
            c.create_oval(x - r, y - r, x + r, y + r, fill=color, outline="", tags=tags, **extra)
        else:
            flat = [v for p in pts for v in p]
            straight = tool in ("line", "arrow")
            extra = {"stipple": "gray50"} if tool == "highlighter" else {}
            if tool == "arrow":
                extra["arrow"] = tk.LAST
            c.create_line(*flat, fill=color, width=w, capstyle=tk.ROUND, joinstyle=tk.ROUND, smooth=not straight,
                          tags=tags, **extra)  # fmt: skip

    def shown_ids(self) -> list[str]:
        """Ids of the items on the canvas, in drawing order (for the demo's summary)."""
        out: list[str] = []
        for item in self.canvas.find_withtag("stroke"):
            tags = [t for t in self.canvas.gettags(item) if t != "stroke"]
            if tags and tags[0] not in out:
                out.append(tags[0])
        return out

    # -- demo: synthetic mouse events through the same handlers -------------------------------
    def demo(self, quit_after: bool) -> None:
        def drag(points: list[tuple[int, int]]) -> None:
            cv = self.canvas
            cv.event_generate("<ButtonPress-1>", x=points[0][0], y=points[0][1])
            for x, y in points[1:]:
                cv.event_generate("<B1-Motion>", x=x, y=y, state=0x100)
            cv.event_generate("<ButtonRelease-1>", x=points[-1][0], y=points[-1][1])

        def run() -> None:
            drag([(100 + 10 * i, 100 + (i % 5) * 8) for i in range(30)])
            self.pick(PALETTE[3])
            drag([(100, 300 + 3 * i) for i in range(20)])
            self.tool.set("rect")
            drag([(300, 300), (350, 320), (400, 360)])
            self.tool.set("pen")
            self.undo()  # the rectangle
            self.undo()  # the second stroke
            self.redo()  # ... back
            self.undo()  # ... and gone again
            if quit_after:
                self.root.after(100, finish)

        def finish() -> None:
            if not self.note.synced:
                self.root.after(100, finish)
                return
            self.redraw()
            summary = {
                "drawn": self.mine,
                "shown": self.shown_ids(),
                "server": [s["id"] for s in self.note.strokes],
            }
            print(json.dumps(summary), flush=True)
            self.root.destroy()

        self.root.after(300, run)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Draw on a collab note together, from the desktop.")
    p.add_argument("url", nargs="?", default="http://127.0.0.1:5000", help="the server [http://127.0.0.1:5000]")
    p.add_argument("note", nargs="?", default="scratch", help="the note id [scratch]")
    p.add_argument("--name", default="Tk", help="your name, shown to the others")
    p.add_argument("--demo", action="store_true", help="draw and undo through synthetic mouse events")
    p.add_argument("--quit-after-demo", action="store_true", help="with --demo: print a JSON summary and exit")
    args = p.parse_args(argv)
    note = NoteClient(args.url, args.note, name=args.name, wait=False)
    root = tk.Tk()
    root.title(f"{args.note} — connecting to {args.url}")
    app = DrawApp(root, note)
    if args.demo:
        if args.quit_after_demo:
            note.wait_connected(30)
        app.demo(args.quit_after_demo)
    try:
        root.mainloop()
    finally:
        try:
            note.close(timeout=5)
        except TimeoutError as exc:
            print(f"tk_draw: {exc}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
