// The note's state as the server orders it: ops applied in seq order, exactly once.
//
// - receive(op): an op from a broadcast (or from the ack of our own op). Ops at or below
//   the applied seq are ignored; others wait in `buffer` until every seq before them is
//   applied. While a join is pending everything waits; joined(ack) then applies the
//   join's state and keeps only buffered ops above ack.seq.
// - A gap (buffered ops that cannot be applied) is reported by hasGap(); the caller
//   re-joins with since = seq when it is not filled within a moment.
//
// The state (the v2 data model of the wire contract): `items`, the live items in layer order
// (by the seq of the op that added each one; later on top), and `removed`, the content
// of items removed or cleared, kept aside for a restore. Op kinds: stroke, remove, clear,
// update, move, restore. applyOp() is the one place that knows their rules; the Replica
// and view() both go through it. Items are never changed in place (update and move put
// a new object in the Map), so the points of a stroke may be shared with the op that
// carried it, with our outbox, or with an earlier view.

/** The fields an item may carry; every other field of an op is dropped. */
const ITEM_FIELDS = ["seq", "peer", "id", "color", "width", "points", "fill", "text", "size", "file"];
/** The keys an update's `set` may change (others are ignored). */
const SETTABLE = ["color", "width", "points", "fill", "text", "size"];

const own = (o, k) => Object.prototype.hasOwnProperty.call(o, k);
const isObject = (v) => v !== null && typeof v === "object" && !Array.isArray(v);
const isNumber = (v) => typeof v === "number" && Number.isFinite(v);
/** An item's layer: its seq; one not yet acknowledged (no seq) goes on top. */
const layer = (item) => (typeof item.seq === "number" ? item.seq : Infinity);

/**
 * Keep only the fields of an item (drops `note`, the op's bookkeeping and unknown
 * fields). `tool` defaults to "pen"; optional fields that are absent or null stay out.
 */
export function strokeOf(op) {
  const item = { type: "stroke" };
  for (const k of ITEM_FIELDS) {
    const v = op[k];
    if (v !== undefined && v !== null) item[k] = v;
  }
  item.tool = op.tool || "pen";
  return item;
}

/** A fresh, empty state for applyOp(). */
export function emptyState() {
  return { items: new Map(), removed: new Map() };
}

/**
 * Put `back` (items, any order) into `items` at their layers. `items` is in layer order
 * already, so this is one merge (O(n)); the Map is refilled in place.
 */
function insertAtLayers(items, back) {
  if (!back.length) return;
  back.sort((a, b) => layer(a) - layer(b)); // stable: equal layers keep their order
  const cur = [...items.values()];
  items.clear();
  let i = 0;
  for (const it of cur) {
    while (i < back.length && layer(back[i]) < layer(it)) {
      items.set(back[i].id, back[i]);
      i++;
    }
    items.set(it.id, it);
  }
  for (; i < back.length; i++) items.set(back[i].id, back[i]);
}

/**
 * Apply one op to `state` ({items: Map id → item in layer order, removed: Map id → item})
 * and return `state`. Pure but for those two Maps: no I/O, and neither the op nor any
 * item is modified (changed items are new objects). Ops must come in seq order (so a new
 * stroke always goes on top; a restore merges its items in at their layers, O(n)).
 * Never throws on an op that does not apply: an id that is not live is skipped, an
 * unknown kind or malformed field changes nothing.
 */
export function applyOp(state, op) {
  const { items, removed } = state;
  if (!isObject(op)) return state;
  switch (op.type) {
    case "stroke": {
      // An id the note already knows (live or removed) stays as it is.
      if (typeof op.id === "string" && !items.has(op.id) && !removed.has(op.id)) items.set(op.id, strokeOf(op));
      break;
    }
    case "remove": {
      const it = items.get(op.id);
      if (it) {
        items.delete(op.id);
        removed.set(op.id, it);
      }
      break;
    }
    case "clear": {
      for (const [id, it] of items) removed.set(id, it);
      items.clear();
      break;
    }
    case "update": {
      const it = items.get(op.id);
      if (!it || !isObject(op.set)) break;
      const next = { ...it };
      for (const k of SETTABLE) {
        if (!own(op.set, k)) continue;
        const v = op.set[k];
        if (v === null || v === undefined) {
          if (k === "fill") delete next.fill; // "fill": null deletes the fill
        } else {
          next[k] = v;
        }
      }
      items.set(op.id, next); // an existing key keeps its place (its layer)
      break;
    }
    case "move": {
      if (!Array.isArray(op.ids) || !isNumber(op.dx) || !isNumber(op.dy)) break;
      const { dx, dy } = op;
      const done = new Set();
      for (const id of op.ids) {
        if (done.has(id)) continue;
        done.add(id);
        const it = items.get(id);
        if (!it || !Array.isArray(it.points)) continue;
        items.set(id, { ...it, points: it.points.map((p) => (Array.isArray(p) ? [p[0] + dx, p[1] + dy] : p)) });
      }
      break;
    }
    case "restore": {
      if (!Array.isArray(op.items)) break;
      const back = [];
      const seen = new Set();
      for (const raw of op.items) {
        if (!isObject(raw) || typeof raw.id !== "string" || seen.has(raw.id)) continue;
        seen.add(raw.id);
        // Whole and as given, with its original seq: it replaces what was kept aside.
        items.delete(raw.id);
        removed.delete(raw.id);
        back.push(strokeOf(raw));
      }
      insertAtLayers(items, back);
      break;
    }
    default:
      break; // a kind this page does not know: its seq is used, nothing changes
  }
  return state;
}

