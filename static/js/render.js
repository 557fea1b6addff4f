// The two canvases. `#board` (opaque): the committed and pending items over a dot grid.
// It is a cache: it keeps what it shows (`drawn`: the camera and the items, in order) and
// a frame brings it up to date with the least drawing:
// - the same camera: items added on top are drawn on top (someone drawing: O(1) drawing);
//   items removed, changed, moved or re-layered are redrawn inside their boxes only
//   (clipped to whole device pixels: the grid and every item crossing the boxes, in
//   order), so on a big board an erase, an undo or an update costs what it covers;
// - a pan by whole device pixels: the board's pixels are moved and only the uncovered
//   strips are drawn (then the changed items' boxes, as above);
// - anything else (a zoom, a resize of the window, an item being erased or edited):
//   everything is redrawn.
// Items the select tool drags (a move, a handle's resize, a scale) are left off the board
// while the gesture lasts (its start redraws their boxes) and drawn on #live each frame;
// the op that ends it redraws their new boxes.
// Each of these paints exactly the pixels a full redraw would. Pen strokes' paths are
// made once (draw.js), the paper and grid colours read once per full redraw.
// `#live`: what moves — my item in progress, the items being dragged, others' drafts, the
// selection, the eraser, laser trails — redrawn every frame while something does, and
// left alone while it is blank and nothing is to be shown.
import { drawStroke, strokeBox } from "./draw.js";

/** Redraw the changed items' boxes instead of everything while they cover less than this share of the board. */
const PARTIAL_MAX_AREA = 0.5;
/** Boards with fewer items are redrawn whole instead (a few milliseconds: the boxes pay off on big boards). */
const PARTIAL_MIN_ITEMS = 100;
/** More boxes than this are merged into one. */
const MAX_RECTS = 16;
/** Antialiased edges (and round caps) reach a little past an item's box: device pixels. */
const AA_PAD = 2;

export class Renderer {
  constructor(app, board, live) {
    this.app = app;
    this.board = board;
    this.live = live;
    // The board is always painted whole (paper first): an opaque canvas is cheaper to compose.
    this.bctx = board.getContext("2d", { alpha: false });
    this.lctx = live.getContext("2d");
    this.dpr = 1;
    this.sceneDirty = true;
    this.liveDirty = true;
    this.queued = false;
    /**
     * frames: board renders; full / incremental (items on top) / partial (boxes redrawn) /
     * shifted (pans) of them; items: drawn by the last one; painted: items the board shows;
     * ms: total time in renderScene(); live: #live redraws.
     */
    this.stats = { frames: 0, full: 0, incremental: 0, partial: 0, shifted: 0, items: 0, painted: 0, ms: 0, live: 0 };
    this.scratch = document.createElement("canvas");
    /** What #board shows: the camera, and the items drawn (objects, signatures, points), in order. */
    this.drawn = null;
    /** The paper and grid colours (read from the CSS at each full redraw). */
    this.colors = null;
    this.liveBlank = true;
  }

  /** An item as drawn: a new object for the same content has the same signature. */
  static sig(it) {
    return `${it.id}|${it.tool}|${it.color}|${it.width}|${it.fill}|${it.size}|${it.text}|${it.file}`;
  }

  /** Forget what the board shows (the theme changed, a picture loaded): the next frame redraws it all. */
  invalidate() {
    this.drawn = null;
    this.colors = null;
    this.sceneDirty = true;
    this.schedule();
  }

  schedule() {
    if (this.queued) return;
    this.queued = true;
    requestAnimationFrame(() => this.frame());
  }

  resize(W, H) {
    this.dpr = window.devicePixelRatio || 1;
    for (const c of [this.board, this.live]) {
      c.width = Math.max(1, Math.round(W * this.dpr));
      c.height = Math.max(1, Math.round(H * this.dpr));
    }
    this.drawn = null; // setting a canvas's size clears it, even to the size it had
    this.liveBlank = true;
    this.sceneDirty = this.liveDirty = true;
    this.schedule();
  }

  setWorld(ctx) {
    const cam = this.app.camera;
    ctx.setTransform(this.dpr * cam.z, 0, 0, this.dpr * cam.z, this.dpr * cam.tx, this.dpr * cam.ty);
  }

