// Laser pointer (K): others see a fading trail where I point; nothing is stored.
export const laser = {
  name: "laser",
  edits: false,
  down(app, c) {
    app.gesture = { owner: this };
    this.move(app, c);
  },
  move(app, c) {
    app.presence.myLaser(c.w[0], c.w[1]);
    app.sendCursor(c.w, true);
  },
  up(app) {
    app.gesture = null;
  },
};
