// The connection to the server for one note: join/catch-up, our ops with their acks,
// and the live extras (presence, cursors, laser, drafts). Contract: PROTOCOL.md (v2).
//
// Ops we make go through the Outbox. Strokes are sent at once (pipelined); any other op
// (remove, clear, update, move, restore) waits until every entry before it is
// acknowledged, and entries after it wait for it.
//
// Only strokes are idempotent (same id: stored once). So after a reconnect, join with
// since = last applied seq and epoch = the note's epoch, then:
// - strokes in the outbox are simply re-sent (the server answers with the original seq);
// - a non-stroke entry that was sent before the connection dropped has landed iff the
//   catch-up ops hold an op of its kind (same id for remove/update) from a peer id it
//   was sent under (as collab/replica.py matches own ops); it is then done, never re-sent;
// - after a reset (a full state instead of ops) a sent remove is done if its item is
//   gone, a restore if its items are back, an update is re-sent (setting the same values
//   twice changes nothing), a sent move or clear cannot be told apart and is dropped.
// A join with the note's epoch answered not_found means the note was deleted (perhaps
// re-created under the same id): nothing queued is ever sent into it.
import { Outbox } from "./outbox.js";
import { Replica } from "./replica.js";

const ACK_TIMEOUT_MS = 10000;
const GAP_MS = 1000;
const RETRY_MS = 1500;
export const KINDS = ["stroke", "remove", "clear", "update", "move", "restore"];

/** A performance mark of the first join (bench/page_render.py reads them: where first paint goes). */
const marked = new Set();
function mark(name) {
  if (marked.has(name)) return;
  marked.add(name);
  performance.mark(`collab:${name}`);
}

export class Sync {
  /**
   * @param {object} o
   * @param {object} o.cfg page config
   * @param {string} o.note note id
   * @param {{name?: string, color?: string, token?: string}} o.auth
   * @param {string} [o.transport] "polling" | "websocket" | undefined (polling, then upgrade)
   * @param {object} o.on callbacks: change, status, presence, cursor, draft, meta, error,
   *   deleted(pendingItems), refused(message), adopted(n), landed(entry, seq), skipped(entry), op(op)
   */
  constructor({ cfg, note, auth, transport, on }) {
    this.cfg = cfg;
    this.note = note;
    this.on = on;
    this.auth = { ...auth };
    this.replica = new Replica();
    this.outbox = new Outbox(note);
    this.outbox.onAdopt = (n) => {
      this.on.adopted?.(n);
      this.changed();
      this.pump();
    };
    if (this.outbox.entries.length) queueMicrotask(() => this.on.adopted?.(this.outbox.entries.length));
    this.me = null;
    this.myPeers = new Set(); // every peer id this page has had (one per connection)
    this.role = "edit";
    this.joined = false;
    this.everJoined = false;
    this.conn = 0; // bumped on every (dis)connect: acks of an older connection are ignored
    this.joinGen = 0;
    this.gapTimer = null;
    this.retryTimer = null;
    this.attempts = 0;
    this.state = "connecting";
    this.gone = false; // deleted or refused: nothing more is sent
    this.refusal = null;

    const opts = {
      path: cfg.socketioPath,
      auth: { ...auth },
      // a routing hint on every request of the connection (the server ignores it): a proxy that
      // routes by note (deploy/nginx.conf) puts everyone on this note on one process
      query: { note },
      reconnectionDelay: 500,
      reconnectionDelayMax: 2000,
      timeout: 8000,
    };
    if (transport === "polling") opts.transports = ["polling"];
    else if (transport === "websocket") opts.transports = ["websocket"];
    this.socket = io(cfg.namespace, opts); // eslint-disable-line no-undef
    this.wire();
    addEventListener("online", () => this.status());
    addEventListener("offline", () => this.status());
    this.status();
  }

  get epoch() {
    return this.outbox.epoch;
  }

