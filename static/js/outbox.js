// Our ops not yet acknowledged, in order, kept in localStorage so that strokes drawn
// offline survive a reload or a closed tab. Each page load has its own key
// (collab.outbox.<note>.<tab>); a key whose page is gone (closed, or silent for
// STALE_MS) is adopted by the next page of the same note, which re-sends its strokes
// with the same ids, so the server keeps each one exactly once.
import { randomId } from "./config.js";

const PREFIX = "collab.outbox.";
const HEARTBEAT_MS = 5000;
const STALE_MS = 20000;

function read(key) {
  try {
    return JSON.parse(localStorage.getItem(key) || "null");
  } catch (_) {
    return null;
  }
}

export class Outbox {
  constructor(note) {
    this.note = note;
    this.tab = randomId(8);
    this.key = `${PREFIX}${note}.${this.tab}`;
    /** [{kind: "stroke"|"remove"|"clear", stroke?, id?, sent: bool, state: "queued"|"inflight"}] */
    this.entries = [];
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
      for (const e of rec.entries || []) {
        if (e.kind === "stroke" && this.entries.some((x) => x.kind === "stroke" && x.stroke.id === e.stroke.id)) continue;
        this.entries.push({ ...e, state: "queued" });
        taken++;
      }
      localStorage.removeItem(k);
    }
    if (taken) this.onAdopt?.(taken);
    return taken;
  }

  /** Persist (closing = this page is going away: others may adopt at once). */
  save(closing = false) {
    try {
      if (!this.entries.length) {
        localStorage.removeItem(this.key);
        return;
      }
      const entries = this.entries.map(({ kind, stroke, id, sent }) => ({ kind, stroke, id, sent }));
      localStorage.setItem(this.key, JSON.stringify({ alive: closing ? 0 : Date.now(), entries }));
    } catch (_) {
      /* storage full or disabled: the queue still lives in memory */
    }
  }

  push(entry) {
    this.entries.push({ sent: false, state: "queued", ...entry });
    this.save();
  }

  drop(entry) {
    const i = this.entries.indexOf(entry);
    if (i >= 0) this.entries.splice(i, 1);
    this.save();
    return i >= 0;
  }

  /** Strokes waiting to be acknowledged. */
  waiting() {
    return this.entries.filter((e) => e.kind === "stroke").length;
  }

  /** Forget everything (the note was deleted). */
  discard() {
    this.entries = [];
    clearInterval(this.timer);
    this.save();
  }
}
