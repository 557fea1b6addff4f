// The selection (select tool): which items, and what can be done to them as one step:
// nudge (arrow keys: 1, Shift 10), delete, duplicate (Ctrl+D), style (colour, width,
// fill: `update`), resize one item by a handle.
import { randomId } from "./config.js";
import { round2, strokeBox } from "./draw.js";

const RESIZABLE = ["rect", "ellipse", "line", "arrow", "image"];
const FILLABLE = ["rect", "ellipse", "text"];

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