  wire() {
    const s = this.socket;
    s.on("connect", () => {
      mark("connected");
      this.conn++;
      this.attempts = 0;
      this.join(true);
      this.status();
    });
    s.on("disconnect", (reason) => {
      this.conn++;
      this.joined = false;
      this.replica.beginJoin();
      s.sendBuffer = []; // our own queue re-sends after the next join
      for (const e of this.outbox.entries) e.state = "queued";
      if (reason === "io server disconnect" && !this.gone) setTimeout(() => !this.gone && s.connect(), RETRY_MS);
      this.status();
    });
    s.on("connect_error", (err) => {
      this.attempts++;
      const data = err && err.data;
      if (data && data.code) {
        if (data.code === "forbidden") return this.refuse(data.message);
        this.on.error?.(`Cannot connect: ${data.message || data.code}`);
        // A refused connection is not retried by the client: try again later.
        if (!s.active && !this.gone) setTimeout(() => !this.gone && s.connect(), 5000);
      }
      this.status();
    });
    s.io.on("reconnect_attempt", () => this.status());

    for (const kind of KINDS) {
      s.on(kind, (data) => {
        if (!data || data.note !== this.note || this.gone) return;
        const op = { ...data, type: kind };
        this.on.op?.(op);
        this.receive(op);
      });
    }
    s.on("presence", (data) => {
      if (data && data.note === this.note) this.on.presence?.(data.peers || []);
    });
    s.on("cursor", (data) => {
      if (data && data.note === this.note && !this.myPeers.has(data.peer)) this.on.cursor?.(data);
    });
    s.on("draft", (data) => {
      if (data && data.note === this.note && !this.myPeers.has(data.peer)) this.on.draft?.(data);
    });
    s.on("renamed", (data) => {
      if (data && data.note === this.note) this.on.meta?.({ title: data.title });
    });
    s.on("deleted", (data) => {
      if (data && data.note === this.note) this.deleted();
    });
    s.on("error", (data) => {
      this.on.error?.((data && data.message) || "The server reported an error");
    });
  }

  // -- state ----------------------------------------------------------------------
  /**
   * "connected" | "connecting" | "reconnecting" | "offline" (this device has no network) |
   * "unreachable" (the network is up but the server does not answer) | "deleted" | "refused".
   */
  status() {
    let st;
    if (this.refusal) st = "refused";
    else if (this.gone) st = "deleted";
    else if (this.socket.connected && this.joined) st = "connected";
    else if (!navigator.onLine) st = "offline";
    else if (this.attempts >= 3) st = "unreachable";
    else st = this.everJoined ? "reconnecting" : "connecting";
    this.state = st;
    this.on.status?.(st, this.outbox.waiting());
  }

  changed() {
    this.on.change?.();
    this.status();
  }

  /** The items to show: id → item (server state + what is on its way + our pending ops). */
  view() {
    return this.replica.view(this.outbox.entries);
  }

  receive(op) {
    if (this.replica.receive(op) || this.replica.buffer.size) this.changed();
    this.checkGap();
  }

  checkGap() {
    if (!this.replica.hasGap()) {
      clearTimeout(this.gapTimer);
      this.gapTimer = null;
      return;
    }
    if (this.gapTimer) return;
    this.gapTimer = setTimeout(() => {
      this.gapTimer = null;
      if (this.replica.hasGap() && this.joined) this.join(false);
    }, GAP_MS);
  }

