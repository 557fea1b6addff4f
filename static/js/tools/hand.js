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
    app.camera.tx = g.tx + c.p[0] - g.start[0];
    app.camera.ty = g.ty + c.p[1] - g.start[1];
    app.camera.changed();
  },
  up(app) {
    app.gesture = null;
    app.stage.classList.remove("panning");
  },
};
