// Copy, cut and paste through the system clipboard, within a note and across notes and
// tabs. The page listens to the DOM `copy` / `cut` / `paste` events (Ctrl/⌘+C, X, V)
// and uses their `clipboardData`, so no clipboard permission is asked for.
//
// What is put on the clipboard: one JSON envelope
//   {"type": "collab/clipboard", "version": 1, "source": {"origin", "note"}, "items": [item…]}
// (each item as the contract has it, without id, seq or peer) under two types: our own
// `application/x-collab+json` (Chromium keeps it for other tabs and notes) and
// `text/plain` (what every browser keeps; Excalidraw does the same with its JSON).
//
// On paste, in this order: a collab envelope (our type, else text/plain that claims to
// be one) is checked strictly — it is untrusted input — and its valid items get fresh
// ids, are placed with their layout kept, centred on the pointer when it is over the
// canvas (else the centre of the view), added as one history step and selected; an
// image on the clipboard is placed by images.js as before; any other text becomes a
// text item. Pictures from another note are fetched from that note's files (same
// origin only) and uploaded to this one first.
import { noteApi, randomId } from "./config.js";
import { round2, unionBox } from "./draw.js";
import { Images, sniff } from "./images.js";
import { toast } from "./ui.js";

export const MIME = "application/x-collab+json";
export const KIND = "collab/clipboard";
export const VERSION = 1;
export const MAX_ITEMS = 1000; // items in one paste (more: refused)
export const MAX_POINTS = 200000; // points in one paste (more: refused)
export const MAX_TEXT = 10000; // characters (code points) of a text item, as the contract says
const MAX_CHARS = 16 * 1024 * 1024; // characters of a pasted envelope (more: refused)
const LIMIT = 1e6; // abs(x), abs(y) of a point
const COLOR = /^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$/;
const FILE = /^[0-9a-f]{64}$/;
const NOTE_ID = /^[A-Za-z0-9_-]{1,64}$/;
const POINT_COUNTS = {
  pen: [1, 5000],
  highlighter: [1, 5000],
  line: [2, 5000],
  arrow: [2, 5000],
  rect: [2, 2],
  ellipse: [2, 2],
  image: [2, 2],
  text: [1, 1],
};
const FILLABLE = ["rect", "ellipse", "text"];
const FIELDS = ["tool", "color", "width", "points", "fill", "text", "size", "file"];
// Control characters the contract refuses (all of Cc but tab and LF), and lone surrogates.
// eslint-disable-next-line no-control-regex
const CONTROLS = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

const VIEW_ONLY = "This note is view-only for you.";

/** Text as the contract takes it: LF newlines, no control characters but tab and LF. */
export function cleanText(s) {
  return s.replace(/\r\n?/g, "\n").replace(CONTROLS, "").replace(LONE_SURROGATE, "");
}

const num = (v, lo, hi) => typeof v === "number" && Number.isFinite(v) && v >= lo && v <= hi;
const has = (o, k) => o[k] !== undefined && o[k] !== null;

/** A clean copy of a pasted item when it satisfies the contract's rules exactly, else null. */
export function validItem(r) {
  if (!r || typeof r !== "object" || Array.isArray(r)) return null;
  const tool = has(r, "tool") ? r.tool : "pen";
  if (typeof tool !== "string" || !Object.hasOwn(POINT_COUNTS, tool)) return null;
  if (typeof r.color !== "string" || !COLOR.test(r.color)) return null;
  const [lo, hi] = POINT_COUNTS[tool];
  if (!Array.isArray(r.points) || r.points.length < lo || r.points.length > hi) return null;
  const points = [];
  for (const p of r.points) {
    if (!Array.isArray(p) || p.length !== 2 || !num(p[0], -LIMIT, LIMIT) || !num(p[1], -LIMIT, LIMIT)) return null;
    points.push([p[0], p[1]]);
  }
  const it = { tool, color: r.color, points };
  if (tool !== "text" && tool !== "image") {
    if (!num(r.width, 0.5, 100)) return null;
    it.width = r.width;
  }
  if (has(r, "fill")) {
    if (!FILLABLE.includes(tool) || typeof r.fill !== "string" || !COLOR.test(r.fill)) return null;
    it.fill = r.fill;
  }
  if (tool === "text") {
    if (typeof r.text !== "string" || cleanText(r.text) !== r.text || !r.text.trim() || [...r.text].length > MAX_TEXT) return null;
    it.text = r.text;
    if (has(r, "size")) {
      if (!num(r.size, 4, 400)) return null;
      it.size = r.size;
    }
  } else if (has(r, "text") || has(r, "size")) return null;
  if (tool === "image") {
    if (typeof r.file !== "string" || !FILE.test(r.file)) return null;
    it.file = r.file;
  } else if (has(r, "file")) return null;
  return it;
}

