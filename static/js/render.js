// The two canvases. `#board`: the committed and pending items over a dot grid, redrawn
// when the items or the view change — only the new items when the view is the same and
// the items before them are unchanged (someone drawing adds on top: O(1), not O(n));
// a pan by whole device pixels with the same items moves the board's pixels and draws
// only the strips it uncovers. `#live`: what moves — my item in progress, others'
// drafts, the selection, the eraser, laser trails — redrawn every frame while something does.
import { drawStroke, strokeBox } from "./draw.js";

export class Renderer {
  constructor(app, board, live) {
    this.app = app;
    this.board = board;
    this.live = live;
    this.bctx = board.getContext("2d");
    this.lctx = live.getContext("2d");
    this.dpr = 1;
    this.sceneDirty = true;
    this.liveDirty = true;
    this.queued = false;
    this.stats = { frames: 0, full: 0, incremental: 0, shifted: 0, items: 0, ms: 0 };
    this.scratch = document.createElement("canvas");
    /** What #board shows: the camera, and per drawn item its signature (see sig()). */
    this.drawn = null;
  }

  /** An item as drawn: a new object for the same content has the same signature. */
  static sig(it) {
    return `${it.id}|${it.tool}|${it.color}|${it.width}|${it.fill}|${it.size}|${it.text}|${it.file}`;
  }

  /** Whether #board can be brought up to date by drawing `list`'s tail only. */
  appendable(list, camKey) {
    const d = this.drawn;
    if (!d || d.camKey !== camKey) return false;
    return this.sameHead(list);
  }

  /** Whether `list` begins with the items #board shows, unchanged. */
  sameHead(list) {
    const d = this.drawn;
    if (!d || list.length < d.sigs.length) return false;
    for (let i = 0; i < d.sigs.length; i++) {
      if (d.points[i] !== list[i].points || d.sigs[i] !== Renderer.sig(list[i])) return false;
    }
    return true;
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
    this.sceneDirty = this.liveDirty = true;
    this.schedule();
  }

  setWorld(ctx) {
    const cam = this.app.camera;
    ctx.setTransform(this.dpr * cam.z, 0, 0, this.dpr * cam.z, this.dpr * cam.tx, this.dpr * cam.ty);
  }

  grid(ctx) {
    const cam = this.app.camera;
    const dpr = this.dpr;
    let step = 24 * cam.z;
    while (step < 12) step *= 2;
    const ox = ((cam.tx % step) + step) % step;
    const oy = ((cam.ty % step) + step) % step;
    ctx.fillStyle = getComputedStyle(document.body).getPropertyValue("--grid").trim() || "#dde1e7";
    const size = Math.max(1, Math.round(dpr * 1.5));
    for (let x = ox; x < cam.W; x += step) {
      for (let y = oy; y < cam.H; y += step) ctx.fillRect(Math.round(x * dpr), Math.round(y * dpr), size, size);
    }
  }

  renderScene() {
    const t0 = performance.now();
    const { bctx: ctx, app } = this;
    const cam = app.camera;
    const sel = app.selection;
    const [dx, dy] = sel.offset || [0, 0];
    const resize = app.gesture && app.gesture.kind === "resize" ? app.gesture : null;
    const faded = app.tools.eraser.hidden(app);
    const list = [...app.items().values()];
    // Anything drawn differently from plain (moving, resizing, fading, being edited) means a full redraw.
    const special = dx || dy || resize || (faded && faded.size) || app.editingId;
    const camKey = special ? null : `${cam.tx}|${cam.ty}|${cam.z}|${this.dpr}|${this.board.width}|${this.board.height}`;
    let from = 0;
    const d = this.drawn;
    const bw = this.board.width;
    const bh = this.board.height;
    const sx = d ? (cam.tx - d.tx) * this.dpr : NaN;
    const sy = d ? (cam.ty - d.ty) * this.dpr : NaN;
    const shift =
      camKey && d && d.z === cam.z && d.dpr === this.dpr && d.w === bw && d.h === bh && (sx || sy) &&
      Number.isInteger(sx) && Number.isInteger(sy) && Math.abs(sx) < bw && Math.abs(sy) < bh &&
      list.length === d.sigs.length && this.sameHead(list);
    if (shift) {
      this.shiftBoard(list, sx, sy);
      this.drawn = { ...d, camKey, tx: cam.tx, ty: cam.ty };
      this.stats.shifted++;
      this.stats.frames++;
      this.stats.ms += performance.now() - t0;
      return;
    }
    if (camKey && this.appendable(list, camKey)) {
      from = this.drawn.sigs.length;
      this.setWorld(ctx);
      this.stats.incremental++;
    } else {
      ctx.setTransform(1, 0, 0, 1, 0, 0);
      ctx.fillStyle = getComputedStyle(document.body).getPropertyValue("--paper").trim() || "#ffffff";
      ctx.fillRect(0, 0, this.board.width, this.board.height);
      this.grid(ctx);
      this.setWorld(ctx);
      this.stats.full++;
    }
    this.drawn = camKey
      ? { camKey, tx: cam.tx, ty: cam.ty, z: cam.z, dpr: this.dpr, w: bw, h: bh, sigs: list.map(Renderer.sig), points: list.map((it) => it.points) }
      : null;
    const [x0, y0] = cam.toWorld(0, 0);
    const [x1, y1] = cam.toWorld(cam.W, cam.H);
    let n = 0;
    for (let i = from; i < list.length; i++) {
      let s = list[i];
      if (s.id === app.editingId) continue;
      if (resize && s.id === resize.item.id) s = { ...s, points: sel.resized(resize) };
      const moving = (dx || dy) && sel.has(s.id);
      const b = strokeBox(s);
      if (!moving && (b[2] < x0 || b[0] > x1 || b[3] < y0 || b[1] > y1)) continue;
      if (faded && faded.has(s.id)) ctx.globalAlpha = 0.25;
      if (moving) ctx.translate(dx, dy);
      drawStroke(ctx, s);
      if (moving) ctx.translate(-dx, -dy);
      ctx.globalAlpha = 1;
      n++;
    }
    this.stats.frames++;
    this.stats.items = n;
    this.stats.ms += performance.now() - t0;
  }

