// The selection (select tool): which items, and what can be done to them as one step:
// nudge (arrow keys: 1, Shift 10), delete, duplicate (Ctrl+D), style (colour, width,
// fill: `update`), resize one item by a handle, scale the whole selection by the corner
// handles of its box (several items, or one without handles of its own: a pen stroke,
// a polyline, a text).
import { randomId } from "./config.js";
import { round2, strokeBox, textSize, unionBox } from "./draw.js";

const RESIZABLE = ["rect", "ellipse", "line", "arrow", "image"];
const FILLABLE = ["rect", "ellipse", "text"];
const PAD_PX = 4; // the dashed boxes (and the selection's box) are drawn this far outside the ink
const HANDLE_PX = 5; // half the side of a handle square
const LIMIT = 1e6; // abs(x), abs(y) of a point (the contract)
const MIN_SCALE = 0.01; // a picture or a text never shrinks below this factor

export class Selection {
  constructor(app) {
    this.app = app;
    this.ids = new Set();
    this.offset = null; // [dx, dy] while dragging
  }

  changed() {
    this.app.selectionChanged();
  }

  has(id) {
    return this.ids.has(id);
  }

  set(ids) {
    const same = ids.length === this.ids.size && ids.every((id) => this.ids.has(id));
    if (same) return;
    this.ids = new Set(ids);
    this.changed();
  }

  toggle(id) {
    if (this.ids.has(id)) this.ids.delete(id);
    else this.ids.add(id);
    this.changed();
  }

  /** Drop ids that are no longer shown (removed by someone). */
  prune(items) {
    let gone = false;
    for (const id of this.ids) {
      if (!items.has(id)) {
        this.ids.delete(id);
        gone = true;
      }
    }
    if (gone) this.changed();
  }

  items() {
    const all = this.app.items();
    return [...this.ids].map((id) => all.get(id)).filter(Boolean);
  }

  single() {
    const list = this.items();
    return list.length === 1 ? list[0] : null;
  }

  resizable(it) {
    return RESIZABLE.includes(it.tool) && it.points && it.points.length === 2;
  }

  /** The items a scale gesture acts on: several, or one that has no point handles; else null. */
  scalable() {
    const list = this.items();
    if (!list.length || (list.length === 1 && this.resizable(list[0]))) return null;
    return list;
  }

  /** The selection's box (world, padded like the dashed boxes) when it has corner handles, else null. */
  frame() {
    const list = this.scalable();
    if (!list) return null;
    const b = unionBox(list);
    const pad = PAD_PX / this.app.camera.z;
    return [b[0] - pad, b[1] - pad, b[2] + pad, b[3] + pad];
  }

  /** A box's corners in handle order: top-left, top-right, bottom-right, bottom-left. */
  static corners(b) {
    return [
      [b[0], b[1]],
      [b[2], b[1]],
      [b[2], b[3]],
      [b[0], b[3]],
    ];
  }

  /** [sx, sy] of a scale gesture: the handle's corner follows the pointer, the opposite one stays. */
  factors(g) {
    const [ax, ay] = g.anchor;
    const [hx, hy] = g.handle;
    let sx = (g.to[0] - ax) / (hx - ax || 1);
    let sy = (g.to[1] - ay) / (hy - ay || 1);
    if (g.shift) {
      // Shift keeps the selection's aspect ratio: the larger factor wins.
      const k = Math.max(Math.abs(sx), Math.abs(sy));
      sx = (sx < 0 ? -1 : 1) * k;
      sy = (sy < 0 ? -1 : 1) * k;
    }
    return [sx, sy];
  }

  /**
   * id → each item of a scale gesture as it would end. Points scale from the opposite
   * corner (widths stay); a picture keeps its own aspect ratio and a text its
   * proportions: its centre follows the box, its size (a text's font size too) scales
   * by the smaller of the two factors.
   */
  scaled(g) {
    const [sx, sy] = this.factors(g);
    const [ax, ay] = g.anchor;
    const at = ([x, y]) => [ax + (x - ax) * sx, ay + (y - ay) * sy];
    const k = Math.max(MIN_SCALE, Math.min(Math.abs(sx), Math.abs(sy)));
    const fit = (v) => round2(Math.max(-LIMIT, Math.min(LIMIT, v)));
    const out = new Map();
    for (const it of g.items) {
      const next = { ...it };
      if (it.tool === "image" || it.tool === "text") {
        const b = strokeBox(it);
        const c = [(b[0] + b[2]) / 2, (b[1] + b[3]) / 2];
        let f = k;
        if (it.tool === "text") {
          next.size = Math.max(4, Math.min(400, round2(textSize(it) * k)));
          f = next.size / textSize(it);
        }
        const nc = at(c);
        next.points = it.points.map(([x, y]) => [fit(nc[0] + (x - c[0]) * f), fit(nc[1] + (y - c[1]) * f)]);
      } else {
        next.points = it.points.map((p) => at(p).map(fit));
      }
      out.set(it.id, next);
    }
    return out;
  }

