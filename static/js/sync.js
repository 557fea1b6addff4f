// The connection to the server for one note: join/catch-up, our ops with their acks,
// and the live extras (presence, cursors, drafts). Contract: PROTOCOL.md.
//
// Ops we make go through the Outbox. Strokes are sent at once (pipelined); a remove or
// clear waits until every entry before it is acknowledged (so "undo" of a stroke whose
// ack is still on its way is sent after that ack), and entries after it wait for it.
// After every (re)connect: join with since = last applied seq, then re-send every
// unacknowledged entry; strokes keep their ids, so the server stores each once.
import { Outbox } from "./outbox.js";
import { Replica } from "./replica.js";

const ACK_TIMEOUT_MS = 10000;
const GAP_MS = 1000;
const RETRY_MS = 1500;

export class Sync {
  /**
   * @param {object} o
   * @param {object} o.cfg page config
   * @param {string} o.note note id
   * @param {{name?: string, color?: string}} o.auth
   * @param {string} [o.transport] "polling" | "websocket" | undefined (polling, then upgrade)
   * @param {object} o.on callbacks: change, status, presence, cursor, draft, meta, error, deleted, adopted
   */
  constructor({ cfg, note, auth, transport, on }) {
    this.cfg = cfg;
    this.note = note;
    this.on = on;
    this.replica = new Replica();
    this.outbox = new Outbox(note);
    this.outbox.onAdopt = (n) => {
      this.on.adopted?.(n);
      this.changed();
      this.pump();
    };
    if (this.outbox.entries.length) queueMicrotask(() => this.on.adopted?.(this.outbox.entries.length));
    this.me = null;
    this.role = "edit";
    this.joined = false;
    this.everJoined = false;
    this.conn = 0; // bumped on every (dis)connect: acks of an older connection are ignored
    this.joinGen = 0;
    this.gapTimer = null;
    this.retryTimer = null;
    this.attempts = 0;
    this.state = "connecting";
    this.gone = false;

    const opts = {
      path: cfg.socketioPath,
      auth: { ...auth },
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

  wire() {
    const s = this.socket;
    s.on("connect", () => {
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
      if (reason === "io server disconnect" && !this.gone) setTimeout(() => s.connect(), RETRY_MS);
      this.status();
    });
    s.on("connect_error", (err) => {
      this.attempts++;
      const data = err && err.data;
      if (data && data.code) {
        this.on.error?.(`Cannot connect: ${data.message || data.code}`);
        // A refused connection is not retried by the client: try again later.
        if (!s.active && !this.gone) setTimeout(() => s.connect(), 5000);
      }
      this.status();
    });
    s.io.on("reconnect_attempt", () => this.status());

    for (const kind of ["stroke", "remove", "clear"]) {
      s.on(kind, (data) => {
        if (!data || data.note !== this.note) return;
        if (kind === "stroke") this.on.strokeArrived?.(data);
        this.receive({ ...data, type: kind });
      });
    }
    s.on("presence", (data) => {
      if (data && data.note === this.note) this.on.presence?.(data.peers || []);
    });
    s.on("cursor", (data) => {
      if (data && data.note === this.note && data.peer !== this.me) this.on.cursor?.(data);
    });
    s.on("draft", (data) => {
      if (data && data.note === this.note && data.peer !== this.me) this.on.draft?.(data);
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
  /** "connected" | "connecting" | "reconnecting" | "offline". */
  status() {
    let st;
    if (this.gone) st = "offline";
    else if (this.socket.connected && this.joined) st = "connected";
    else if (!navigator.onLine) st = "offline";
    else if (!this.everJoined) st = this.attempts >= 3 ? "offline" : "connecting";
    else st = this.attempts >= 3 ? "offline" : "reconnecting";
    this.state = st;
    this.on.status?.(st, this.outbox.waiting());
  }

  changed() {
    this.on.change?.();
    this.status();
  }

  /** The strokes to show: id → stroke (server state + what is on its way + our pending ops). */
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
    const gen = ++this.joinGen;
    const conn = this.conn;
    this.replica.beginJoin();
    const payload = { note: this.note };
    if (this.everJoined) payload.since = this.replica.seq;
    this.socket.timeout(ACK_TIMEOUT_MS).emit("join", payload, (err, ack) => {
      if (gen !== this.joinGen || conn !== this.conn) return;
      if (err) {
        if (this.socket.connected) this.join(resend);
        return;
      }
      if (!ack || !ack.ok) {
        const code = ack && ack.error && ack.error.code;
        const msg = (ack && ack.error && ack.error.message) || "could not open the note";
        if (code === "not_found") return this.deleted();
        this.on.error?.(`Cannot open the note: ${msg}`);
        if (code !== "forbidden") setTimeout(() => conn === this.conn && this.join(resend), RETRY_MS * 2);
        return;
      }
      this.replica.joined(ack);
      this.me = ack.peer;
      this.role = ack.role || "edit";
      this.joined = true;
      this.everJoined = true;
      this.on.meta?.({ title: ack.note && ack.note.title, role: this.role, me: ack.peer, first: !this.seenFirst });
      this.seenFirst = true;
      this.on.presence?.(ack.peers || []);
      if (resend) for (const e of this.outbox.entries) e.state = "queued";
      this.changed();
      this.checkGap();
      this.pump();
    });
  }

  // -- our ops ----------------------------------------------------------------------
  /** Draw a stroke: shown at once, sent when connected. */
  addStroke(stroke) {
    this.outbox.push({ kind: "stroke", stroke });
    this.changed();
    this.pump();
  }

  /** Remove a stroke by id (undo, eraser). A stroke of ours never sent is just dropped. */
  removeStroke(id) {
    const own = this.outbox.entries.find((e) => e.kind === "stroke" && e.stroke.id === id);
    if (own && !own.sent && own.state !== "inflight") {
      this.outbox.drop(own);
    } else {
      this.outbox.push({ kind: "remove", id });
    }
    this.changed();
    this.pump();
  }

  clear() {
    this.outbox.push({ kind: "clear" });
    this.changed();
    this.pump();
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
      break; // a remove/clear is a barrier
    }
  }

  send(e) {
    const conn = this.conn;
    e.state = "inflight";
    if (!e.sent) {
      e.sent = true;
      this.outbox.save();
    }
    const payload =
      e.kind === "stroke" ? { note: this.note, ...e.stroke } : e.kind === "remove" ? { note: this.note, id: e.id } : { note: this.note };
    this.socket.timeout(ACK_TIMEOUT_MS).emit(e.kind, payload, (err, ack) => {
      if (conn !== this.conn || !this.outbox.entries.includes(e)) return; // re-sent after a reconnect
      if (err) {
        e.state = "queued"; // no answer in time: send again (same id: stored once)
        this.retryLater();
        return;
      }
      if (ack && ack.ok) this.acked(e, ack.seq);
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

  acked(e, seq) {
    this.outbox.drop(e);
    if (typeof seq === "number") {
      let op;
      if (e.kind === "stroke") op = { ...e.stroke, type: "stroke", seq, peer: this.me };
      else if (e.kind === "remove") op = { type: "remove", seq, id: e.id };
      else op = { type: "clear", seq };
      this.replica.receive(op);
      this.checkGap();
    }
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
    if (!(e.kind === "remove" && code === "not_found")) {
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

  /** Send the pointer position; false when it must be retried (transport busy). */
  sendCursor(x, y) {
    if (!(this.joined && this.socket.connected)) return true;
    if (!this._writable()) return false;
    this.socket.volatile.emit("cursor", { note: this.note, x, y });
    return true;
  }

  /** Send the stroke being drawn; false when it must be retried (transport busy). */
  sendDraft(stroke) {
    if (!(this.joined && this.socket.connected && this.role === "edit")) return true;
    if (!this._writable()) return false;
    this.socket.volatile.emit("draft", { note: this.note, ...stroke });
    return true;
  }

  /** Reconnect with a new name/colour (they travel in the connect auth). */
  setAuth(auth) {
    Object.assign(this.socket.auth, auth);
    if (this.socket.connected) {
      this.socket.disconnect();
      this.socket.connect();
    }
  }

  deleted() {
    this.gone = true;
    this.outbox.discard();
    this.socket.disconnect(); // re-joining would create the note again
    this.status();
    this.on.deleted?.();
  }
}