/** The envelope of `items` (copy). */
export function envelope(items, note) {
  const out = items.map((it) => {
    const c = {};
    for (const k of FIELDS) if (it[k] !== undefined && it[k] !== null) c[k] = it[k];
    return c;
  });
  return JSON.stringify({ type: KIND, version: VERSION, source: { origin: location.origin, note }, items: out });
}

/** Whether a text claims to be an envelope (then it is one, or a malformed one: never plain text). */
function claims(text) {
  return /^\s*\{/.test(text) && text.slice(0, 200).includes(`"${KIND}"`);
}

/**
 * Read a pasted envelope: `{items, dropped, source}` (the valid items, how many were not),
 * or `{error}` (refused as a whole: shown in a toast).
 */
export function readEnvelope(text) {
  if (text.length > MAX_CHARS) return { error: "What is on the clipboard is too large to paste." };
  let env;
  try {
    env = JSON.parse(text);
  } catch (_) {
    return { error: "What is on the clipboard cannot be read: nothing was pasted." };
  }
  if (!env || typeof env !== "object" || env.type !== KIND) return { error: "What is on the clipboard cannot be read: nothing was pasted." };
  if (typeof env.version !== "number" || env.version > VERSION) return { error: "This was copied from a newer version of the board: nothing was pasted." };
  if (env.version !== VERSION || !Array.isArray(env.items)) return { error: "What is on the clipboard cannot be read: nothing was pasted." };
  if (env.items.length > MAX_ITEMS) return { error: `At most ${MAX_ITEMS.toLocaleString("en")} items can be pasted at once.` };
  const items = [];
  let points = 0;
  for (const raw of env.items) {
    const it = validItem(raw);
    if (!it) continue;
    points += it.points.length;
    if (points > MAX_POINTS) return { error: "What is on the clipboard is too large to paste." };
    items.push(it);
  }
  const s = env.source && typeof env.source === "object" ? env.source : {};
  const source = {
    note: typeof s.note === "string" && NOTE_ID.test(s.note) ? s.note : null,
    sameOrigin: s.origin === location.origin,
  };
  if (!items.length) return { error: "Nothing on the clipboard can be pasted on this board." };
  return { items, dropped: env.items.length - items.length, source };
}

/** Items moved by (dx, dy), rounded as the page sends points. */
function shifted(it, dx, dy) {
  return { ...it, points: it.points.map(([x, y]) => [round2(x + dx), round2(y + dy)]) };
}

export class Clipboard {
  /** @param {object} app the page @param {{cfg: object, note: string, token: string|null}} opts */
  constructor(app, { cfg, note, token }) {
    this.app = app;
    this.cfg = cfg;
    this.note = note;
    this.token = token;
    this.busy = false; // a paste whose pictures are still being brought over
  }

  // -- copy, cut ---------------------------------------------------------------------------------
  /** `copy` / `cut` on the page (not in a text field): the selection, if any, goes on the clipboard. */
  copy(e, cut) {
    const sel = this.app.selection;
    const items = sel.items();
    if (!items.length || !e.clipboardData) return; // nothing selected: the browser's own copy
    const text = envelope(items, this.note);
    e.clipboardData.setData(MIME, text);
    e.clipboardData.setData("text/plain", text);
    e.preventDefault();
    if (!cut) return;
    if (this.app.sync.role !== "edit") return toast(`${VIEW_ONLY} Copied, not cut.`);
    sel.remove(); // one step: undo brings them all back
  }

  // -- paste -----------------------------------------------------------------------------------
  /** `paste` on the page (not in a text field). */
  paste(e) {
    const dt = e.clipboardData;
    if (!dt) return;
    const ours = dt.getData(MIME);
    const plain = dt.getData("text/plain");
    const claimed = ours || (plain && claims(plain) ? plain : "");
    const file = claimed ? null : Images.fileOf(dt);
    if (!claimed && !file && !plain) return;
    e.preventDefault();
    if (file) return this.app.images.place(file); // at the centre of the view, as before
    if (this.app.sync.role !== "edit") return toast(VIEW_ONLY);
    if (claimed) return this.pasteEnvelope(claimed);
    return this.pasteText(plain);
  }

  /** Where a paste goes (world): the pointer when it is over the canvas, else the centre of the view. */
  target() {
    const cam = this.app.camera;
    const p = this.app.pointerAt;
    return p ? cam.toWorld(p[0], p[1]) : cam.toWorld(cam.W / 2, cam.H / 2);
  }

  /** Add `items` (without ids) centred on `at` as one history step, and select them. */
  add(items, at) {
    const box = unionBox(items);
    const dx = at[0] - (box[0] + box[2]) / 2;
    const dy = at[1] - (box[1] + box[3]) / 2;
    const placed = [];
    for (const it of items) {
      const s = shifted(it, dx, dy);
      if (s.points.some(([x, y]) => Math.abs(x) > LIMIT || Math.abs(y) > LIMIT)) continue;
      placed.push({ id: randomId(16), ...s });
    }
    if (!placed.length) return 0;
    const app = this.app;
    if (app.toolbar.prefs.tool !== "select") app.setTool("select", true);
    app.history.act(placed.map((stroke) => ({ kind: "stroke", stroke })));
    app.selection.set(placed.map((s) => s.id));
    return placed.length;
  }

  async pasteEnvelope(text) {
    const got = readEnvelope(text);
    if (got.error) return toast(got.error, "error");
    if (this.busy) return toast("Still bringing the last pasted pictures over: try again in a moment.");
    const at = this.target(); // where the pointer is now, not after the pictures arrive
    let items = got.items;
    let lost = got.dropped;
    let pictures = 0;
    if (items.some((it) => it.tool === "image")) {
      this.busy = true;
      let files;
      try {
        files = await this.bringFiles(items, got.source);
      } finally {
        this.busy = false;
      }
      const before = items.length;
      items = items.filter((it) => it.tool !== "image" || files.get(it.file)).map((it) => (it.tool === "image" ? { ...it, file: files.get(it.file) } : it));
      pictures = before - items.length;
    }
    if (this.app.sync.gone || this.app.sync.role !== "edit") return;
    if (items.length) lost += items.length - this.add(items, at);
    if (pictures) toast(`${pictures} picture(s) could not be brought from the other note, so they were left out.`, "error", 6000);
    if (lost) toast(`${lost} item(s) on the clipboard were not valid, so they were left out.`, "error");
  }

  /** Plain text: one text item (multi-line kept), cut to the contract's 10,000 characters. */
  pasteText(raw) {
    let text = cleanText(raw);
    if (!text.trim()) return;
    const chars = [...text];
    if (chars.length > MAX_TEXT) {
      text = chars.slice(0, MAX_TEXT).join("");
      toast(`The pasted text was cut to its first ${MAX_TEXT.toLocaleString("en")} characters.`);
    }
    const st = this.app.style("text");
    this.add([{ tool: "text", color: st.color, size: st.size, text, points: [[0, 0]] }], this.target());
  }

  // -- pictures from another note ------------------------------------------------------------------
  filesUrl(note) {
    return `${noteApi(this.cfg, note)}/files`;
  }

  /**
   * file id → the file id in this note, or null when it cannot be had. A file this note's
   * items already use is there; any other is fetched from the source note (same origin
   * only: the envelope never makes the page fetch another site) and uploaded here
   * (idempotent: the id is the hash of the bytes).
   */
  async bringFiles(items, source) {
    const out = new Map();
    const here = new Set([...this.app.items().values()].filter((it) => it.tool === "image").map((it) => it.file));
    const status = document.getElementById("upload-status");
    for (const file of new Set(items.filter((it) => it.tool === "image").map((it) => it.file))) {
      if (source.note === this.note || here.has(file)) {
        out.set(file, file);
        continue;
      }
      if (!source.note || !source.sameOrigin) {
        out.set(file, null);
        continue;
      }
      if (status) {
        status.textContent = "Copying pictures…";
        status.hidden = false;
      }
      out.set(file, await this.bring(file, source.note));
    }
    if (status) status.hidden = true;
    return out;
  }

  async bring(file, from) {
    try {
      const got = await fetch(`${this.filesUrl(from)}/${encodeURIComponent(file)}`);
      if (!got.ok) return null;
      const bytes = await got.arrayBuffer();
      const type = sniff(bytes);
      if (!type) return null;
      const headers = { "Content-Type": type, Accept: "application/json" };
      if (this.token) headers["X-Collab-Token"] = this.token;
      const up = await fetch(this.filesUrl(this.note), { method: "POST", headers, body: bytes });
      if (!up.ok) return null;
      const id = (await up.json()).file;
      if (typeof id !== "string" || !FILE.test(id)) return null;
      this.app.images.get(id, URL.createObjectURL(new Blob([bytes], { type }))); // shown at once, no second download
      return id;
    } catch (_) {
      return null; // unreachable: left out (a toast says so)
    }
  }
}