  /** The `update` ops a scale gesture ends with: one per item that changed (one history step). */
  scaleOps(g) {
    const next = this.scaled(g);
    const ops = [];
    for (const it of g.items) {
      const n = next.get(it.id);
      const set = {};
      if (JSON.stringify(n.points) !== JSON.stringify(it.points)) set.points = n.points;
      if (it.tool === "text" && n.size !== textSize(it)) set.size = n.size;
      if (Object.keys(set).length) ops.push({ kind: "update", id: it.id, set });
    }
    return ops;
  }

  /** Draw the selection's box and its corner handles on #live (after the renderer's own pass). */
  drawFrame(renderer) {
    const f = this.offset ? null : this.frame();
    if (!f) return;
    const ctx = renderer.lctx;
    const z = this.app.camera.z;
    renderer.setWorld(ctx);
    ctx.lineWidth = 1 / z;
    ctx.strokeStyle = "#4c6ef5";
    if (this.ids.size > 1) {
      ctx.setLineDash([4 / z, 3 / z]);
      ctx.strokeRect(f[0], f[1], f[2] - f[0], f[3] - f[1]);
      ctx.setLineDash([]);
    }
    if (!this.app.sync || this.app.sync.role !== "edit") return; // handles only for those who can use them
    ctx.fillStyle = "#ffffff";
    const h = HANDLE_PX / z;
    for (const [x, y] of Selection.corners(f)) {
      ctx.fillRect(x - h, y - h, 2 * h, 2 * h);
      ctx.strokeRect(x - h, y - h, 2 * h, 2 * h);
    }
  }

  /** The points of the item a resize gesture ends with. */
  resized(g) {
    const pts = g.item.points.map((p) => [...p]);
    let to = g.to;
    if (g.item.tool === "image" && !g.shift) {
      // Keep the aspect ratio (as Excalidraw does for pictures; Shift frees it).
      const a = pts[1 - g.index];
      const w0 = Math.abs(pts[g.index][0] - a[0]) || 1;
      const h0 = Math.abs(pts[g.index][1] - a[1]) || 1;
      const dx = to[0] - a[0];
      const dy = to[1] - a[1];
      const k = Math.max(Math.abs(dx) / w0, Math.abs(dy) / h0);
      to = [a[0] + Math.sign(dx || 1) * w0 * k, a[1] + Math.sign(dy || 1) * h0 * k];
    }
    pts[g.index] = [round2(to[0]), round2(to[1])];
    return pts;
  }

  nudge(dx, dy) {
    if (!this.ids.size) return;
    this.app.history.act([{ kind: "move", ids: [...this.ids], dx, dy }]);
  }

  remove() {
    if (!this.ids.size) return;
    const ids = [...this.ids];
    this.set([]);
    this.app.history.act(ids.map((id) => ({ kind: "remove", id })));
  }

  duplicate() {
    const list = this.items();
    if (!list.length) return;
    const copies = list.map((it) => {
      const c = { id: randomId(16), tool: it.tool, color: it.color, points: it.points.map(([x, y]) => [round2(x + 16), round2(y + 16)]) };
      for (const k of ["width", "fill", "text", "size", "file"]) if (it[k] !== undefined) c[k] = it[k];
      return c;
    });
    this.app.history.act(copies.map((stroke) => ({ kind: "stroke", stroke })));
    this.set(copies.map((c) => c.id));
  }

  selectAll() {
    this.set([...this.app.items().keys()]);
  }

  /** Change a style field of every selected item that has it (colour, width, fill, size). */
  style(key, value) {
    const ops = [];
    for (const it of this.items()) {
      if (key === "width" && (it.tool === "text" || it.tool === "image")) continue;
      if (key === "size" && it.tool !== "text") continue;
      if (key === "fill" && !FILLABLE.includes(it.tool)) continue;
      if (key === "fill" && it.tool === "text" && !it.fill) continue; // plain text stays plain
      if (key === "fill" && it.tool === "text" && value === null) continue; // a sticky keeps a fill
      if ((it[key] ?? null) === value) continue;
      ops.push({ kind: "update", id: it.id, set: { [key]: value } });
    }
    if (ops.length) this.app.history.act(ops);
    return ops.length;
  }

  /** The selected items' boxes as drawn (with the drag offset). */
  boxes() {
    const [dx, dy] = this.offset || [0, 0];
    return this.items().map((it) => {
      const b = strokeBox(it);
      return [b[0] + dx, b[1] + dy, b[2] + dx, b[3] + dy];
    });
  }
}
