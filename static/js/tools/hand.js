// Hand (H, or hold Space, or the middle button): drag to pan.
export const hand = {
  name: "hand",
  edits: false,
  down(app, c) {
    app.gesture = { owner: this, start: c.p, tx: app.camera.tx, ty: app.camera.ty };
    app.stage.classList.add("panning");
  },
  move(app, c) {
    const g = app.gesture;
    // By whole device pixels: the board then moves its pixels instead of redrawing (render.js).
    const k = window.devicePixelRatio || 1;
    app.camera.tx = g.tx + Math.round((c.p[0] - g.start[0]) * k) / k;
    app.camera.ty = g.ty + Math.round((c.p[1] - g.start[1]) * k) / k;
    app.camera.changed();
  },
  up(app) {
    app.gesture = null;
    app.stage.classList.remove("panning");
  },
};