/** An op as the Replica keeps it: the fields of its kind only (drops `note`, unknown fields). */
function opOf(data) {
  const base = { type: data.type, seq: data.seq, peer: data.peer };
  switch (data.type) {
    case "stroke":
      return strokeOf(data);
    case "remove":
      return { ...base, id: data.id };
    case "clear":
      return base;
    case "update":
      return { ...base, id: data.id, set: data.set };
    case "move":
      return { ...base, ids: data.ids, dx: data.dx, dy: data.dy };
    case "restore":
      return { ...base, items: Array.isArray(data.items) ? data.items.filter(isObject).map(strokeOf) : [] };
    default:
      return base;
  }
}

/** A pending outbox entry {kind, …} as an op for applyOp() (no seq yet). */
function entryOp(e) {
  switch (e && e.kind) {
    case "stroke":
      return isObject(e.stroke) ? { ...e.stroke, type: "stroke" } : null;
    case "remove":
      return { type: "remove", id: e.id };
    case "clear":
      return { type: "clear" };
    case "update":
      return { type: "update", id: e.id, set: e.set };
    case "move":
      return { type: "move", ids: e.ids, dx: e.dx, dy: e.dy };
    case "restore":
      return { type: "restore", items: e.items };
    default:
      return null;
  }
}

export class Replica {
  constructor() {
    /** Last applied seq. */
    this.seq = 0;
    /** id → live item, in layer order (item seq; a restore puts an item back at its layer). */
    this.strokes = new Map();
    /** id → content of an item removed or cleared (kept aside; a restore brings it back). */
    this.removed = new Map();
    /** seq → op, received but not yet applicable. */
    this.buffer = new Map();
    this.joining = true;
    this.version = 0;
  }

  /** The applied state, as applyOp() takes it. */
  get state() {
    return { items: this.strokes, removed: this.removed };
  }

  /** The live items in layer order (an array). */
  list() {
    return [...this.strokes.values()];
  }

  /** Take an op; returns true when the applied state changed. */
  receive(data) {
    if (!isObject(data) || !Number.isInteger(data.seq) || data.seq <= this.seq) return false;
    if (!this.buffer.has(data.seq)) this.buffer.set(data.seq, opOf(data));
    this.version++; // the optimistic view includes buffered ops
    return this.joining ? false : this.drain();
  }

  /** Apply buffered ops that follow the applied seq; drop those at or below it. */
  drain() {
    let changed = false;
    const state = this.state;
    for (;;) {
      const op = this.buffer.get(this.seq + 1);
      if (!op) break;
      this.buffer.delete(op.seq);
      applyOp(state, op);
      this.seq = op.seq;
      changed = true;
    }
    for (const s of this.buffer.keys()) if (s <= this.seq) this.buffer.delete(s);
    if (changed) this.version++;
    return changed;
  }

  /** Buffered ops wait for a seq that has not arrived. */
  hasGap() {
    return !this.joining && this.buffer.size > 0;
  }

  /** A join is on its way: hold ops until its ack. */
  beginJoin() {
    this.joining = true;
  }

  /** Apply a successful join ack (`strokes` replaces the state, `ops` continue it). */
  joined(ack) {
    if (Array.isArray(ack.strokes)) {
      const sorted = ack.strokes.filter(isObject).sort((a, b) => a.seq - b.seq);
      this.strokes.clear();
      for (const s of sorted) this.strokes.set(s.id, strokeOf(s));
      this.removed.clear(); // a full state says nothing about what was removed before
    } else if (Array.isArray(ack.ops)) {
      const state = this.state;
      let seq = this.seq;
      const ops = ack.ops.filter((op) => isObject(op) && Number.isInteger(op.seq)).sort((a, b) => a.seq - b.seq);
      for (const op of ops) {
        if (op.seq <= seq) continue; // applied already (or listed twice)
        applyOp(state, opOf(op));
        seq = op.seq;
      }
    }
    this.seq = ack.seq;
    this.joining = false;
    this.drain();
    this.version++;
  }

  /**
   * What to show, id → item in layer order: the applied state, then buffered ops
   * (already committed, order may be provisional), then our own pending entries
   * {kind: "stroke", stroke} | {kind: "remove", id} | {kind: "clear"} |
   * {kind: "update", id, set} | {kind: "move", ids, dx, dy} | {kind: "restore", items},
   * each applied like the op it will become. Costs one Map copy when nothing waits
   * (no sorting: only a restore re-sorts).
   */
  view(pending = []) {
    const items = new Map(this.strokes);
    if (!this.buffer.size && !pending.length) return items;
    const state = { items, removed: new Map(this.removed) };
    if (this.buffer.size) {
      for (const s of [...this.buffer.keys()].sort((a, b) => a - b)) applyOp(state, this.buffer.get(s));
    }
    for (const e of pending) {
      const op = entryOp(e);
      if (op) applyOp(state, op);
    }
    return items;
  }
}