  /** Move the board's pixels by (sx, sy) device pixels and draw the uncovered strips. */
  shiftBoard(list, sx, sy) {
    const { bctx: ctx, board, scratch, app } = this;
    const bw = board.width;
    const bh = board.height;
    if (scratch.width !== bw || scratch.height !== bh) {
      scratch.width = bw;
      scratch.height = bh;
    }
    const sctx = scratch.getContext("2d");
    sctx.setTransform(1, 0, 0, 1, 0, 0);
    sctx.clearRect(0, 0, bw, bh);
    sctx.drawImage(board, 0, 0);
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.drawImage(scratch, sx, sy);
    // The uncovered strips, in device pixels.
    const strips = [];
    if (sx > 0) strips.push([0, 0, sx, bh]);
    if (sx < 0) strips.push([bw + sx, 0, -sx, bh]);
    if (sy > 0) strips.push([0, 0, bw, sy]);
    if (sy < 0) strips.push([0, bh + sy, bw, -sy]);
    ctx.save();
    ctx.beginPath();
    for (const r of strips) ctx.rect(...r);
    ctx.clip();
    ctx.fillStyle = getComputedStyle(document.body).getPropertyValue("--paper").trim() || "#ffffff";
    ctx.fillRect(0, 0, bw, bh);
    this.grid(ctx);
    this.setWorld(ctx);
    const cam = app.camera;
    const worldStrips = strips.map(([x, y, w, h]) => {
      const [x0, y0] = cam.toWorld(x / this.dpr, y / this.dpr);
      const [x1, y1] = cam.toWorld((x + w) / this.dpr, (y + h) / this.dpr);
      const pad = 2 / cam.z; // antialiased edges reach a little past an item's box
      return [x0 - pad, y0 - pad, x1 + pad, y1 + pad];
    });
    for (const it of list) {
      const b = strokeBox(it);
      if (worldStrips.some((r) => !(b[2] < r[0] || b[0] > r[2] || b[3] < r[1] || b[1] > r[3]))) drawStroke(ctx, it);
    }
    ctx.restore();
  }

  renderLive() {
    const { lctx: ctx, app } = this;
    const dpr = this.dpr;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, this.live.width, this.live.height);
    this.setWorld(ctx);
    for (const d of app.drafts.values()) drawStroke(ctx, d.stroke);
    // Pictures kept while the server is unreachable: faded, where they will go once uploaded.
    for (const p of app.images ? app.images.previews.values() : []) {
      ctx.globalAlpha = 0.6;
      if (p.ok) {
        const [[ax, ay], [bx, by]] = p.item.points;
        ctx.drawImage(p.img, Math.min(ax, bx), Math.min(ay, by), Math.abs(bx - ax), Math.abs(by - ay));
      } else drawStroke(ctx, p.item);
      ctx.globalAlpha = 1;
    }
    const g = app.gesture;
    if (g && g.owner && g.owner.preview) drawStroke(ctx, g.owner.preview(app));
    // The selection: dashed boxes, and corner handles for one resizable item.
    const z = app.camera.z;
    ctx.lineWidth = 1 / z;
    ctx.strokeStyle = "#4c6ef5";
    ctx.setLineDash([4 / z, 3 / z]);
    for (const b of app.selection.boxes()) ctx.strokeRect(b[0] - 4 / z, b[1] - 4 / z, b[2] - b[0] + 8 / z, b[3] - b[1] + 8 / z);
    ctx.setLineDash([]);
    const one = app.selection.single();
    if (one && app.selection.resizable(one) && !app.selection.offset) {
      const pts = g && g.kind === "resize" ? app.selection.resized(g) : one.points;
      ctx.fillStyle = "#ffffff";
      for (const [x, y] of pts) {
        ctx.fillRect(x - 5 / z, y - 5 / z, 10 / z, 10 / z);
        ctx.strokeRect(x - 5 / z, y - 5 / z, 10 / z, 10 / z);
      }
    }
    const m = app.tools.select.marquee(app);
    if (m) {
      const [a, b] = m;
      ctx.fillStyle = "rgba(76, 110, 245, 0.08)";
      ctx.fillRect(Math.min(a[0], b[0]), Math.min(a[1], b[1]), Math.abs(b[0] - a[0]), Math.abs(b[1] - a[1]));
      ctx.strokeRect(Math.min(a[0], b[0]), Math.min(a[1], b[1]), Math.abs(b[0] - a[0]), Math.abs(b[1] - a[1]));
    }
    // Laser trails: fading with age.
    let glowing = false;
    ctx.lineCap = "round";
    ctx.lineJoin = "round";
    for (const t of app.presence.trails()) {
      glowing = true;
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
    if (glowing) this.liveDirty = true; // keep fading
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
