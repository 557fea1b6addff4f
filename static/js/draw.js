// Drawing items on a canvas, their boxes and hit-testing. Every v2 tool; the curves,
// arrow heads, text boxes and sticky padding match collab/render.py (the SVG/PNG
// exports): pen/highlighter one smoothed path (quadratic curves through the midpoints of
// consecutive points), round caps and joins, highlighter at HIGHLIGHTER_ALPHA; line and
// arrow straight segments; rect/ellipse the box of their two points; text at its point,
// LINE_HEIGHT × size per line, a sticky note (text with fill) padded by STICKY_PADDING × size.
import { getStrokePoints } from "../vendor/perfect-freehand.mjs";

export const HIGHLIGHTER_ALPHA = 0.4;
export const MAX_POINTS = 4000; // the contract allows 5000; a longer stroke is split
export const DEFAULT_TEXT_SIZE = 20;
export const LINE_HEIGHT = 1.25;
export const CHAR_WIDTH = 0.6;
export const STICKY_PADDING = 0.5;
const ARROW_HEAD_MIN = 10;
const ARROW_HEAD_WIDTHS = 3;
const ARROW_HEAD_ANGLE = (30 * Math.PI) / 180;
export const FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif";

/** Trace the smoothed path through `pts` (same curve as render.path_data). */
export function tracePath(ctx, pts) {
  const n = pts.length;
  ctx.moveTo(pts[0][0], pts[0][1]);
  for (let i = 1; i < n - 1; i++) {
    const c = pts[i]; // indexed, not destructured: a whole note's paths are made as it opens, JIT cold
    const d = pts[i + 1];
    ctx.quadraticCurveTo(c[0], c[1], (c[0] + d[0]) / 2, (c[1] + d[1]) / 2);
  }
  if (n >= 2) ctx.lineTo(pts[n - 1][0], pts[n - 1][1]);
}

/** The far ends of an arrow head's two lines (both start at the last point), or null. */
export function arrowHead(pts, width) {
  if (!pts || !pts.length) return null;
  const [tx, ty] = pts[pts.length - 1];
  let i = pts.length - 2;
  while (i >= 0 && pts[i][0] === tx && pts[i][1] === ty) i--;
  if (i < 0) return null;
  const dir = Math.atan2(ty - pts[i][1], tx - pts[i][0]);
  const len = Math.max(ARROW_HEAD_MIN, ARROW_HEAD_WIDTHS * width);
  return [
    [tx - len * Math.cos(dir + ARROW_HEAD_ANGLE), ty - len * Math.sin(dir + ARROW_HEAD_ANGLE)],
    [tx - len * Math.cos(dir - ARROW_HEAD_ANGLE), ty - len * Math.sin(dir - ARROW_HEAD_ANGLE)],
  ];
}

export const textSize = (it) => (typeof it.size === "number" ? it.size : DEFAULT_TEXT_SIZE);
export const textLines = (it) => (typeof it.text === "string" && it.text ? it.text.replace(/\r\n/g, "\n").split("\n") : []);

let measureCtx = null;
function measure(line, size) {
  measureCtx ||= document.createElement("canvas").getContext("2d");
  measureCtx.font = `${size}px ${FONT}`;
  return measureCtx.measureText(line).width;
}

/** The box of a text item's text (no sticky padding): measured, at least render.py's estimate. */
export function textBox(it) {
  const lines = textLines(it);
  const p = it.points && it.points[0];
  if (!lines.length || !p) return null;
  const size = textSize(it);
  let w = 0;
  for (const l of lines) w = Math.max(w, CHAR_WIDTH * size * [...l].length, measure(l, size));
  return [p[0], p[1], p[0] + w, p[1] + LINE_HEIGHT * size * lines.length];
}

let imageSource = () => null;
/** Where drawStroke gets the loaded picture of a file id (an Image, or null: a placeholder). */
export function setImageSource(fn) {
  imageSource = fn;
}

const norm = (a, b) => [Math.min(a[0], b[0]), Math.min(a[1], b[1]), Math.max(a[0], b[0]), Math.max(a[1], b[1])];

/**
 * The smoothed path of a pen or highlighter stroke's points, made once per points array:
 * items are never changed in place (replica.js), so an item's points array is its path's
 * identity, shared by the new objects an ack, an update of its colour or a view make.
 */
const paths = new WeakMap();
export function strokePath(pts) {
  let p = paths.get(pts);
  if (!p) {
    p = new Path2D();
    tracePath(p, pts);
    paths.set(pts, p);
  }
  return p;
}

/**
 * Draw one item in world coordinates. `cached`: take a pen stroke's path from the cache
 * (items on the board; not the item in progress, whose points change every frame).
 */
