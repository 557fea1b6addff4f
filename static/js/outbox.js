// Our ops not yet acknowledged, in order, kept in localStorage so that work done offline
// survives a reload or a closed tab. Each page load has its own key
// (collab.outbox.<note>.<tab>); a key whose page is gone (closed, or silent for
// STALE_MS) is adopted by the next page of the same note, which re-sends its strokes
// with the same ids, so the server keeps each one exactly once.
//
// Entries are of every op kind (contract v2):
//   {kind: "stroke", stroke} | {kind: "remove", id} | {kind: "clear"} |
//   {kind: "update", id, set, prev?} | {kind: "move", ids, dx, dy} | {kind: "restore", ids, items?}
// plus `sent` (it has left this page at least once) and `sentAs` (the peer ids it was
// sent under: after a reconnect, a catch-up op of that kind from one of those peers is
// this entry landed, see Sync). The record also keeps the note's `epoch`, so work queued
// for a note that was deleted meanwhile is never sent into another note of the same id.
import { randomId } from "./config.js";

export const PREFIX = "collab.outbox.";
const HEARTBEAT_MS = 5000;
const STALE_MS = 20000;
const KEEP = ["kind", "stroke", "id", "ids", "set", "prev", "dx", "dy", "items", "sent", "sentAs", "hid"];

function read(key) {
  try {
    return JSON.parse(localStorage.getItem(key) || "null");
  } catch (_) {
    return null;
  }
}

/** Leave `entries` for the next page of `note` to adopt (offline work saved as a new note). */
export function handOver(note, entries) {
  try {
    localStorage.setItem(`${PREFIX}${note}.${randomId(8)}`, JSON.stringify({ alive: 0, entries }));
    return true;
  } catch (_) {
    return false;
  }
}

export class Outbox {
  constructor(note) {
    this.note = note;
    this.tab = randomId(8);
    this.key = `${PREFIX}${note}.${this.tab}`;
    /** [{kind, …, sent: bool, sentAs: [peer…], state: "queued"|"inflight"}] */
    this.entries = [];
    /** The note's epoch as the last join told it (or an adopted record kept it). */
    this.epoch = null;
    this.disabled = false;
    this.adopt();
    this.save();
    this.timer = setInterval(() => {
      this.adopt();
      this.save();
    }, HEARTBEAT_MS);
    addEventListener("pagehide", () => this.save(true));
    addEventListener("pageshow", () => this.save());
  }

  /** Take over the entries of closed or silent pages of this note. */
  adopt() {
    if (this.disabled) return 0;
    let taken = 0;
    const mine = `${PREFIX}${this.note}.`;
    let keys = [];
    try {
      keys = Object.keys(localStorage);
    } catch (_) {
      return 0;
    }
    for (const k of keys) {
      if (!k.startsWith(mine) || k === this.key) continue;
      const rec = read(k);
      if (!rec || (rec.alive && Date.now() - rec.alive < STALE_MS)) continue;
      if (rec.epoch && !this.epoch) this.epoch = rec.epoch;
      for (const e of rec.entries || []) {
        if (!e || typeof e.kind !== "string") continue;
        if (e.kind === "stroke" && this.entries.some((x) => x.kind === "stroke" && x.stroke.id === e.stroke.id)) continue;
        this.entries.push({ sentAs: [], ...e, state: "queued", adopted: true });
        taken++;
      }
      localStorage.removeItem(k);
    }
    if (taken) this.onAdopt?.(taken);
    return taken;
  }

  /** Persist (closing = this page is going away: others may adopt at once). */
  save(closing = false) {
    if (this.disabled) return;
    try {
      if (!this.entries.length) {
        localStorage.removeItem(this.key);
        return;
      }
      const entries = this.entries.map((e) => {
        const out = {};
        for (const k of KEEP) if (e[k] !== undefined) out[k] = e[k];
        return out;
      });
      localStorage.setItem(this.key, JSON.stringify({ alive: closing ? 0 : Date.now(), epoch: this.epoch, entries }));
    } catch (_) {
      /* storage full or disabled: the queue still lives in memory */
    }
  }

  push(entry) {
    this.entries.push({ sent: false, sentAs: [], state: "queued", ...entry });
    this.save();
  }

  drop(entry) {
    const i = this.entries.indexOf(entry);
    if (i >= 0) this.entries.splice(i, 1);
    this.save();
    return i >= 0;
  }

  /** Ops waiting to be acknowledged. */
  waiting() {
    return this.entries.length;
  }

  /** Forget everything and stop persisting (the note was deleted, or we may not open it). */
  discard() {
    this.entries = [];
    clearInterval(this.timer);
    this.save();
    this.disabled = true;
  }
}
