// Rectangle (R), ellipse (O), line (L) and arrow (A): drag from one corner (or end) to
// the other. Shift makes a square, a circle, or a line at a multiple of 45°.
import { randomId } from "../config.js";
import { round2 } from "../draw.js";

/** The end point `b` constrained from `a` by Shift. */
export function constrain(tool, a, b) {
  const dx = b[0] - a[0];
  const dy = b[1] - a[1];
  if (tool === "rect" || tool === "ellipse") {
    const s = Math.max(Math.abs(dx), Math.abs(dy));
    return [a[0] + Math.sign(dx || 1) * s, a[1] + Math.sign(dy || 1) * s];
  }
  const ang = Math.round(Math.atan2(dy, dx) / (Math.PI / 4)) * (Math.PI / 4);
  const len = Math.hypot(dx, dy);
  return [a[0] + Math.cos(ang) * len, a[1] + Math.sin(ang) * len];
}

function item(g) {
  const b = g.shift ? constrain(g.shape, g.a, g.b) : g.b;
  const it = { id: g.id, tool: g.shape, color: g.color, width: g.width, points: [g.a.map(round2), b.map(round2)] };
  if (g.fill && (g.shape === "rect" || g.shape === "ellipse")) it.fill = g.fill;
  return it;
}

export function shape(tool) {
  return {
    name: tool,
    edits: true,
    down(app, c) {
      const style = app.style(tool);
      app.gesture = { owner: this, id: randomId(16), shape: tool, a: c.w, b: c.w, shift: c.shift, ...style };
      app.liveChanged();
    },
    move(app, c) {
      Object.assign(app.gesture, { b: c.w, shift: c.shift });
      app.sendDraft(() => item(app.gesture));
      app.liveChanged();
    },
    up(app, c) {
      const g = app.gesture;
      if (c) Object.assign(g, { b: c.w, shift: c.shift });
      app.gesture = null;
      app.liveChanged();
      const it = item(g);
      const [p, q] = it.points;
      if (Math.hypot(q[0] - p[0], q[1] - p[1]) * app.camera.z < 3) return; // a click, not a shape
      app.history.act([{ kind: "stroke", stroke: it }]);
      app.selection.set([it.id]);
      app.setTool("select", true);
    },
    preview(app) {
      return item(app.gesture);
    },
  };
}