export function drawStroke(ctx, s, cached = false) {
  const pts = s.points;
  if (!pts || !pts.length) return;
  const tool = s.tool || "pen";
  const w = s.width || 2;
  ctx.lineCap = "round";
  ctx.lineJoin = "round";
  if (tool === "pen" || tool === "highlighter") {
    const alpha = ctx.globalAlpha; // the caller's (an item the eraser is over is drawn faded)
    ctx.globalAlpha = alpha * (tool === "highlighter" ? HIGHLIGHTER_ALPHA : 1);
    if (pts.length === 1) {
      ctx.fillStyle = s.color;
      ctx.beginPath();
      ctx.arc(pts[0][0], pts[0][1], w / 2, 0, Math.PI * 2);
      ctx.fill();
    } else if (cached) {
      ctx.strokeStyle = s.color;
      ctx.lineWidth = w;
      ctx.stroke(strokePath(pts));
    } else {
      ctx.strokeStyle = s.color;
      ctx.lineWidth = w;
      ctx.beginPath();
      tracePath(ctx, pts);
      ctx.stroke();
    }
    ctx.globalAlpha = alpha;
    return;
  }
  if (tool === "line" || tool === "arrow") {
    ctx.strokeStyle = s.color;
    ctx.lineWidth = w;
    ctx.beginPath();
    ctx.moveTo(pts[0][0], pts[0][1]);
    for (let i = 1; i < pts.length; i++) ctx.lineTo(pts[i][0], pts[i][1]);
    if (tool === "arrow") {
      const head = arrowHead(pts, w);
      const [tx, ty] = pts[pts.length - 1];
      if (head) {
        ctx.moveTo(head[0][0], head[0][1]);
        ctx.lineTo(tx, ty);
        ctx.lineTo(head[1][0], head[1][1]);
      }
    }
    ctx.stroke();
    return;
  }
  if (tool === "rect" || tool === "ellipse" || tool === "image") {
    if (pts.length < 2) return;
    const [x0, y0, x1, y1] = norm(pts[0], pts[1]);
    ctx.beginPath();
    if (tool === "ellipse") ctx.ellipse((x0 + x1) / 2, (y0 + y1) / 2, (x1 - x0) / 2, (y1 - y0) / 2, 0, 0, Math.PI * 2);
    else ctx.rect(x0, y0, x1 - x0, y1 - y0);
    if (tool === "image") {
      const img = s.file ? imageSource(s.file) : null;
      if (img) {
        ctx.drawImage(img, x0, y0, x1 - x0, y1 - y0);
        return;
      }
      ctx.fillStyle = "#f1f3f5";
      ctx.fill();
      ctx.strokeStyle = "#adb5bd";
      ctx.lineWidth = 1;
      ctx.stroke();
      return;
    }
    if (s.fill) {
      ctx.fillStyle = s.fill;
      ctx.fill();
    }
    ctx.lineJoin = "miter";
    ctx.strokeStyle = s.color;
    ctx.lineWidth = w;
    ctx.stroke();
    return;
  }
  if (tool === "text") {
    const tb = textBox(s);
    if (!tb) return;
    const size = textSize(s);
    if (s.fill) {
      const pad = STICKY_PADDING * size;
      ctx.fillStyle = s.fill;
      ctx.shadowColor = "rgba(0,0,0,0.15)";
      ctx.shadowBlur = 6;
      ctx.shadowOffsetY = 2;
      ctx.fillRect(tb[0] - pad, tb[1] - pad, tb[2] - tb[0] + 2 * pad, tb[3] - tb[1] + 2 * pad);
      ctx.shadowColor = "transparent";
      ctx.shadowBlur = 0;
      ctx.shadowOffsetY = 0;
    }
    ctx.fillStyle = s.color;
    ctx.font = `${size}px ${FONT}`;
    ctx.textBaseline = "alphabetic";
    textLines(s).forEach((line, i) => ctx.fillText(line, tb[0], tb[1] + i * LINE_HEIGHT * size + size));
  }
}

const round2 = (v) => Math.round(v * 100) / 100;

/**
 * Smooth raw pointer points (world coordinates) with perfect-freehand's streamline,
 * rounded to 0.01. `last` = the stroke is finished (keeps the final point exactly).
 */
export function smoothPoints(raw, width, last) {
  if (raw.length < 3) return raw.map(([x, y]) => [round2(x), round2(y)]);
  const sp = getStrokePoints(raw, { size: Math.max(width, 1), streamline: 0.4, last });
  const out = [];
  let px = NaN;
  let py = NaN;
  for (const p of sp) {
    const x = round2(p.point[0]);
    const y = round2(p.point[1]);
    if (x === px && y === py) continue;
    out.push([x, y]);
    px = x;
    py = y;
  }
  if (last) {
    const [lx, ly] = raw[raw.length - 1];
    const end = [round2(lx), round2(ly)];
    const tail = out[out.length - 1];
    if (!tail || tail[0] !== end[0] || tail[1] !== end[1]) out.push(end);
  }
  if (!out.length) out.push([round2(raw[0][0]), round2(raw[0][1])]);
  return out;
}
export { round2 };

