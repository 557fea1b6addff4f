// Select (V): click an item (Shift-click adds or takes away), drag from empty canvas
// to box-select, drag a selected item to move the selection (drawn moving at once, one
// `move` op on release), drag a handle to resize one item (one `update` of its points; an image keeps its
// aspect ratio, Shift frees it), drag a corner of the selection's box to scale every
// selected item (one `update` per item on release, one history step; Shift keeps the
// aspect ratio). A finger gets more slack than a mouse to hit an item or a handle.
import { inside, round2 } from "../draw.js";
import { Selection } from "../selection.js";

const HANDLE_PX = 6;
const near = (app, q, p, slack) => {
  const s = app.camera.toScreen(q[0], q[1]);
  return Math.abs(s[0] - p[0]) <= slack && Math.abs(s[1] - p[1]) <= slack;
};

/** The corner handle of the single selected item under screen point p, or null. */
function handleAt(app, p, slack) {
  const one = app.selection.single();
  if (!one || !app.selection.resizable(one)) return null;
  const [a, b] = one.points;
  for (const [i, q] of [a, b].entries()) if (near(app, q, p, slack)) return { item: one, index: i };
  return null;
}

/** The corner handle of the selection's box under screen point p: a scale gesture, or null. */
function frameHandleAt(app, p, slack) {
  const f = app.selection.frame();
  if (!f) return null;
  const cs = Selection.corners(f);
  for (const [i, q] of cs.entries()) {
    if (near(app, q, p, slack)) return { handle: q, anchor: cs[(i + 2) % 4], items: app.selection.items() };
  }
  return null;
}

export const select = {
  name: "select",
  edits: false,
  down(app, c) {
    const sel = app.selection;
    const finger = c.e && c.e.pointerType === "touch";
    const slack = HANDLE_PX + (finger ? 10 : 2);
    const editor = app.sync.role === "edit";
    const h = editor ? handleAt(app, c.p, slack) : null;
    if (h) {
      app.gesture = { owner: this, kind: "resize", item: h.item, index: h.index, to: c.w, shift: c.shift };
      return;
    }
    const f = editor ? frameHandleAt(app, c.p, slack) : null;
    if (f) {
      app.gesture = { owner: this, kind: "scale", ...f, start: c.w, to: f.handle, shift: c.shift, scaled: null };
      return;
    }
    const hit = app.itemAt(c.w, finger ? 12 : 4);
    if (hit) {
      if (c.shift) {
        sel.toggle(hit.id);
        app.gesture = null;
        return;
      }
      if (!sel.has(hit.id)) sel.set([hit.id]);
      if (app.sync.role === "edit") app.gesture = { owner: this, kind: "move", start: c.w, dx: 0, dy: 0 };
      return;
    }
    if (!c.shift) sel.set([]);
    app.gesture = { owner: this, kind: "box", start: c.w, end: c.w, base: new Set(sel.ids) };
  },
  move(app, c) {
    const g = app.gesture;
    if (g.kind === "move") {
      g.dx = c.w[0] - g.start[0];
      g.dy = c.w[1] - g.start[1];
      app.selection.offset = [g.dx, g.dy];
      app.sceneChanged();
    } else if (g.kind === "resize") {
      g.to = c.w;
      g.shift = c.shift; // an image keeps its aspect unless Shift is held
      app.sceneChanged();
    } else if (g.kind === "scale") {
      g.to = [g.handle[0] + c.w[0] - g.start[0], g.handle[1] + c.w[1] - g.start[1]];
      g.shift = c.shift;
      g.scaled = app.selection.scaled(g); // app.items() shows these in place until the gesture ends
      app.sceneChanged();
    } else {
      g.end = c.w;
      const box = [Math.min(g.start[0], g.end[0]), Math.min(g.start[1], g.end[1]), Math.max(g.start[0], g.end[0]), Math.max(g.start[1], g.end[1])];
      const ids = new Set(g.base);
      for (const it of app.items().values()) if (inside(it, box)) ids.add(it.id);
      app.selection.set([...ids]);
    }
    app.liveChanged();
  },
  up(app) {
    const g = app.gesture;
    app.gesture = null;
    app.selection.offset = null;
    if (g.kind === "move") {
      const dx = round2(g.dx);
      const dy = round2(g.dy);
      if (dx || dy) app.history.act([{ kind: "move", ids: [...app.selection.ids], dx, dy }]);
    } else if (g.kind === "resize") {
      const points = app.selection.resized(g);
      if (points) app.history.act([{ kind: "update", id: g.item.id, set: { points } }]);
    } else if (g.kind === "scale" && g.scaled) {
      const ops = app.selection.scaleOps(g);
      if (ops.length) app.history.act(ops);
    }
    app.sceneChanged();
    app.liveChanged();
  },
  /** Box of the box-select gesture (world), for the live layer. */
  marquee(app) {
    const g = app.gesture;
    return g && g.owner === this && g.kind === "box" ? [g.start, g.end] : null;
  },
};
