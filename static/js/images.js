// Pictures: image items drawn from `{api}/<note>/files/<file>` (one Image per file id,
// a placeholder box until it has loaded), and placing new ones — paste, drop, the image
// button (I) — by uploading the bytes (POST, the file's type as Content-Type) and then
// adding the item. An upload that fails because the server cannot be reached keeps the
// bytes (a data URL in localStorage, up to KEEP_MAX bytes) with the item, whose id is
// chosen once; it is uploaded again on reconnect (idempotent: the file id is the hash)
// and only then the item is queued, so nothing is lost or doubled.
import { noteApi, randomId } from "./config.js";
import { round2, setImageSource } from "./draw.js";
import { toast } from "./ui.js";

export const TYPES = ["image/png", "image/jpeg", "image/webp", "image/gif"];
export const KEEP_MAX = 2 * 1024 * 1024; // bytes of one picture kept offline (localStorage)

function fromBase64(data) {
  const bin = atob(data);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  return bytes.buffer;
}

/** The image type the bytes start with (as the server sniffs it), or null. */
export function sniff(bytes) {
  const b = new Uint8Array(bytes, 0, Math.min(12, bytes.byteLength));
  const starts = (sig) => sig.every((v, i) => b[i] === v);
  if (starts([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return "image/png";
  if (starts([0xff, 0xd8, 0xff])) return "image/jpeg";
  if (starts([0x47, 0x49, 0x46, 0x38])) return "image/gif";
  if (starts([0x52, 0x49, 0x46, 0x46]) && b[8] === 0x57 && b[9] === 0x45 && b[10] === 0x42 && b[11] === 0x50) return "image/webp";
  return null;
}

export class Images {
  constructor(app, { cfg, note, token }) {
    this.app = app;
    this.cfg = cfg;
    this.note = note;
    this.token = token;
    this.cache = new Map(); // file id → {img, ok}
    this.key = `collab.images.${note}`;
    this.retrying = false;
    this.previews = new Map(); // item id → {item, img, ok, url}: kept pictures, drawn faded on #live
    for (const k of this.kept()) this.preview(k.item, fromBase64(k.data), k.type);
    setImageSource((file) => this.get(file));
    addEventListener("online", () => this.retry());
    setInterval(() => this.retry(), 5000);
  }

  url(file) {
    return `${noteApi(this.cfg, this.note)}/files/${encodeURIComponent(file)}` + (this.token ? `?share=${encodeURIComponent(this.token)}` : "");
  }

  /** The loaded Image of a file, or null (its load starts; the board is redrawn once it arrives). */
  get(file, src) {
    let c = this.cache.get(file);
    if (!c) {
      c = { img: new Image(), ok: false, tries: 0 };
      this.cache.set(file, c);
      this.load(file, c, src);
    }
    return c.ok ? c.img : null;
  }

  load(file, c, src) {
    c.img.onload = () => {
      c.ok = true;
      this.app.renderer.drawn = null; // the board shows a placeholder for it: redraw it whole
      this.app.sceneChanged();
    };
    c.img.onerror = () => {
      // Not there yet (an upload still on its way) or unreachable: try again a little later.
      if (++c.tries < 6) setTimeout(() => this.load(file, c), 2000 * c.tries);
    };
    c.img.src = src || this.url(file);
  }

  /** Whether the picture of `file` has been loaded (tests). */
  loaded(file) {
    const c = this.cache.get(file);
    return !!(c && c.ok);
  }

  // -- placing ---------------------------------------------------------------------------
  /** The first image file of a DataTransfer (paste, drop), or null. */
  static fileOf(dt) {
    return Images.filesOf(dt)[0] || null;
  }

  /** Every image file of a DataTransfer. */
  static filesOf(dt) {
    if (!dt) return [];
    const files = [...(dt.files || [])].filter((f) => f.type.startsWith("image/"));
    if (files.length) return files;
    return [...(dt.items || [])].filter((it) => it.kind === "file" && it.type.startsWith("image/")).map((it) => it.getAsFile());
  }

  /** Upload `file` and place it centred on world point `at` (default: the view's centre). */
  async place(file, at) {
    const app = this.app;
    if (!app.sync || app.sync.role !== "edit") return toast("This note is view-only for you.");
    if (!TYPES.includes(file.type)) return toast("Not a picture this board can show (PNG, JPEG, WebP or GIF).", "error");
    const cam = app.camera;
    let w = 0;
    let h = 0;
    try {
      const bmp = await createImageBitmap(file);
      w = bmp.width;
      h = bmp.height;
      bmp.close();
    } catch (_) {
      return toast("This picture cannot be read.", "error");
    }
    // Its natural size (a screen pixel per image pixel), scaled down to fit the view.
    const fit = Math.min(1, (0.8 * cam.W) / w, (0.8 * cam.H) / h);
    const ww = (w * fit) / cam.z;
    const hh = (h * fit) / cam.z;
    const c = at || cam.toWorld(cam.W / 2, cam.H / 2);
    const item = {
      id: randomId(16),
      tool: "image",
      color: "#000000",
      points: [
        [round2(c[0] - ww / 2), round2(c[1] - hh / 2)],
        [round2(c[0] + ww / 2), round2(c[1] + hh / 2)],
      ],
    };
    const bytes = await file.arrayBuffer();
    // The type the bytes say (a PNG named .jpg is still a PNG); the server checks they agree.
    await this.send({ item, type: sniff(bytes) || file.type, bytes });
  }

  /** Upload, then add the item; kept for later when the server cannot be reached. */
  async send(job, kept = false) {
    const status = document.getElementById("upload-status");
    status.textContent = "Uploading picture…";
    status.hidden = false;
    let res;
    try {
      const headers = { "Content-Type": job.type, Accept: "application/json" };
      if (this.token) headers["X-Collab-Token"] = this.token;
      res = await fetch(`${noteApi(this.cfg, this.note)}/files`, { method: "POST", headers, body: job.bytes });
    } catch (_) {
      status.hidden = true;
      if (!kept) this.keep(job);
      return false;
    }
    status.hidden = true;
    if (res.status >= 500 || res.status === 429) {
      // A proxy while the server restarts, or busy: keep it and try again later.
      if (!kept) this.keep(job);
      return false;
    }
    if (kept) this.forget(job.item.id);
    if (!res.ok) {
      let msg = "";
      try {
        msg = ((await res.json()).error || {}).message || "";
      } catch (_) {
        /* no JSON */
      }
      const why = res.status === 413 ? "the picture is too large" : res.status === 415 ? "this is not a picture the server accepts" : msg || `${res.status}`;
      toast(`Could not add the picture: ${why}.`, "error", 6000);
      return true;
    }
    const up = await res.json();
    const item = { ...job.item, file: up.file };
    const c = this.cache.get(up.file);
    if (!c) this.get(up.file, URL.createObjectURL(new Blob([job.bytes], { type: job.type })));
    this.app.history.act([{ kind: "stroke", stroke: item }]);
    this.app.selection.set([item.id]);
    this.app.setTool("select", true);
    return true;
  }

  // -- kept offline ---------------------------------------------------------------------------
  kept() {
    try {
      return JSON.parse(localStorage.getItem(this.key) || "[]");
    } catch (_) {
      return [];
    }
  }

  keep(job) {
    if (job.bytes.byteLength > KEEP_MAX) {
      toast("The server cannot be reached, and this picture is too large to keep until it can: try again later.", "error", 6000);
      return;
    }
    const bin = new Uint8Array(job.bytes);
    let s = "";
    for (let i = 0; i < bin.length; i += 0x8000) s += String.fromCharCode(...bin.subarray(i, i + 0x8000));
    const list = this.kept().filter((k) => k.item.id !== job.item.id);
    list.push({ item: job.item, type: job.type, data: btoa(s) });
    try {
      localStorage.setItem(this.key, JSON.stringify(list));
      this.preview(job.item, job.bytes, job.type);
      toast("Offline: the picture is kept and will be added once the server can be reached.");
    } catch (_) {
      toast("The server cannot be reached, and there is no room to keep this picture: try again later.", "error", 6000);
    }
  }

  /** Show a kept picture (faded, not selectable) where it will go. */
  preview(item, bytes, type) {
    if (this.previews.has(item.id)) return;
    const p = { item, img: new Image(), ok: false, url: URL.createObjectURL(new Blob([bytes], { type })) };
    p.img.onload = () => {
      p.ok = true;
      this.app.liveChanged();
    };
    p.img.src = p.url;
    this.previews.set(item.id, p);
    this.app.liveChanged();
  }

  forget(id) {
    const p = this.previews.get(id);
    if (p) {
      URL.revokeObjectURL(p.url);
      this.previews.delete(id);
      this.app.liveChanged();
    }
    const list = this.kept().filter((k) => k.item.id !== id);
    if (list.length) localStorage.setItem(this.key, JSON.stringify(list));
    else localStorage.removeItem(this.key);
  }

  /** Upload what was kept, oldest first (on reconnect, `online`, and every 5 s). */
  async retry() {
    if (this.retrying || !this.app.sync || this.app.sync.gone || this.app.sync.role !== "edit") return;
    if (!this.app.sync.socket || !this.app.sync.socket.connected) return;
    const list = this.kept();
    if (!list.length) return;
    this.retrying = true;
    try {
      for (const k of list) {
        if (!(await this.send({ item: k.item, type: k.type, bytes: fromBase64(k.data) }, true))) break;
      }
    } finally {
      this.retrying = false;
    }
  }
}
