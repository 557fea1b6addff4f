// Undo/redo of everything this visitor did, with inverse ops (the contract's rule):
// the inverse of stroke is remove; of remove and clear, restore of the ids removed; of
// move, the opposite move; of update, an update with the previous values; of restore,
// remove. Every user action is one step (an eraser gesture, a multi-item delete or
// move). An inverse that no longer applies (its item was removed by someone else since)
// is skipped: locally when the view already shows it gone, or when the server answers
// not_found.

import { textSize } from "./draw.js";

const MAX_STEPS = 200;

export class History {
  /** @param {{sync: object, items: () => Map, changed?: () => void}} app */
  constructor(app) {
    this.app = app;
    this.undoStack = []; // [[inverse op…]] oldest first
    this.redoStack = [];
  }

  /** The inverse of `op` against the items shown now (null when it would change nothing). */
  inverse(op, items) {
    switch (op.kind) {
      case "stroke":
        return { kind: "remove", id: op.stroke.id };
      case "remove": {
        const it = items.get(op.id);
        return it ? { kind: "restore", ids: [op.id], items: [it] } : null;
      }
      case "clear": {
        const all = [...items.values()];
        return all.length ? { kind: "restore", ids: all.map((it) => it.id), items: all } : null;
      }
      case "update": {
        const it = items.get(op.id);
        if (!it) return null;
        const prev = {};
        // An absent field comes back as null (only `fill` can be absent and set), a text's
        // absent size as the contract's default (size may not be null).
        for (const k of Object.keys(op.set)) prev[k] = k === "size" && it.tool === "text" ? textSize(it) : it[k] === undefined ? null : it[k];
        return { kind: "update", id: op.id, set: prev };
      }
      case "move":
        return { kind: "move", ids: op.ids, dx: -op.dx, dy: -op.dy };
      case "restore":
        return { kind: "removeMany", ids: op.ids };
      default:
        return null;
    }
  }

  /** Whether `op` still applies to the items shown (an inverse that no longer does is skipped). */
  applicable(op, items) {
    switch (op.kind) {
      case "remove":
      case "update":
        return items.has(op.id) ? op : null;
      case "removeMany": {
        const ids = op.ids.filter((id) => items.has(id));
        return ids.length ? { ...op, ids } : null;
      }
      case "move": {
        const ids = op.ids.filter((id) => items.has(id));
        return ids.length ? { ...op, ids } : null;
      }
      case "restore": {
        const ids = op.ids.filter((id) => !items.has(id));
        return ids.length ? { ...op, ids, items: op.items.filter((it) => ids.includes(it.id)) } : null;
      }
      default:
        return op;
    }
  }

  /** Send `ops` in order; returns their inverses, last first (what undoes them). */
  run(ops) {
    const sync = this.app.sync;
    const inv = [];
    for (const op of ops) {
      if (op.kind === "removeMany") {
        inv.push(...this.run(op.ids.map((id) => ({ kind: "remove", id }))));
        continue;
      }
      const items = this.app.items();
      let back = this.inverse(op, items);
      let done = null;
      switch (op.kind) {
        case "stroke":
          done = sync.addStroke(op.stroke);
          break;
        case "remove": {
          done = sync.removeStroke(op.id);
          // A stroke of ours that never left the page is simply dropped: redo re-adds it.
          if (done && done.dropped) back = { kind: "stroke", stroke: done.dropped.stroke };
          break;
        }
        case "clear":
          done = sync.clear();
          break;
        case "update":
          done = sync.update(op.id, op.set);
          break;
        case "move":
          done = sync.move(op.ids, op.dx, op.dy);
          break;
        case "restore":
          done = sync.restore(op.ids, op.items);
          break;
        default:
          break;
      }
      if (done && back) inv.unshift(back);
    }
    return inv;
  }

  /** A new action of this visitor: send it and remember how to undo it. */
  act(ops) {
    const inv = this.run(ops);
    if (!inv.length) return false;
    this.undoStack.push(inv);
    if (this.undoStack.length > MAX_STEPS) this.undoStack.shift();
    this.redoStack = [];
    this.app.changed?.();
    return true;
  }

  step(from, to) {
    while (from.length) {
      const items = this.app.items();
      const ops = from.pop().map((op) => this.applicable(op, items)).filter(Boolean);
      if (!ops.length) continue; // no longer applies: skipped
      const inv = this.run(ops);
      if (inv.length) to.push(inv);
      this.app.changed?.();
      return true;
    }
    this.app.changed?.();
    return false;
  }

  undo() {
    return this.step(this.undoStack, this.redoStack);
  }

  redo() {
    return this.step(this.redoStack, this.undoStack);
  }

  canUndo() {
    const items = this.app.items();
    return this.undoStack.some((ops) => ops.some((op) => this.applicable(op, items)));
  }

  canRedo() {
    return this.redoStack.length > 0;
  }

  reset() {
    this.undoStack = [];
    this.redoStack = [];
  }
}