  readColors() {
    const css = getComputedStyle(document.body);
    this.colors = {
      paper: css.getPropertyValue("--paper").trim() || "#ffffff",
      grid: css.getPropertyValue("--grid").trim() || "#dde1e7",
    };
  }

  /** Paper and dots over the device-pixel rectangle [x, y, w, h] (the whole board by default). */
  background(ctx, r = [0, 0, this.board.width, this.board.height]) {
    const cam = this.app.camera;
    const dpr = this.dpr;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.fillStyle = this.colors.paper;
    ctx.fillRect(r[0], r[1], r[2], r[3]);
    let step = 24 * cam.z;
    while (step < 12) step *= 2;
    ctx.fillStyle = this.colors.grid;
    const size = Math.max(1, Math.round(dpr * 1.5));
    // The dots j of the screen, at tx + j × step (in device pixels, rounded), that reach into r:
    // each one computed from its own j, so a pan by whole pixels finds them where they moved to,
    // and the ones cut by an edge are drawn too.
    const first = (a, t) => Math.floor(((a - size) / dpr - t) / step) - 1;
    const last = (b, t) => Math.ceil((b / dpr - t) / step) + 1;
    const i1 = last(r[0] + r[2], cam.tx);
    const j0 = first(r[1], cam.ty);
    const j1 = last(r[1] + r[3], cam.ty);
    for (let i = first(r[0], cam.tx); i <= i1; i++) {
      const x = Math.round((cam.tx + i * step) * dpr);
      for (let j = j0; j <= j1; j++) ctx.fillRect(x, Math.round((cam.ty + j * step) * dpr), size, size);
    }
  }

  /** The world box of a device-pixel rectangle, padded for antialiasing. */
  worldRect([x, y, w, h]) {
    const cam = this.app.camera;
    const [x0, y0] = cam.toWorld(x / this.dpr, y / this.dpr);
    const [x1, y1] = cam.toWorld((x + w) / this.dpr, (y + h) / this.dpr);
    const pad = AA_PAD / this.dpr / cam.z;
    return [x0 - pad, y0 - pad, x1 + pad, y1 + pad];
  }

  /** The device-pixel rectangle (whole pixels, padded, clamped to the board) of a world box, or null off the board. */
  deviceRect(b) {
    const cam = this.app.camera;
    const k = this.dpr * cam.z;
    const x0 = Math.max(0, Math.floor(b[0] * k + this.dpr * cam.tx) - AA_PAD);
    const y0 = Math.max(0, Math.floor(b[1] * k + this.dpr * cam.ty) - AA_PAD);
    const x1 = Math.min(this.board.width, Math.ceil(b[2] * k + this.dpr * cam.tx) + AA_PAD);
    const y1 = Math.min(this.board.height, Math.ceil(b[3] * k + this.dpr * cam.ty) + AA_PAD);
    return x1 > x0 && y1 > y0 ? [x0, y0, x1 - x0, y1 - y0] : null;
  }

  /** Redraw the device-pixel rectangles `rects` of the board: background, then every item crossing them, in order. */
  redrawRects(list, rects) {
    const ctx = this.bctx;
    ctx.save();
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.beginPath();
    for (const r of rects) ctx.rect(...r);
    ctx.clip();
    for (const r of rects) this.background(ctx, r);
    this.setWorld(ctx);
    const world = rects.map((r) => this.worldRect(r));
    let n = 0;
    for (const it of list) {
      const b = strokeBox(it);
      for (const r of world) {
        if (!(b[2] < r[0] || b[0] > r[2] || b[3] < r[1] || b[1] > r[3])) {
          drawStroke(ctx, it, true);
          n++;
          break;
        }
      }
    }
    ctx.restore();
    return n;
  }

  /**
   * What changed between the items the board shows and `list`: null when only items
   * were added on top (`from`: the first new one), else the world boxes to redraw.
   */
  diff(list) {
    const d = this.drawn;
    const old = d.items;
    // The common cases first: nothing changed, or items added on top.
    let i = 0;
    const m = Math.min(old.length, list.length);
    while (i < m && (list[i] === old[i] || (list[i].points === d.points[i] && Renderer.sig(list[i]) === d.sigs[i]))) i++;
    if (i === old.length) return { from: i, boxes: null };
    // Something below the top changed: the boxes of what went, came, changed or moved in the layers.
    const boxes = [];
    let last = -1; // the drawn index of the last unchanged item: unchanged items must keep their order
    const kept = new Set();
    for (let j = 0; j < list.length; j++) {
      const it = list[j];
      const k = j < i ? j : d.index.get(it.id);
      const same = k !== undefined && (it === old[k] || (it.points === d.points[k] && Renderer.sig(it) === d.sigs[k]));
      if (same && k > last) {
        last = k;
        kept.add(k);
      } else {
        boxes.push(strokeBox(it));
      }
    }
    for (let k = 0; k < old.length; k++) if (!kept.has(k)) boxes.push(strokeBox(old[k]));
    return { from: null, boxes };
  }

