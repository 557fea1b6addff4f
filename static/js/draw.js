// Drawing strokes on a canvas. The curve and styles match collab/render.py (the SVG/PNG
// exports): one path through the points, quadratic curves through the midpoints of
// consecutive points, round caps and joins, highlighter at HIGHLIGHTER_ALPHA.
import { getStrokePoints } from "../vendor/perfect-freehand.mjs";

export const HIGHLIGHTER_ALPHA = 0.4;
export const MAX_POINTS = 4000; // the contract allows 5000; a longer stroke is split

/** Trace the smoothed path through `pts` (same curve as render.path_data). */
export function tracePath(ctx, pts) {
  const n = pts.length;
  ctx.moveTo(pts[0][0], pts[0][1]);
  for (let i = 1; i < n - 1; i++) {
    const [cx, cy] = pts[i];
    const [nx, ny] = pts[i + 1];
    ctx.quadraticCurveTo(cx, cy, (cx + nx) / 2, (cy + ny) / 2);
  }
  if (n >= 2) ctx.lineTo(pts[n - 1][0], pts[n - 1][1]);
}

/** Draw one stroke `{color, width, points, tool}` in world coordinates. */
export function drawStroke(ctx, s) {
  const pts = s.points;
  if (!pts || !pts.length) return;
  ctx.globalAlpha = s.tool === "highlighter" ? HIGHLIGHTER_ALPHA : 1;
  if (pts.length === 1) {
    ctx.fillStyle = s.color;
    ctx.beginPath();
    ctx.arc(pts[0][0], pts[0][1], s.width / 2, 0, Math.PI * 2);
    ctx.fill();
  } else {
    ctx.strokeStyle = s.color;
    ctx.lineWidth = s.width;
    ctx.lineCap = "round";
    ctx.lineJoin = "round";
    ctx.beginPath();
    tracePath(ctx, pts);
    ctx.stroke();
  }
  ctx.globalAlpha = 1;
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

/** Bounding box of a stroke's ink: [x0, y0, x1, y1] (cached on the object). */
export function strokeBox(s) {
  if (s._box) return s._box;
  let x0 = Infinity;
  let y0 = Infinity;
  let x1 = -Infinity;
  let y1 = -Infinity;
  for (const [x, y] of s.points) {
    if (x < x0) x0 = x;
    if (y < y0) y0 = y;
    if (x > x1) x1 = x;
    if (y > y1) y1 = y;
  }
  const h = s.width / 2;
  const box = [x0 - h, y0 - h, x1 + h, y1 + h];
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

/** Whether a circle (x, y, r) touches the stroke's ink. */
export function hits(s, x, y, r) {
  const [x0, y0, x1, y1] = strokeBox(s);
  if (x < x0 - r || x > x1 + r || y < y0 - r || y > y1 + r) return false;
  const reach = r + s.width / 2;
  const reach2 = reach * reach;
  const p = s.points;
  if (p.length === 1) return segDist2(x, y, p[0][0], p[0][1], p[0][0], p[0][1]) <= reach2;
  for (let i = 1; i < p.length; i++) {
    if (segDist2(x, y, p[i - 1][0], p[i - 1][1], p[i][0], p[i][1]) <= reach2) return true;
  }
  return false;
}

/** Bounding box of many strokes, or null. */
export function unionBox(strokes) {
  let box = null;
  for (const s of strokes) {
    const b = strokeBox(s);
    box = box ? [Math.min(box[0], b[0]), Math.min(box[1], b[1]), Math.max(box[2], b[2]), Math.max(box[3], b[3])] : [...b];
  }
  return box;
}
