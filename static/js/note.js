// The drawing page: canvas, tools, pan/zoom, live overlays, and the wiring to Sync.
import { noteApi, randomId, readConfig, api } from "./config.js";
import { drawStroke, hits, MAX_POINTS, smoothPoints, strokeBox, unionBox } from "./draw.js";
import { Sync } from "./sync.js";
import { askName, confirmDialog, el, myColor, promptDialog, toast } from "./ui.js";

const cfg = readConfig();
const NOTE = cfg.note;
let sync = null; // set once the display name is known (see the end of this file)
const params = new URLSearchParams(location.search);
const SHARE = params.get("share"); // a share link's signed token (role "view" or "edit")
const shareQuery = SHARE ? `?share=${encodeURIComponent(SHARE)}` : "";
const $ = (sel) => document.querySelector(sel);

const COLORS = ["#1e1e1e", "#e03131", "#2f9e44", "#1971c2", "#f08c00", "#9c36b5", "#fab005"];
const WIDTHS = { pen: [2, 4, 8, 16], highlighter: [12, 20, 32, 48] };
const THROTTLE_MS = 33; // drafts and cursors: about 30 a second
const DRAFT_TTL_MS = 3000;
const CURSOR_TTL_MS = 10000;
const ERASER_RADIUS = 8; // screen pixels
const MIN_Z = 0.1;
const MAX_Z = 8;