  /** Remember what the board shows now. */
  remember(list, camKey) {
    const cam = this.app.camera;
    const index = new Map();
    list.forEach((it, k) => index.set(it.id, k));
    this.drawn = {
      camKey, tx: cam.tx, ty: cam.ty, z: cam.z, dpr: this.dpr, w: this.board.width, h: this.board.height,
      items: list, sigs: list.map(Renderer.sig), points: list.map((it) => it.points), index,
    };
  }

  renderScene() {
    const t0 = performance.now();
    const { bctx: ctx, app } = this;
    const cam = app.camera;
    const faded = app.tools.eraser.hidden(app);
    // Items being dragged are on #live meanwhile: the board is the others (the start of a drag
    // redraws the dragged items' boxes, as for a remove; its end, their new boxes).
    const drag = this.dragging();
    let list = [...app.items().values()];
    if (drag) list = list.filter((it) => !drag.ids.has(it.id));
    const bw = this.board.width;
    const bh = this.board.height;
    // Anything drawn differently from plain (fading, being edited) means a full redraw.
    const special = (faded && faded.size) || app.editingId;
    const camKey = special ? null : `${cam.tx}|${cam.ty}|${cam.z}|${this.dpr}|${bw}|${bh}`;
    let d = this.drawn;
    if (!this.colors) d = null;
    let n = 0;
    this.stats.frames++;
    if (camKey && d && d.z === cam.z && d.dpr === this.dpr && d.w === bw && d.h === bh) {
      // The same zoom: perhaps a pan by whole device pixels (a drag by whole CSS pixels
      // from a fractional start: the difference is whole up to rounding).
      const ex = (cam.tx - d.tx) * this.dpr;
      const ey = (cam.ty - d.ty) * this.dpr;
      const sx = Math.round(ex);
      const sy = Math.round(ey);
      if (Math.abs(ex - sx) < 1e-6 && Math.abs(ey - sy) < 1e-6 && Math.abs(sx) < bw && Math.abs(sy) < bh) {
        const change = this.diff(list);
        if (sx || sy) {
          // The strips show what the moved pixels show: without items that are new on top (drawn next, everywhere).
          n += this.shiftBoard(change.boxes === null ? list.slice(0, change.from) : list, sx, sy);
          this.stats.shifted++;
        }
        const done = this.update(list, change, sx || sy);
        if (done !== null) {
          n += done;
          this.remember(list, camKey);
          return this.finish(t0, n, list);
        }
      }
    }
    // Everything.
    this.readColors();
    this.background(ctx);
    this.setWorld(ctx);
    this.stats.full++;
    const [x0, y0] = cam.toWorld(0, 0);
    const [x1, y1] = cam.toWorld(cam.W, cam.H);
    for (const s of list) {
      if (s.id === app.editingId) continue;
      const b = strokeBox(s);
      if (b[2] < x0 || b[0] > x1 || b[3] < y0 || b[1] > y1) continue;
      if (faded && faded.has(s.id)) ctx.globalAlpha = 0.25;
      drawStroke(ctx, s, true);
      ctx.globalAlpha = 1;
      n++;
    }
    if (camKey) this.remember(list, camKey);
    else this.drawn = null;
    return this.finish(t0, n, list);
  }

