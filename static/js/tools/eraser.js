// Eraser (E): removes every item it touches (anyone's), one undo step per gesture.
import { hits } from "../draw.js";

export const ERASER_RADIUS = 8; // screen pixels

/** Add what the eraser touches between `from` and `to` to the gesture's hits; whether any was new. */
function along(app, from, to) {
  const r = ERASER_RADIUS / app.camera.z;
  const steps = Math.max(1, Math.ceil(Math.hypot(to[0] - from[0], to[1] - from[1]) / r));
  const g = app.gesture;
  const before = g.hit.size;
  for (let i = 0; i <= steps; i++) {
    const x = from[0] + ((to[0] - from[0]) * i) / steps;
    const y = from[1] + ((to[1] - from[1]) * i) / steps;
    for (const s of app.items().values()) {
      if (!g.hit.has(s.id) && hits(s, x, y, r)) g.hit.add(s.id);
    }
  }
  return g.hit.size > before;
}

export const eraser = {
  name: "eraser",
  edits: true,
  down(app, c) {
    app.gesture = { owner: this, last: c.w, hit: new Set() };
    if (along(app, c.w, c.w)) app.sceneChanged(); // the board shows what it touched faded
    app.liveChanged();
  },
  move(app, c) {
    if (along(app, app.gesture.last, c.w)) app.sceneChanged();
    app.gesture.last = c.w;
    app.liveChanged();
  },
  up(app) {
    const g = app.gesture;
    app.gesture = null;
    if (g.hit.size) {
      app.history.act([...g.hit].map((id) => ({ kind: "remove", id })));
      app.sceneChanged(); // no longer faded (gone, or back when the remove is refused)
    }
    app.liveChanged();
  },
  /** Items about to go: drawn faded until the gesture ends. */
  hidden(app) {
    return app.gesture && app.gesture.owner === this ? app.gesture.hit : null;
  },
};
