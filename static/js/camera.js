// The camera: which part of the (unbounded) world the stage shows. Screen = world × z + t.
export const MIN_Z = 0.1;
export const MAX_Z = 8;
const WHEEL_STEP = 50; // a wheel notch (deltaY 100) counts as this much: ~22 % per notch

export class Camera {
  constructor(onChange) {
    this.tx = 0;
    this.ty = 0;
    this.z = 1;
    this.W = 0;
    this.H = 0;
    this.onChange = onChange;
  }

  toWorld(sx, sy) {
    return [(sx - this.tx) / this.z, (sy - this.ty) / this.z];
  }

  toScreen(x, y) {
    return [x * this.z + this.tx, y * this.z + this.ty];
  }

  /** The world rectangle on screen: [x, y, w, h]. */
  rect() {
    const [x, y] = this.toWorld(0, 0);
    return [x, y, this.W / this.z, this.H / this.z];
  }

  changed() {
    this.onChange?.();
  }

  /** Pan by (dx, dy) screen pixels, rounded to whole device pixels (a pan then moves the board's pixels). */
  panBy(dx, dy) {
    const k = window.devicePixelRatio || 1;
    this.tx += Math.round(dx * k) / k;
    this.ty += Math.round(dy * k) / k;
    this.changed();
  }

  zoomAt(sx, sy, factor) {
    const z = Math.min(MAX_Z, Math.max(MIN_Z, this.z * factor));
    const [wx, wy] = this.toWorld(sx, sy);
    this.z = z;
    this.tx = sx - wx * z;
    this.ty = sy - wy * z;
    this.changed();
  }

  reset() {
    this.zoomAt(this.W / 2, this.H / 2, 1 / this.z);
  }

  /** Show the world box [x0, y0, x1, y1] (or the origin when null). */
  fit(box, pad = 48) {
    if (!box) {
      this.tx = this.ty = 0;
      this.z = 1;
      return this.changed();
    }
    const z = Math.min(2, Math.max(MIN_Z, Math.min((this.W - 2 * pad) / (box[2] - box[0] || 1), (this.H - 2 * pad) / (box[3] - box[1] || 1))));
    this.z = z;
    this.tx = this.W / 2 - ((box[0] + box[2]) / 2) * z;
    this.ty = this.H / 2 - ((box[1] + box[3]) / 2) * z;
    this.changed();
  }

  /** Show the world rectangle [x, y, w, h] someone else sees (following). */
  show([x, y, w, h]) {
    this.fit([x, y, x + w, y + h], 0);
  }

  /** A wheel event at screen point p: Ctrl/⌘ (or a trackpad pinch) zooms, else pans. */
  wheel(e, p) {
    const unit = e.deltaMode === 1 ? 16 : e.deltaMode === 2 ? this.H : 1;
    if (e.ctrlKey || e.metaKey) {
      // Mouse wheels send ±100 a notch, trackpad pinches many small deltas: clamp each event.
      const d = Math.max(-WHEEL_STEP, Math.min(WHEEL_STEP, e.deltaY * unit));
      this.zoomAt(p[0], p[1], Math.exp(-d * 0.004));
    } else {
      const dx = e.shiftKey && !e.deltaX ? e.deltaY : e.deltaX;
      const dy = e.shiftKey && !e.deltaX ? 0 : e.deltaY;
      this.panBy(-dx * unit, -dy * unit);
    }
  }
}