  /**
   * What the select tool is dragging, or null: `ids` (left off the board meanwhile) and
   * `items`, in layer order as they are to be drawn now (on #live): a moved selection with
   * the drag's offset `dx`, `dy`; the item a handle resizes; the items a scale changes.
   */
  dragging() {
    const { app } = this;
    const g = app.gesture;
    const sel = app.selection;
    let ids = null;
    let dx = 0;
    let dy = 0;
    if (sel.offset) {
      ids = sel.ids;
      [dx, dy] = sel.offset;
    } else if (g && g.kind === "resize") {
      return { ids: new Set([g.item.id]), items: [{ ...g.item, points: sel.resized(g) }], dx, dy };
    } else if (g && g.kind === "scale" && g.scaled) {
      ids = g.scaled; // app.items() shows the scaled items in their place
    } else {
      return null;
    }
    const items = [];
    for (const it of app.items().values()) if (ids.has(it.id)) items.push(it);
    return { ids, items, dx, dy };
  }

  /**
   * Bring the board (at the current camera) up to `list` after `change` (see diff());
   * the number of items drawn, or null when a full redraw is cheaper.
   */
  update(list, change, shifted) {
    if (change.boxes === null) {
      if (change.from === list.length) {
        if (!shifted) this.stats.incremental++; // nothing new (an ack, an unchanged view)
        return 0;
      }
      this.setWorld(this.bctx);
      let n = 0;
      const cam = this.app.camera;
      const [x0, y0] = cam.toWorld(0, 0);
      const [x1, y1] = cam.toWorld(cam.W, cam.H);
      for (let i = change.from; i < list.length; i++) {
        const b = strokeBox(list[i]);
        if (b[2] < x0 || b[0] > x1 || b[3] < y0 || b[1] > y1) continue;
        drawStroke(this.bctx, list[i], true);
        n++;
      }
      this.stats.incremental++;
      return n;
    }
    if (list.length < PARTIAL_MIN_ITEMS) return null;
    let rects = change.boxes.map((b) => this.deviceRect(b)).filter(Boolean);
    if (!rects.length) {
      this.stats.partial++;
      return 0; // every change is off the board
    }
    if (rects.length > MAX_RECTS) {
      const x0 = Math.min(...rects.map((r) => r[0]));
      const y0 = Math.min(...rects.map((r) => r[1]));
      const x1 = Math.max(...rects.map((r) => r[0] + r[2]));
      const y1 = Math.max(...rects.map((r) => r[1] + r[3]));
      rects = [[x0, y0, x1 - x0, y1 - y0]];
    }
    const area = rects.reduce((a, r) => a + r[2] * r[3], 0);
    if (area > PARTIAL_MAX_AREA * this.board.width * this.board.height) return null;
    this.stats.partial++;
    return this.redrawRects(list, rects);
  }

  finish(t0, n, list) {
    if (list.length && !this.marked) {
      this.marked = true;
      // The first frame that shows items (bench/page_render.py reads these: where first paint goes).
      performance.mark("collab:draw-start", { startTime: t0 });
      performance.mark("collab:draw-end");
    }
    this.stats.items = n;
    this.stats.painted = list.length;
    this.stats.ms += performance.now() - t0;
  }

  /** Move the board's pixels by (sx, sy) device pixels and draw the uncovered strips; the items drawn. */
  shiftBoard(list, sx, sy) {
    const { bctx: ctx, board, scratch } = this;
    const bw = board.width;
    const bh = board.height;
    if (scratch.width !== bw || scratch.height !== bh) {
      scratch.width = bw;
      scratch.height = bh;
    }
    const sctx = scratch.getContext("2d", { alpha: false });
    sctx.setTransform(1, 0, 0, 1, 0, 0);
    sctx.drawImage(board, 0, 0);
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.drawImage(scratch, sx, sy);
    // The uncovered strips, in device pixels.
    const strips = [];
    if (sx > 0) strips.push([0, 0, sx, bh]);
    if (sx < 0) strips.push([bw + sx, 0, -sx, bh]);
    if (sy > 0) strips.push([0, 0, bw, sy]);
    if (sy < 0) strips.push([0, bh + sy, bw, -sy]);
    return this.redrawRects(list, strips);
  }