function extent(pts, h) {
  let x0 = Infinity;
  let y0 = Infinity;
  let x1 = -Infinity;
  let y1 = -Infinity;
  // An indexed loop: the boxes of a whole note are made when it opens, before the JIT has warmed up.
  for (let i = 0; i < pts.length; i++) {
    const x = pts[i][0];
    const y = pts[i][1];
    if (x < x0) x0 = x;
    if (y < y0) y0 = y;
    if (x > x1) x1 = x;
    if (y > y1) y1 = y;
  }
  return [x0 - h, y0 - h, x1 + h, y1 + h];
}

/** Bounding box of an item's ink: [x0, y0, x1, y1] (cached on the object). */
export function strokeBox(s) {
  if (s._box) return s._box;
  const tool = s.tool || "pen";
  const h = (s.width || 0) / 2;
  let box;
  if (tool === "text") {
    box = textBox(s) || [0, 0, 0, 0];
    if (s.fill) {
      const pad = STICKY_PADDING * textSize(s);
      box = [box[0] - pad, box[1] - pad, box[2] + pad, box[3] + pad];
    }
  } else {
    box = s.points && s.points.length ? extent(s.points, h) : [0, 0, 0, 0];
    if (tool === "arrow") {
      const head = arrowHead(s.points, s.width || 2);
      if (head) {
        const hb = extent(head, h);
        box = [Math.min(box[0], hb[0]), Math.min(box[1], hb[1]), Math.max(box[2], hb[2]), Math.max(box[3], hb[3])];
      }
    }
  }
  Object.defineProperty(s, "_box", { value: box, enumerable: false });
  return box;
}

function segDist2(px, py, ax, ay, bx, by) {
  const dx = bx - ax;
  const dy = by - ay;
  const len2 = dx * dx + dy * dy;
  let t = len2 ? ((px - ax) * dx + (py - ay) * dy) / len2 : 0;
  t = Math.max(0, Math.min(1, t));
  const ex = ax + t * dx - px;
  const ey = ay + t * dy - py;
  return ex * ex + ey * ey;
}

function nearPolyline(p, x, y, reach2) {
  if (p.length === 1) return segDist2(x, y, p[0][0], p[0][1], p[0][0], p[0][1]) <= reach2;
  for (let i = 1; i < p.length; i++) if (segDist2(x, y, p[i - 1][0], p[i - 1][1], p[i][0], p[i][1]) <= reach2) return true;
  return false;
}

/** Whether a circle (x, y, r) touches the item's ink (filled shapes and text: anywhere inside). */
export function hits(s, x, y, r) {
  const [x0, y0, x1, y1] = strokeBox(s);
  if (x < x0 - r || x > x1 + r || y < y0 - r || y > y1 + r) return false;
  const tool = s.tool || "pen";
  const reach = r + (s.width || 0) / 2;
  const p = s.points;
  if (tool === "text" || tool === "image") return true;
  if (tool === "rect" || tool === "ellipse") {
    const [a0, b0, a1, b1] = norm(p[0], p[1]);
    if (tool === "rect") {
      if (s.fill && x >= a0 && x <= a1 && y >= b0 && y <= b1) return true;
      const c = [[a0, b0], [a1, b0], [a1, b1], [a0, b1], [a0, b0]];
      return nearPolyline(c, x, y, reach * reach);
    }
    const cx = (a0 + a1) / 2;
    const cy = (b0 + b1) / 2;
    const rx = Math.max((a1 - a0) / 2, 1e-6);
    const ry = Math.max((b1 - b0) / 2, 1e-6);
    const d = Math.hypot((x - cx) / rx, (y - cy) / ry); // 1 on the outline
    if (s.fill && d <= 1) return true;
    return Math.abs(d - 1) * Math.min(rx, ry) <= reach;
  }
  if (tool === "arrow") {
    const head = arrowHead(p, s.width || 2);
    if (head && nearPolyline([head[0], p[p.length - 1], head[1]], x, y, reach * reach)) return true;
  }
  return nearPolyline(p, x, y, reach * reach);
}

/** Whether an item's box lies inside the box [x0, y0, x1, y1] (box select). */
export function inside(s, box) {
  const b = strokeBox(s);
  return b[0] >= box[0] && b[1] >= box[1] && b[2] <= box[2] && b[3] <= box[3];
}

/** Bounding box of many items, or null. */
export function unionBox(strokes) {
  let box = null;
  for (const s of strokes) {
    const b = strokeBox(s);
    box = box ? [Math.min(box[0], b[0]), Math.min(box[1], b[1]), Math.max(box[2], b[2]), Math.max(box[3], b[3])] : [...b];
  }
  return box;
}
