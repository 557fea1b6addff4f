// The note's state as the server orders it: ops applied in seq order, exactly once.
//
// - receive(op): an op from a broadcast (or from the ack of our own op). Ops at or below
//   the applied seq are ignored; others wait in `buffer` until every seq before them is
//   applied. While a join is pending everything waits; joined(ack) then applies the
//   join's state and keeps only buffered ops above ack.seq.
// - A gap (buffered ops that cannot be applied) is reported by hasGap(); the caller
//   re-joins with since = seq when it is not filled within a moment.

function applyTo(strokes, op) {
  if (op.type === "stroke") {
    if (!strokes.has(op.id)) strokes.set(op.id, op);
  } else if (op.type === "remove") {
    strokes.delete(op.id);
  } else if (op.type === "clear") {
    strokes.clear();
  }
}

/** Keep only the fields of a stroke (drops `note`). */
export function strokeOf(op) {
  return {
    type: "stroke",
    seq: op.seq,
    peer: op.peer,
    id: op.id,
    color: op.color,
    width: op.width,
    points: op.points,
    tool: op.tool || "pen",
  };
}

function opOf(data) {
  if (data.type === "stroke") return strokeOf(data);
  if (data.type === "remove") return { type: "remove", seq: data.seq, id: data.id };
  return { type: "clear", seq: data.seq };
}

export class Replica {
  constructor() {
    /** Last applied seq. */
    this.seq = 0;
    /** id → stroke, in seq order (Map keeps insertion order; ops arrive in seq order). */
    this.strokes = new Map();
    /** seq → op, received but not yet applicable. */
    this.buffer = new Map();
    this.joining = true;
    this.version = 0;
  }

  /** Take an op; returns true when the applied state changed. */
  receive(data) {
    if (typeof data.seq !== "number" || data.seq <= this.seq) return false;
    if (!this.buffer.has(data.seq)) this.buffer.set(data.seq, opOf(data));
    this.version++; // the optimistic view includes buffered ops
    return this.joining ? false : this.drain();
  }

  /** Apply buffered ops that follow the applied seq; drop those at or below it. */
  drain() {
    let changed = false;
    for (;;) {
      const op = this.buffer.get(this.seq + 1);
      if (!op) break;
      this.buffer.delete(op.seq);
      applyTo(this.strokes, op);
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
      const sorted = [...ack.strokes].sort((a, b) => a.seq - b.seq);
      this.strokes = new Map(sorted.map((s) => [s.id, strokeOf(s)]));
    } else if (Array.isArray(ack.ops)) {
      for (const op of ack.ops) if (op.seq > this.seq) applyTo(this.strokes, opOf(op));
    }
    this.seq = ack.seq;
    this.joining = false;
    this.drain();
    this.version++;
  }

  /**
   * What to show: the applied state, then buffered ops (already committed, order
   * may be provisional), then our own pending entries {kind, stroke|id}.
   */
  view(pending) {
    const m = new Map(this.strokes);
    if (this.buffer.size) {
      for (const s of [...this.buffer.keys()].sort((a, b) => a - b)) applyTo(m, this.buffer.get(s));
    }
    for (const e of pending) {
      if (e.kind === "stroke") {
        if (!m.has(e.stroke.id)) m.set(e.stroke.id, e.stroke);
      } else if (e.kind === "remove") {
        m.delete(e.id);
      } else if (e.kind === "clear") {
        m.clear();
      }
    }
    return m;
  }
}