  // -- join -----------------------------------------------------------------------
  join(resend) {
    if (this.gone) return;
    const gen = ++this.joinGen;
    const conn = this.conn;
    this.replica.beginJoin();
    const payload = { note: this.note };
    if (this.everJoined) payload.since = this.replica.seq;
    if (this.epoch) payload.epoch = this.epoch;
    if (!marked.has("join-sent")) {
      mark("join-sent");
      // The ack's bytes are in: its engine.io packet, before socket.io decodes it (an ACK packet is "3…").
      const engine = this.socket.io.engine;
      const onPacket = (p) => {
        if (p.type !== "message" || typeof p.data !== "string" || p.data[0] !== "3") return;
        mark("ack-bytes");
        engine.off("packet", onPacket);
      };
      if (engine) engine.on("packet", onPacket);
    }
    this.socket.timeout(ACK_TIMEOUT_MS).emit("join", payload, (err, ack) => {
      mark("ack"); // decoded already (socket.io parses the packet before the callback)
      if (gen !== this.joinGen || conn !== this.conn || this.gone) return;
      if (err) {
        if (this.socket.connected) this.join(resend);
        return;
      }
      if (!ack || !ack.ok) {
        const code = ack && ack.error && ack.error.code;
        const msg = (ack && ack.error && ack.error.message) || "could not open the note";
        if (code === "not_found") return payload.epoch || this.everJoined ? this.deleted() : this.missing();
        if (code === "forbidden") return this.refuse(msg);
        this.on.error?.(`Cannot open the note: ${msg}`);
        setTimeout(() => conn === this.conn && this.join(resend), RETRY_MS * 2);
        return;
      }
      const before = this.replica.seq;
      this.replica.joined(ack);
      this.me = ack.peer;
      this.myPeers.add(ack.peer);
      this.role = ack.role || "edit";
      if (ack.note && ack.note.epoch) {
        this.outbox.epoch = ack.note.epoch;
        this.outbox.save();
      }
      this.joined = true;
      this.everJoined = true;
      this.reconcile(ack, before);
      this.on.meta?.({
        title: ack.note && ack.note.title,
        role: this.role,
        me: ack.peer,
        first: !this.seenFirst,
        peer: (ack.peers || []).find((p) => p.peer === ack.peer),
      });
      this.seenFirst = true;
      this.on.presence?.(ack.peers || []);
      if (this.role !== "edit" && this.outbox.entries.length) {
        this.on.error?.(`You can only view this note now: ${this.outbox.entries.length} unsaved change(s) were dropped.`);
        this.outbox.entries = [];
        this.outbox.save();
      }
      if (resend) for (const e of this.outbox.entries) e.state = "queued";
      this.changed();
      this.checkGap();
      this.pump();
      mark("applied");
    });
  }

  /** After a (re)join: which of our sent non-stroke entries already landed (see the module comment). */
  reconcile(ack, before) {
    const sent = this.outbox.entries.filter((e) => e.sent && e.kind !== "stroke");
    if (!sent.length) return;
    if (Array.isArray(ack.ops)) {
      for (const op of ack.ops) {
        if (!op || op.seq <= before) continue;
        const e = sent.find(
          (x) =>
            this.outbox.entries.includes(x) &&
            x.kind === op.type &&
            (x.sentAs || []).includes(op.peer) &&
            (!("id" in x) || x.id === op.id),
        );
        if (e) this.landed(e, op.seq, op);
      }
      return;
    }
    // A full state: tell by the state what we can, drop what we cannot.
    const live = this.replica.strokes;
    for (const e of sent) {
      if (e.kind === "remove" && !live.has(e.id)) this.landed(e, null);
      else if (e.kind === "restore" && e.ids.every((id) => live.has(id))) this.landed(e, null);
      else if (e.kind === "move" || e.kind === "clear") {
        this.outbox.drop(e);
        this.on.skipped?.(e);
      }
    }
  }

  landed(e, seq, op) {
    this.outbox.drop(e);
    this.on.landed?.(e, seq, op);
  }

  // -- our ops ----------------------------------------------------------------------
  /** Queue an op entry ({kind, …}); shown at once, sent when connected. Returns the entry. */
  submit(entry) {
    if (this.gone || this.role !== "edit") return null;
    this.outbox.push(entry);
    this.changed();
    this.pump();
    return this.outbox.entries[this.outbox.entries.length - 1];
  }

  /** Draw a stroke (any item). */
  addStroke(stroke, extra = {}) {
    return this.submit({ kind: "stroke", stroke, ...extra });
  }

