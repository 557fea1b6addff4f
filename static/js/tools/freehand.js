// Pen (P, D) and highlighter: one smoothed path through the pointer's points.
import { MAX_POINTS, smoothPoints } from "../draw.js";
import { randomId } from "../config.js";

function current(g, last) {
  return { id: g.id, color: g.color, width: g.width, tool: g.tool, points: smoothPoints(g.raw, g.width, last) };
}

export function freehand(tool) {
  return {
    name: tool,
    edits: true,
    down(app, c) {
      const style = app.style(tool);
      app.gesture = { owner: this, id: randomId(16), raw: [c.w], color: style.color, width: style.width, tool };
      app.liveChanged();
    },
    move(app, c) {
      const g = app.gesture;
      const minStep = 0.5 / app.camera.z;
      for (const q of c.coalesced) {
        const last = g.raw[g.raw.length - 1];
        if (Math.hypot(q[0] - last[0], q[1] - last[1]) >= minStep) g.raw.push(q);
      }
      if (g.raw.length >= MAX_POINTS) {
        // Very long strokes are split: the contract allows at most 5000 points.
        const tail = g.raw[g.raw.length - 1];
        this.up(app);
        this.down(app, { w: tail });
        return;
      }
      app.sendDraft(() => current(app.gesture, false));
      app.liveChanged();
    },
    up(app) {
      const g = app.gesture;
      app.gesture = null;
      app.history.act([{ kind: "stroke", stroke: current(g, true) }]);
      app.liveChanged();
    },
    preview(app) {
      return current(app.gesture, false);
    },
  };
}