  renderLive() {
    const { lctx: ctx, app } = this;
    const sel = app.selection;
    const g = app.gesture;
    const previews = app.images ? app.images.previews : null;
    const trails = app.presence.trails();
    const marquee = app.tools.select.marquee(app);
    const empty =
      !app.drafts.size && !(previews && previews.size) && !(g && g.owner && g.owner.preview) && !sel.ids.size &&
      !marquee && !trails.length && !app.eraserAt;
    if (empty && this.liveBlank) return; // nothing to show, nothing shown
    const dpr = this.dpr;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, this.live.width, this.live.height);
    this.stats.live++;
    this.liveBlank = empty;
    if (empty) return;
    this.setWorld(ctx);
    // What a select gesture drags: drawn here every frame, off the board until it ends.
    const drag = this.dragging();
    if (drag) {
      ctx.translate(drag.dx, drag.dy);
      const resized = app.gesture && app.gesture.kind !== "move"; // new points each frame: no cached path
      for (const it of drag.items) drawStroke(ctx, it, !resized);
      this.setWorld(ctx);
    }
    for (const d of app.drafts.values()) drawStroke(ctx, d.stroke);
    // Pictures kept while the server is unreachable: faded, where they will go once uploaded.
    for (const p of previews ? previews.values() : []) {
      ctx.globalAlpha = 0.6;
      if (p.ok) {
        const [[ax, ay], [bx, by]] = p.item.points;
        ctx.drawImage(p.img, Math.min(ax, bx), Math.min(ay, by), Math.abs(bx - ax), Math.abs(by - ay));
      } else drawStroke(ctx, p.item);
      ctx.globalAlpha = 1;
    }
    if (g && g.owner && g.owner.preview) drawStroke(ctx, g.owner.preview(app));
    // The selection: dashed boxes, and corner handles for one resizable item.
    const z = app.camera.z;
    ctx.lineWidth = 1 / z;
    ctx.strokeStyle = "#4c6ef5";
    ctx.setLineDash([4 / z, 3 / z]);
    for (const b of sel.boxes()) ctx.strokeRect(b[0] - 4 / z, b[1] - 4 / z, b[2] - b[0] + 8 / z, b[3] - b[1] + 8 / z);
    ctx.setLineDash([]);
    const one = sel.single();
    if (one && sel.resizable(one) && !sel.offset) {
      const pts = g && g.kind === "resize" ? sel.resized(g) : one.points;
      ctx.fillStyle = "#ffffff";
      for (const [x, y] of pts) {
        ctx.fillRect(x - 5 / z, y - 5 / z, 10 / z, 10 / z);
        ctx.strokeRect(x - 5 / z, y - 5 / z, 10 / z, 10 / z);
      }
    }
    if (marquee) {
      const [a, b] = marquee;
      ctx.fillStyle = "rgba(76, 110, 245, 0.08)";
      ctx.fillRect(Math.min(a[0], b[0]), Math.min(a[1], b[1]), Math.abs(b[0] - a[0]), Math.abs(b[1] - a[1]));
      ctx.strokeRect(Math.min(a[0], b[0]), Math.min(a[1], b[1]), Math.abs(b[0] - a[0]), Math.abs(b[1] - a[1]));
    }
    // Laser trails: fading with age.
    ctx.lineCap = "round";
    ctx.lineJoin = "round";
    for (const t of trails) {
      const pts = t.points;
      for (let i = 1; i < pts.length; i++) {
        ctx.globalAlpha = pts[i].a;
        ctx.strokeStyle = t.color;
        ctx.lineWidth = (2 + 4 * pts[i].a) / z;
        ctx.beginPath();
        ctx.moveTo(pts[i - 1].x, pts[i - 1].y);
        ctx.lineTo(pts[i].x, pts[i].y);
        ctx.stroke();
      }
      ctx.globalAlpha = 1;
    }
    if (app.eraserAt) {
      ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
      ctx.beginPath();
      ctx.arc(app.eraserAt[0], app.eraserAt[1], 8, 0, Math.PI * 2);
      ctx.fillStyle = "rgba(73, 80, 87, 0.12)";
      ctx.fill();
      ctx.lineWidth = 1.5;
      ctx.strokeStyle = "rgba(73, 80, 87, 0.7)";
      ctx.stroke();
    }
    // The selection's box and its corner handles (several items, or one without point handles).
    sel.drawFrame(this);
    if (trails.length) this.liveDirty = true; // keep fading
  }

  frame() {
    this.queued = false;
    const scene = this.sceneDirty;
    const live = this.liveDirty;
    this.sceneDirty = this.liveDirty = false;
    if (scene) this.renderScene();
    if (live || scene) this.renderLive();
    if (scene || this.app.presence.dirty) this.app.presence.place();
    if (this.liveDirty) this.schedule();
  }
}