// -- preferences ------------------------------------------------------------------------
const prefs = { tool: "pen", color: COLORS[0], widthIndex: 1 };
try {
  Object.assign(prefs, JSON.parse(localStorage.getItem("collab.prefs") || "{}"));
} catch (_) {
  /* defaults */
}
if (!["pen", "highlighter", "eraser", "hand"].includes(prefs.tool)) prefs.tool = "pen";
if (!/^#[0-9a-f]{6}$/i.test(prefs.color)) prefs.color = COLORS[0];
prefs.widthIndex = Math.max(0, Math.min(3, prefs.widthIndex | 0));
function savePrefs() {
  try {
    localStorage.setItem("collab.prefs", JSON.stringify(prefs));
  } catch (_) {
    /* not remembered */
  }
}
const inkTool = () => (prefs.tool === "highlighter" ? "highlighter" : "pen");
const inkWidth = () => WIDTHS[inkTool()][prefs.widthIndex];

// -- canvas and view ----------------------------------------------------------------------
const stage = $("#stage");
const board = $("#board");
const live = $("#live");
const bctx = board.getContext("2d");
const lctx = live.getContext("2d");
const cursorLayer = $("#cursors");
const view = { tx: 0, ty: 0, z: 1 };
let dpr = 1;
let W = 0;
let H = 0;
let shown = new Map(); // id → stroke, what the scene draws
let sceneDirty = true;
let liveDirty = true;
let frameQueued = false;

function schedule() {
  if (frameQueued) return;
  frameQueued = true;
  requestAnimationFrame(frame);
}

function resize() {
  dpr = window.devicePixelRatio || 1;
  W = stage.clientWidth;
  H = stage.clientHeight;
  for (const c of [board, live]) {
    c.width = Math.max(1, Math.round(W * dpr));
    c.height = Math.max(1, Math.round(H * dpr));
  }
  sceneDirty = liveDirty = true;
  schedule();
}

const toWorld = (sx, sy) => [(sx - view.tx) / view.z, (sy - view.ty) / view.z];
const toScreen = (x, y) => [x * view.z + view.tx, y * view.z + view.ty];

function eventPoint(e) {
  const r = stage.getBoundingClientRect();
  return [e.clientX - r.left, e.clientY - r.top];
}

function setWorld(ctx) {
  ctx.setTransform(dpr * view.z, 0, 0, dpr * view.z, dpr * view.tx, dpr * view.ty);
}

function drawGrid(ctx) {
  let step = 24 * view.z;
  while (step < 12) step *= 2;
  const ox = ((view.tx % step) + step) % step;
  const oy = ((view.ty % step) + step) % step;
  ctx.fillStyle = "#dde1e7";
  const size = Math.max(1, Math.round(dpr * 1.5));
  for (let x = ox; x < W; x += step) {
    for (let y = oy; y < H; y += step) ctx.fillRect(Math.round(x * dpr), Math.round(y * dpr), size, size);
  }
}

function renderScene() {
  bctx.setTransform(1, 0, 0, 1, 0, 0);
  bctx.fillStyle = "#ffffff";
  bctx.fillRect(0, 0, board.width, board.height);
  drawGrid(bctx);
  setWorld(bctx);
  const [x0, y0] = toWorld(0, 0);
  const [x1, y1] = toWorld(W, H);
  for (const s of shown.values()) {
    const b = strokeBox(s);
    if (b[2] < x0 || b[0] > x1 || b[3] < y0 || b[1] > y1) continue;
    drawStroke(bctx, s);
  }
}

function renderLive() {
  lctx.setTransform(1, 0, 0, 1, 0, 0);
  lctx.clearRect(0, 0, live.width, live.height);
  setWorld(lctx);
  for (const d of drafts.values()) drawStroke(lctx, d.stroke);
  if (gesture && gesture.kind === "draw") drawStroke(lctx, currentStroke(false));
  if (eraserAt) {
    lctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    lctx.beginPath();
    lctx.arc(eraserAt[0], eraserAt[1], ERASER_RADIUS, 0, Math.PI * 2);
    lctx.fillStyle = "rgba(73, 80, 87, 0.12)";
    lctx.fill();
    lctx.lineWidth = 1.5;
    lctx.strokeStyle = "rgba(73, 80, 87, 0.7)";
    lctx.stroke();
  }
}

function frame() {
  frameQueued = false;
  if (sceneDirty) renderScene();
  if (liveDirty) renderLive();
  if (sceneDirty || cursorsDirty) placeCursors();
  sceneDirty = liveDirty = cursorsDirty = false;
}

function viewChanged() {
  sceneDirty = liveDirty = true;
  $("#zoom-reset").textContent = `${Math.round(view.z * 100)}%`;
  schedule();
}

function zoomAt(sx, sy, factor) {
  const z = Math.min(MAX_Z, Math.max(MIN_Z, view.z * factor));
  const [wx, wy] = toWorld(sx, sy);
  view.z = z;
  view.tx = sx - wx * z;
  view.ty = sy - wy * z;
  viewChanged();
}

function resetZoom() {
  zoomAt(W / 2, H / 2, 1 / view.z);
}

function fit() {
  const box = unionBox(shown.values());
  if (!box) {
    view.tx = view.ty = 0;
    view.z = 1;
    return viewChanged();
  }
  const pad = 48;
  const z = Math.min(2, Math.max(MIN_Z, Math.min((W - 2 * pad) / (box[2] - box[0] || 1), (H - 2 * pad) / (box[3] - box[1] || 1))));
  view.z = z;
  view.tx = W / 2 - ((box[0] + box[2]) / 2) * z;
  view.ty = H / 2 - ((box[1] + box[3]) / 2) * z;
  viewChanged();
}

// -- live overlays: drafts and cursors ------------------------------------------------------
const drafts = new Map(); // peer → {stroke, t}
const committedIds = new Set(); // recent stroke ids: a late draft of these is ignored
const cursors = new Map(); // peer → {x, y, t, node}
let peers = new Map(); // peer → {peer, name, color}
let cursorsDirty = false;

function onDraft(d) {
  if (committedIds.has(d.id)) return;
  drafts.set(d.peer, { stroke: { color: d.color, width: d.width, points: d.points, tool: d.tool }, t: Date.now(), id: d.id });
  liveDirty = true;
  schedule();
}

function onStrokeArrived(data) {
  committedIds.add(data.id);
  if (committedIds.size > 500) committedIds.delete(committedIds.values().next().value);
  for (const [peer, d] of drafts) if (d.id === data.id) drafts.delete(peer);
  liveDirty = true;
}

function onCursor(c) {
  let cur = cursors.get(c.peer);
  if (!cur) {
    const node = el("div", { class: "cursor" });
    node.innerHTML =
      '<svg viewBox="0 0 16 20" aria-hidden="true"><path d="M1 1l13 8.5-6 1.2-3.2 6.3z"/></svg><span class="cursor-name"></span>';
    cursorLayer.append(node);
    cur = { node };
    cursors.set(c.peer, cur);
  }
  Object.assign(cur, { x: c.x, y: c.y, t: Date.now() });
  const p = peers.get(c.peer);
  cur.node.style.setProperty("--c", (p && p.color) || "#495057");
  cur.node.querySelector(".cursor-name").textContent = (p && p.name) || "Guest";
  cur.node.hidden = false;
  cursorsDirty = true;
  schedule();
}

function placeCursors() {
  for (const cur of cursors.values()) {
    const [sx, sy] = toScreen(cur.x, cur.y);
    cur.node.style.transform = `translate(${sx}px, ${sy}px)`;
  }
}

setInterval(() => {
  const now = Date.now();
  for (const [peer, d] of drafts) {
    if (now - d.t > DRAFT_TTL_MS) {
      drafts.delete(peer);
      liveDirty = true;
    }
  }
  for (const [peer, cur] of cursors) {
    if (now - cur.t > CURSOR_TTL_MS || !peers.has(peer)) {
      cur.node.remove();
      cursors.delete(peer);
    }
  }
  if (liveDirty) schedule();
}, 500);

// -- presence -----------------------------------------------------------------------------------
function initials(name) {
  const parts = name.trim().split(/\s+/).filter(Boolean);
  const letters = parts.length > 1 ? parts[0][0] + parts[1][0] : [...(parts[0] || "?")][0];
  return letters.toUpperCase();
}

function onPresence(list) {
  peers = new Map(list.map((p) => [p.peer, p]));
  const me = sync && sync.me;
  const ordered = [...list].sort((a, b) => (a.peer === me ? -1 : b.peer === me ? 1 : 0));
  const avatars = $("#people");
  avatars.replaceChildren();
  for (const p of ordered.slice(0, 5)) {
    const a = el("span", { class: "avatar", text: initials(p.name || "?") });
    a.style.setProperty("--c", p.color);
    a.title = p.peer === me ? `${p.name} (you)` : p.name;
    avatars.append(a);
  }
  if (ordered.length > 5) avatars.append(el("span", { class: "avatar more", text: `+${ordered.length - 5}` }));
  avatars.setAttribute("aria-label", `${list.length} here`);
  avatars.dataset.count = String(list.length);
  const items = $("#people-items");
  items.replaceChildren();
  for (const p of ordered) {
    const dot = el("span", { class: "dot" });
    dot.style.setProperty("--c", p.color);
    const li = el("li", {}, dot, el("span", { class: "name", text: p.name }));
    if (p.peer === me) li.append(el("span", { class: "muted", text: " (you)" }));
    items.append(li);
  }
  for (const cur of cursors.values()) cur.node.hidden = false;
}

// -- connection status --------------------------------------------------------------------------
const STATUS_TEXT = { connected: "Connected", connecting: "Connecting…", reconnecting: "Reconnecting…", offline: "Offline" };
function onStatus(state, waiting) {
  const box = $("#status");
  box.dataset.state = state;
  box.dataset.waiting = String(waiting);
  let text = STATUS_TEXT[state] || state;
  if (waiting) text = state === "connected" ? `Saving ${waiting}…` : `${text} · ${waiting} waiting`;
  $("#status-text").textContent = text;
  document.querySelector(".people-panel").classList.toggle("stale", state !== "connected");
  box.title = waiting ? `${waiting} stroke(s) not yet saved on the server` : text;
}

// -- title, exports -------------------------------------------------------------------------------
let title = NOTE;
function setTitle(t) {
  if (!t) return;
  title = t;
  $("#title").textContent = t;
  document.title = `${t} · Collab`;
  const file = t.replace(/[^\w\- ]+/g, "").trim().slice(0, 60) || NOTE;
  $("#export-svg").download = `${file}.svg`;
  $("#export-png").download = `${file}.png`;
}
$("#export-svg").href = noteApi(cfg, NOTE) + ".svg" + shareQuery;
$("#export-png").href = noteApi(cfg, NOTE) + ".png" + shareQuery;

$("#title").addEventListener("click", async () => {
  const t = await promptDialog({ title: "Rename note", label: "Title", value: title, confirm: "Rename" });
  if (!t || t === title) return;
  try {
    const row = await api(noteApi(cfg, NOTE), { method: "PATCH", body: { title: t }, token: SHARE });
    setTitle(row.title);
  } catch (err) {
    toast(`Could not rename: ${err.message}`, "error");
  }
});

// -- tools ----------------------------------------------------------------------------------------
let spaceDown = false;

function setTool(tool) {
  prefs.tool = tool;
  savePrefs();
  stage.dataset.tool = tool;
  for (const b of document.querySelectorAll(".tool")) b.setAttribute("aria-pressed", String(b.dataset.tool === tool));
  renderWidths();
  eraserAt = null;
  liveDirty = true;
  schedule();
}

function setColor(color) {
  prefs.color = color;
  savePrefs();
  let matched = false;
  for (const b of document.querySelectorAll("#colors .swatch[data-color]")) {
    const on = b.dataset.color === color;
    matched ||= on;
    b.setAttribute("aria-pressed", String(on));
  }
  const custom = document.querySelector(".swatch.custom");
  custom.classList.toggle("active", !matched);
  if (!matched) {
    custom.style.setProperty("--c", color);
    $("#custom-color").value = color;
  }
  if (prefs.tool === "eraser" || prefs.tool === "hand") setTool("pen");
}

function setWidth(i) {
  prefs.widthIndex = Math.max(0, Math.min(3, i));
  savePrefs();
  renderWidths();
}

function renderWidths() {
  for (const b of document.querySelectorAll("#widths button")) {
    b.setAttribute("aria-pressed", String(Number(b.dataset.index) === prefs.widthIndex));
    b.title = `Width ${WIDTHS[inkTool()][b.dataset.index]} ([ and ])`;
  }
}

function buildToolbar() {
  const custom = document.querySelector(".swatch.custom");
  COLORS.forEach((c, i) => {
    const b = el("button", { class: "swatch", type: "button", "data-color": c, title: `Colour ${i + 1}`, "aria-label": `Colour ${c}` });
    b.style.setProperty("--c", c);
    b.addEventListener("click", () => setColor(c));
    custom.before(b);
  });
  $("#custom-color").addEventListener("input", (e) => setColor(e.target.value));
  for (let i = 0; i < 4; i++) {
    const b = el("button", { class: "icon-btn width", type: "button", "data-index": String(i), "aria-label": `Width ${i + 1}` });
    const dot = el("span", { class: "width-dot" });
    dot.style.setProperty("--s", `${[3, 6, 10, 15][i]}px`);
    b.append(dot);
    b.addEventListener("click", () => setWidth(i));
    $("#widths").append(b);
  }
  for (const b of document.querySelectorAll(".tool")) b.addEventListener("click", () => setTool(b.dataset.tool));
  setColor(prefs.color);
  setTool(prefs.tool);
}

// -- undo / redo / clear ---------------------------------------------------------------------------
let undoStack = []; // our strokes, oldest first
let redoStack = [];

function undo() {
  while (undoStack.length) {
    const s = undoStack.pop();
    if (!shown.has(s.id)) continue; // already erased or cleared
    sync.removeStroke(s.id);
    redoStack.push(s);
    return;
  }
}

function redo() {
  const s = redoStack.pop();
  if (!s) return;
  const again = { ...s, id: randomId(16) }; // ids stay taken after a removal
  undoStack.push(again);
  sync.addStroke(again);
}

async function clearAll() {
  if (!shown.size || sync.role !== "edit") return;
  const ok = await confirmDialog({
    title: "Clear the whole note?",
    message: "Every stroke is removed, for everyone. This cannot be undone.",
    confirm: "Clear",
    danger: true,
  });
  if (!ok) return;
  undoStack = [];
  redoStack = [];
  sync.clear();
}

function updateHistoryButtons() {
  $("#undo").disabled = !undoStack.some((s) => shown.has(s.id));
  $("#redo").disabled = !redoStack.length;
}

// -- pointer input ------------------------------------------------------------------------------
let gesture = null; // {kind: "draw"|"erase"|"pan"|"pinch", ...}
let eraserAt = null;
const touches = new Map(); // pointerId → [x, y] (screen)
let lastDraft = 0;
let draftTimer = null;
let lastCursor = 0;
let cursorTimer = null;
let pendingCursor = null;

function currentStroke(last) {
  const g = gesture;
  return { id: g.id, color: g.color, width: g.width, tool: g.tool, points: smoothPoints(g.raw, g.width, last) };
}

function sendDraftSoon() {
  if (draftTimer) return;
  const wait = Math.max(0, THROTTLE_MS - (performance.now() - lastDraft));
  draftTimer = setTimeout(() => {
    draftTimer = null;
    lastDraft = performance.now();
    if (gesture && gesture.kind === "draw" && !sync.sendDraft(currentStroke(false))) sendDraftSoon();
  }, wait);
}

function sendCursorSoon(x, y) {
  pendingCursor = [x, y];
  if (cursorTimer) return;
  const wait = Math.max(0, THROTTLE_MS - (performance.now() - lastCursor));
  cursorTimer = setTimeout(() => {
    cursorTimer = null;
    lastCursor = performance.now();
    const [cx, cy] = pendingCursor;
    if (!sync.sendCursor(Math.round(cx * 10) / 10, Math.round(cy * 10) / 10)) sendCursorSoon(cx, cy);
  }, wait);
}

function startDraw(e, p) {
  gesture = {
    kind: "draw",
    pointerId: e.pointerId,
    pointerType: e.pointerType,
    id: randomId(16),
    color: prefs.color,
    width: inkWidth(),
    tool: inkTool(),
    raw: [toWorld(p[0], p[1])],
  };
  liveDirty = true;
  schedule();
}

function finishDraw() {
  const g = gesture;
  gesture = null;
  clearTimeout(draftTimer);
  draftTimer = null;
  if (!g || g.kind !== "draw") return;
  const stroke = { id: g.id, color: g.color, width: g.width, tool: g.tool, points: smoothPoints(g.raw, g.width, true) };
  undoStack.push(stroke);
  redoStack = [];
  sync.addStroke(stroke);
  liveDirty = true;
  schedule();
}

function eraseAlong(from, to) {
  const [ax, ay] = from;
  const [bx, by] = to;
  const r = ERASER_RADIUS / view.z;
  const steps = Math.max(1, Math.ceil(Math.hypot(bx - ax, by - ay) / r));
  const removed = gesture.removed;
  for (let i = 0; i <= steps; i++) {
    const x = ax + ((bx - ax) * i) / steps;
    const y = ay + ((by - ay) * i) / steps;
    for (const s of shown.values()) {
      if (!removed.has(s.id) && hits(s, x, y, r)) {
        removed.add(s.id);
        sync.removeStroke(s.id);
      }
    }
  }
}

function startPinch() {
  if (gesture && gesture.kind === "draw") {
    gesture = null; // a second finger: the first one meant to pan or zoom
    clearTimeout(draftTimer);
    draftTimer = null;
    liveDirty = true;
  }
  const [a, b] = [...touches.values()];
  gesture = {
    kind: "pinch",
    mid: [(a[0] + b[0]) / 2, (a[1] + b[1]) / 2],
    dist: Math.hypot(a[0] - b[0], a[1] - b[1]) || 1,
    view: { ...view },
  };
  schedule();
}

function movePinch() {
  const [a, b] = [...touches.values()];
  const g = gesture;
  const mid = [(a[0] + b[0]) / 2, (a[1] + b[1]) / 2];
  const dist = Math.hypot(a[0] - b[0], a[1] - b[1]) || 1;
  const z = Math.min(MAX_Z, Math.max(MIN_Z, (g.view.z * dist) / g.dist));
  const wx = (g.mid[0] - g.view.tx) / g.view.z;
  const wy = (g.mid[1] - g.view.ty) / g.view.z;
  view.z = z;
  view.tx = mid[0] - wx * z;
  view.ty = mid[1] - wy * z;
  viewChanged();
}

stage.addEventListener("pointerdown", (e) => {
  if (!sync) return;
  const p = eventPoint(e);
  if (e.pointerType === "touch") {
    touches.set(e.pointerId, p);
    if (touches.size === 2) return startPinch();
    if (touches.size > 2) return;
  }
  if (e.button !== 0 && e.button !== 1) return;
  e.preventDefault();
  stage.setPointerCapture(e.pointerId);
  if (e.button === 1 || prefs.tool === "hand" || spaceDown) {
    gesture = { kind: "pan", pointerId: e.pointerId, start: p, tx: view.tx, ty: view.ty };
    stage.classList.add("panning");
  } else if (sync.role !== "edit") {
    toast("This note is view-only for you.");
  } else if (prefs.tool === "eraser") {
    const w = toWorld(p[0], p[1]);
    gesture = { kind: "erase", pointerId: e.pointerId, last: w, removed: new Set() };
    eraseAlong(w, w);
  } else {
    startDraw(e, p);
  }
});

stage.addEventListener("pointermove", (e) => {
  if (!sync) return;
  const p = eventPoint(e);
  if (e.pointerType === "touch" && touches.has(e.pointerId)) {
    touches.set(e.pointerId, p);
    if (gesture && gesture.kind === "pinch" && touches.size >= 2) return movePinch();
  }
  const w = toWorld(p[0], p[1]);
  if (e.pointerType !== "touch" || (gesture && gesture.kind === "draw")) sendCursorSoon(w[0], w[1]);
  if (prefs.tool === "eraser" && e.pointerType !== "touch") {
    eraserAt = p;
    liveDirty = true;
    schedule();
  }
  if (!gesture || gesture.pointerId !== e.pointerId) return;
  if (gesture.kind === "pan") {
    view.tx = gesture.tx + p[0] - gesture.start[0];
    view.ty = gesture.ty + p[1] - gesture.start[1];
    viewChanged();
  } else if (gesture.kind === "erase") {
    eraserAt = p;
    eraseAlong(gesture.last, w);
    gesture.last = w;
    liveDirty = true;
    schedule();
  } else if (gesture.kind === "draw") {
    const events = typeof e.getCoalescedEvents === "function" ? e.getCoalescedEvents() : [];
    const r = stage.getBoundingClientRect();
    const list = events.length ? events : [e];
    const minStep = 0.5 / view.z;
    for (const ev of list) {
      const q = toWorld(ev.clientX - r.left, ev.clientY - r.top);
      const last = gesture.raw[gesture.raw.length - 1];
      if (Math.hypot(q[0] - last[0], q[1] - last[1]) < minStep) continue;
      gesture.raw.push(q);
    }
    if (gesture.raw.length >= MAX_POINTS) {
      // Very long strokes are split: the contract allows at most 5000 points.
      const tail = gesture.raw[gesture.raw.length - 1];
      const pointerId = gesture.pointerId;
      finishDraw();
      startDraw({ pointerId, pointerType: e.pointerType }, toScreen(tail[0], tail[1]));
    }
    liveDirty = true;
    sendDraftSoon();
    schedule();
  }
});

function endPointer(e) {
  touches.delete(e.pointerId);
  if (gesture && gesture.kind === "pinch") {
    if (touches.size < 2) gesture = null;
    return;
  }
  if (!gesture || gesture.pointerId !== e.pointerId) return;
  if (gesture.kind === "draw") finishDraw();
  else gesture = null;
  stage.classList.remove("panning");
  liveDirty = true;
  schedule();
}
stage.addEventListener("pointerup", endPointer);
stage.addEventListener("pointercancel", endPointer);
stage.addEventListener("pointerleave", () => {
  if (eraserAt && !gesture) {
    eraserAt = null;
    liveDirty = true;
    schedule();
  }
});

stage.addEventListener(
  "wheel",
  (e) => {
    e.preventDefault();
    const unit = e.deltaMode === 1 ? 16 : e.deltaMode === 2 ? H : 1;
    const p = eventPoint(e);
    if (e.ctrlKey || e.metaKey) {
      zoomAt(p[0], p[1], Math.exp(-e.deltaY * unit * 0.01));
    } else {
      view.tx -= (e.shiftKey && !e.deltaX ? e.deltaY : e.deltaX) * unit;
      view.ty -= (e.shiftKey && !e.deltaX ? 0 : e.deltaY) * unit;
      viewChanged();
    }
  },
  { passive: false },
);

// -- keyboard -------------------------------------------------------------------------------------
function typing(e) {
  const t = e.target;
  return t && (t.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(t.tagName)) || document.querySelector("dialog[open]");
}

document.addEventListener("keydown", (e) => {
  if (!sync || typing(e)) return;
  const mod = e.ctrlKey || e.metaKey;
  const k = e.key;
  if (mod && (k === "z" || k === "Z")) {
    e.preventDefault();
    return e.shiftKey ? redo() : undo();
  }
  if (mod && (k === "y" || k === "Y")) {
    e.preventDefault();
    return redo();
  }
  if (mod || e.altKey) return;
  if (k === " ") {
    e.preventDefault();
    if (!spaceDown) {
      spaceDown = true;
      stage.classList.add("space-pan");
    }
    return;
  }
  const tools = { p: "pen", m: "highlighter", e: "eraser", h: "hand" };
  if (tools[k.toLowerCase()] && !e.shiftKey) return setTool(tools[k.toLowerCase()]);
  if (k === "[") return setWidth(prefs.widthIndex - 1);
  if (k === "]") return setWidth(prefs.widthIndex + 1);
  if (k >= "1" && k <= "7" && !e.shiftKey) return setColor(COLORS[Number(k) - 1]);
  if (k === "!" || (e.shiftKey && e.code === "Digit1")) return fit();
  if (k === "+" || k === "=") return zoomAt(W / 2, H / 2, 1.25);
  if (k === "-" || k === "_") return zoomAt(W / 2, H / 2, 0.8);
  if (k === "0") return resetZoom();
  if (k === "?") return $("#help").showModal();
  if (e.shiftKey && (k === "Delete" || k === "Backspace")) return clearAll();
});
document.addEventListener("keyup", (e) => {
  if (e.key === " ") {
    spaceDown = false;
    stage.classList.remove("space-pan");
  }
});

// -- buttons ---------------------------------------------------------------------------------------
$("#undo").addEventListener("click", undo);
$("#redo").addEventListener("click", redo);
$("#clear").addEventListener("click", clearAll);
$("#zoom-in").addEventListener("click", () => zoomAt(W / 2, H / 2, 1.25));
$("#zoom-out").addEventListener("click", () => zoomAt(W / 2, H / 2, 0.8));
$("#zoom-reset").addEventListener("click", resetZoom);
$("#zoom-fit").addEventListener("click", fit);
$("#help-btn").addEventListener("click", () => $("#help").showModal());
$("#people").addEventListener("click", () => {
  const list = $("#people-list");
  list.hidden = !list.hidden;
  $("#people").setAttribute("aria-expanded", String(!list.hidden));
});
document.addEventListener("pointerdown", (e) => {
  if (!e.target.closest(".people-panel")) $("#people-list").hidden = true;
});
$("#change-name").addEventListener("click", async () => {
  $("#people-list").hidden = true;
  const name = await askName(true);
  if (name) sync.setAuth({ name });
});

// -- start ---------------------------------------------------------------------------------------------
buildToolbar();
addEventListener("resize", resize);
resize();

const name = await askName();
let fitted = false;
sync = new Sync({
  cfg,
  note: NOTE,
  auth: { ...(name ? { name } : {}), color: myColor(), ...(SHARE ? { token: SHARE } : {}) },
  transport: params.get("transport") || undefined,
  on: {
    change() {
      shown = sync.view();
      sceneDirty = true;
      updateHistoryButtons();
      schedule();
    },
    status: onStatus,
    presence: onPresence,
    cursor: onCursor,
    draft: onDraft,
    strokeArrived: onStrokeArrived,
    meta(m) {
      if (m.title) setTitle(m.title);
      if (m.role) {
        document.body.classList.toggle("read-only", m.role !== "edit");
        $("#title").disabled = m.role !== "edit";
        if (m.role !== "edit" && m.first) toast("You can view this note; drawing is turned off for you.");
      }
      if (m.first && !fitted) {
        fitted = true;
        shown = sync.view();
        const box = unionBox(shown.values());
        if (box && (box[0] < 0 || box[1] < 0 || box[2] > W || box[3] > H)) fit();
      }
    },
    error(msg) {
      toast(msg, "error", 6000);
    },
    adopted(n) {
      toast(`${n} unsaved change(s) from an earlier visit will be sent.`);
    },
    deleted() {
      toast("This note was deleted. Taking you back to the list…", "error", 3000);
      setTimeout(() => location.assign(cfg.home), 2000);
    },
  },
});

// For tests and debugging from the console.
window.collab = { sync, view, shown: () => shown, undo, redo };