  /** Remove an item by id (eraser, delete). A stroke of ours never sent is just dropped. */
  removeStroke(id, extra = {}) {
    const own = this.outbox.entries.find((e) => e.kind === "stroke" && e.stroke.id === id);
    const later = own && this.outbox.entries.slice(this.outbox.entries.indexOf(own) + 1).some((e) => e.kind !== "stroke");
    if (own && !own.sent && own.state !== "inflight" && !later) {
      this.outbox.drop(own);
      this.changed();
      return { dropped: own };
    }
    return this.submit({ kind: "remove", id, ...extra });
  }

  clear(extra = {}) {
    return this.submit({ kind: "clear", ...extra });
  }

  update(id, set, extra = {}) {
    return this.submit({ kind: "update", id, set, ...extra });
  }

  move(ids, dx, dy, extra = {}) {
    if (!ids.length || (!dx && !dy)) return null;
    return this.submit({ kind: "move", ids: [...ids], dx, dy, ...extra });
  }

  /** Bring removed items back; `items` (as they were) make the optimistic view. */
  restore(ids, items, extra = {}) {
    if (!ids.length) return null;
    return this.submit({ kind: "restore", ids: [...ids], items, ...extra });
  }

  /** Send what may be sent now (see the module comment for the order rules). */
  pump() {
    if (!this.joined || !this.socket.connected || this.gone) return;
    const entries = this.outbox.entries;
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i];
      if (e.kind === "stroke") {
        if (e.state !== "inflight") this.send(e);
        continue;
      }
      if (i === 0 && e.state !== "inflight") this.send(e);
      break; // any other kind is a barrier
    }
  }

  payload(e) {
    const note = this.note;
    switch (e.kind) {
      case "stroke":
        return { note, ...e.stroke };
      case "remove":
        return { note, id: e.id };
      case "update":
        return { note, id: e.id, set: e.set };
      case "move":
        return { note, ids: e.ids, dx: e.dx, dy: e.dy };
      case "restore":
        return { note, ids: e.ids };
      default:
        return { note };
    }
  }

  send(e) {
    const conn = this.conn;
    e.state = "inflight";
    e.sent = true;
    e.sentAs = e.sentAs || [];
    if (this.me && !e.sentAs.includes(this.me)) e.sentAs.push(this.me);
    this.outbox.save();
    this.socket.timeout(ACK_TIMEOUT_MS).emit(e.kind, this.payload(e), (err, ack) => {
      if (conn !== this.conn || !this.outbox.entries.includes(e)) return; // re-sent after a reconnect
      if (err) {
        // No answer in time. A stroke is sent again (same id: stored once); any other
        // kind is settled by a catch-up join, which shows whether it landed.
        e.state = "queued";
        if (e.kind === "stroke") this.retryLater();
        else if (this.joined) this.join(false);
        return;
      }
      if (ack && ack.ok) this.acked(e, ack);
      else this.refused(e, (ack && ack.error) || { code: "internal", message: "no answer" });
    });
  }

  retryLater() {
    if (this.retryTimer) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.pump();
    }, RETRY_MS);
  }

  /** The op our entry became, as the others received it. */
  opOf(e, ack) {
    const base = { seq: ack.seq, peer: this.me };
    switch (e.kind) {
      case "stroke":
        return { ...e.stroke, type: "stroke", ...base };
      case "remove":
        return { type: "remove", ...base, id: e.id };
      case "update":
        return { type: "update", ...base, id: e.id, set: e.set };
      case "move":
        return { type: "move", ...base, ids: Array.isArray(ack.ids) ? ack.ids : e.ids, dx: e.dx, dy: e.dy };
      case "restore": {
        const ids = Array.isArray(ack.ids) ? ack.ids : e.ids;
        const known = new Map((e.items || []).map((it) => [it.id, it]));
        const items = ids.map((id) => this.replica.removed.get(id) || known.get(id)).filter(Boolean);
        return { type: "restore", ...base, items };
      }
      default:
        return { type: "clear", ...base };
    }
  }

  acked(e, ack) {
    this.outbox.drop(e);
    if (typeof ack.seq === "number") {
      this.replica.receive(this.opOf(e, ack));
      this.checkGap();
    }
    this.on.landed?.(e, ack.seq, null, ack);
    this.changed();
    this.pump();
  }

  refused(e, error) {
    const code = error.code;
    if (code === "not_joined") {
      e.state = "queued";
      if (this.joined) {
        this.joined = false;
        this.join(false);
      }
      return;
    }
    if (code === "rate_limited" || code === "internal") {
      e.state = "queued";
      this.retryLater();
      return;
    }
    this.outbox.drop(e);
    if (code === "not_found" && e.kind !== "stroke") {
      this.on.skipped?.(e); // what it acted on is gone (removed by someone else): skipped
      // Our view still showed it: we missed something. A catch-up join brings us up to date.
      if (this.joined && !this.replica.hasGap()) this.join(false);
    } else {
      this.on.error?.(`The server refused a ${e.kind}: ${error.message || code}`);
    }
    this.changed();
    this.pump();
  }

  // -- volatile extras ------------------------------------------------------------------
  // Cursors and drafts are volatile: dropped, never queued, while the transport is busy
  // (a long-polling POST in flight). Each one is a snapshot that supersedes the last, so the
  // senders below return false instead of emitting into a busy transport, and the caller
  // tries again a moment later with the newest snapshot: the final state always gets through.
  _writable() {
    const engine = this.socket.io.engine;
    return !(engine && engine.transport && engine.transport.writable === false);
  }

  /** Send the pointer position (+ laser, view); false when it must be retried (transport busy). */
  sendCursor(x, y, extra = {}) {
    if (!(this.joined && this.socket.connected)) return true;
    if (!this._writable()) return false;
    this.socket.volatile.emit("cursor", { note: this.note, x, y, ...extra });
    return true;
  }

  /** Send the item being drawn; false when it must be retried (transport busy). */
  sendDraft(stroke) {
    if (!(this.joined && this.socket.connected && this.role === "edit")) return true;
    if (!this._writable()) return false;
    this.socket.volatile.emit("draft", { note: this.note, ...stroke });
    return true;
  }

  /** Change how we appear to others (v2 `profile`; kept for the next connect too). */
  setProfile(p) {
    Object.assign(this.socket.auth, p);
    if (!this.socket.connected) return Promise.resolve(null);
    return new Promise((resolve) => {
      this.socket.timeout(ACK_TIMEOUT_MS).emit("profile", p, (err, ack) => resolve(!err && ack && ack.ok ? ack.peer : null));
    });
  }

  /** Our own items still waiting to be sent or acknowledged, as they show (offline work). */
  pendingItems() {
    const view = this.view();
    const out = [];
    for (const e of this.outbox.entries) {
      if (e.kind === "stroke" && view.has(e.stroke.id)) out.push(view.get(e.stroke.id));
    }
    return out;
  }

  stop() {
    this.gone = true;
    clearTimeout(this.gapTimer);
    clearTimeout(this.retryTimer);
    this.socket.disconnect(); // re-joining could create the note again
  }

  deleted() {
    if (this.gone) return;
    const pending = this.pendingItems();
    this.stop();
    this.outbox.discard();
    this.status();
    this.on.deleted?.(pending);
  }

  /** A view-only visitor asked for a note that does not exist. */
  missing() {
    this.stop();
    this.outbox.discard();
    this.refusal = "This note does not exist.";
    this.status();
    this.on.refused?.(this.refusal, "not_found");
  }

  /** The host does not let us open this note: nothing is shown, nothing is kept. */
  refuse(message) {
    if (this.gone && this.refusal) return;
    this.stop();
    this.outbox.discard();
    this.refusal = message || "You may not open this note.";
    this.status();
    this.on.refused?.(this.refusal, "forbidden");
  }
}
