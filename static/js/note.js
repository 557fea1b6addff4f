// The drawing page: wires the pieces together. camera.js (the view), render.js (the
// canvases), tools/*.js (one module per tool: down/move/up), selection.js, history.js
// (undo/redo with inverse ops), presence.js (people, cursors, lasers, names),
// toolbar.js (tools and style) and sync.js (the server).
import { api, exportFileName, friendlyError, noteApi, readConfig } from "./config.js";
import { myName as earlyName, take } from "./boot.js";
import { Camera } from "./camera.js";
import { Clipboard } from "./clipboard.js";
import { hits, unionBox } from "./draw.js";
import { History } from "./history.js";
import { Images } from "./images.js";
import { historyView } from "./historyview.js";
import { Presence, rememberName } from "./presence.js";
import { Renderer } from "./render.js";
import { VIEW_TOOLS, onDeleted, onRefused, onStatus, setRole } from "./screens.js";
import { Selection } from "./selection.js";
import { TextEditor } from "./texteditor.js";
import { KEYS, Toolbar } from "./toolbar.js";
import { eraser } from "./tools/eraser.js";
import { freehand } from "./tools/freehand.js";
import { hand } from "./tools/hand.js";
import { laser } from "./tools/laser.js";
import { select } from "./tools/select.js";
import { shape } from "./tools/shape.js";
import { textTool } from "./tools/text.js";
import { confirmDialog, promptDialog, shareDialog, toast } from "./ui.js";

performance.mark("collab:modules"); // every module fetched and evaluated (bench/page_render.py)
const cfg = readConfig();
const NOTE = cfg.note;
const params = new URLSearchParams(location.search);
const SHARE = params.get("share"); // a share link's signed token (role "view" or "edit")
const shareQuery = SHARE ? `?share=${encodeURIComponent(SHARE)}` : "";
const $ = (sel) => document.querySelector(sel);
const THROTTLE_MS = 33; // drafts and cursors: about 30 a second
const DRAFT_TTL_MS = 3000;

const stage = $("#stage");

/** Everything the modules share (no module-level state of their own). */
const app = {
  stage,
  sync: null,
  shown: new Map(), // id → item, what the scene draws
  gesture: null,
  editingId: null,
  pointerAt: null, // screen point of the mouse or pen while it is over the canvas (where a paste goes)
  eraserAt: null,
  drafts: new Map(), // peer → {stroke, t, id}
  committedIds: new Set(), // recent item ids: a late draft of these is ignored
  tools: {
    select,
    hand,
    pen: freehand("pen"),
    highlighter: freehand("highlighter"),
    eraser,
    rect: shape("rect"),
    ellipse: shape("ellipse"),
    line: shape("line"),
    arrow: shape("arrow"),
    text: textTool(false),
    sticky: textTool(true),
    laser,
  },
  items: () => scaleView(),
  schedule: () => app.renderer.schedule(),
  sceneChanged() {
    app.renderer.sceneDirty = true;
    app.schedule();
  },
  liveChanged() {
    app.renderer.liveDirty = true;
    app.schedule();
  },
  changed() {
    updateHistoryButtons();
  },
  selectionChanged() {
    app.liveChanged();
    $("#style-panel").classList.toggle("has-selection", app.selection.ids.size > 0);
  },
  style: (tool) => app.toolbar.style(tool),
  setTool: (tool, keepSelection) => setTool(tool, keepSelection),
  itemAt,
  editText: (item, at, sticky) => app.text.open(item, at, sticky),
  commitText: (discard) => app.text.commit(discard),
  sendDraft,
  sendCursor,
};
app.camera = new Camera(() => {
  app.sceneChanged();
  $("#zoom-reset").textContent = `${Math.round(app.camera.z * 100)}%`;
  sendCursorSoon(null, false);
});
app.renderer = new Renderer(app, $("#board"), $("#live"));
app.images = new Images(app, { cfg, note: NOTE, token: SHARE });
app.clipboard = new Clipboard(app, { cfg, note: NOTE, token: SHARE });
app.selection = new Selection(app);
app.history = new History(app);
app.text = new TextEditor(app, $("#editors"));
app.presence = new Presence({ camera: app.camera, sync: () => app.sync, schedule: () => app.liveChanged(), layer: $("#cursors") });
app.toolbar = new Toolbar({
  onTool: (t) => setTool(t),
  onStyle: (key, value) => (app.selection.ids.size && app.sync.role === "edit" ? app.selection.style(key, value) : 0),
});

/** The items shown; while the selection is being scaled, with the scaled ones in their place. */
function scaleView() {
  const g = app.gesture;
  if (!g || g.kind !== "scale" || !g.scaled) return app.shown;
  // Rebuilt when the pointer moves or the items change (someone else's op mid-gesture).
  if (!g.view || g.view.base !== app.shown || g.view.scaled !== g.scaled) {
    const items = new Map(app.shown);
    for (const [id, it] of g.scaled) if (items.has(id)) items.set(id, it);
    g.view = { base: app.shown, scaled: g.scaled, items };
  }
  return g.view.items;
}

function resize() {
  app.camera.W = stage.clientWidth;
  app.camera.H = stage.clientHeight;
  app.renderer.resize(app.camera.W, app.camera.H);
}

function eventPoint(e) {
  const r = stage.getBoundingClientRect();
  return [e.clientX - r.left, e.clientY - r.top];
}

/** The topmost item under world point w (`px` screen pixels of slack: more for a finger). */
function itemAt(w, px = 4) {
  const r = px / app.camera.z;
  const list = [...app.shown.values()];
  for (let i = list.length - 1; i >= 0; i--) if (hits(list[i], w[0], w[1], r)) return list[i];
  return null;
}

// -- tools ----------------------------------------------------------------------------------------
let spaceDown = false;

function setTool(tool, keepSelection = false) {
  if (!app.tools[tool]) return;
  if (app.sync && app.sync.role !== "edit" && !VIEW_TOOLS.includes(tool)) {
    toast("This note is view-only for you.");
    return;
  }
  app.text.commit();
  app.toolbar.setTool(tool);
  if (!keepSelection && tool !== "select") app.selection.set([]);
  app.eraserAt = null;
  app.liveChanged();
}

const currentTool = () => app.tools[app.toolbar.prefs.tool];

// -- live extras: drafts and cursors ------------------------------------------------------------------
let lastDraft = 0;
let draftTimer = null;
let draftOf = null; // {build, gesture}: the latest draft asked for, and the gesture it belongs to
function sendDraft(build) {
  draftOf = { build, gesture: app.gesture };
  if (draftTimer) return;
  const wait = Math.max(0, THROTTLE_MS - (performance.now() - lastDraft));
  draftTimer = setTimeout(() => {
    draftTimer = null;
    lastDraft = performance.now();
    // Only while that gesture goes on: a shape ended and a pen stroke begun since must not
    // build the shape's draft from the pen's gesture.
    const { build: latest, gesture } = draftOf;
    if (!gesture || gesture !== app.gesture || !gesture.owner || !gesture.owner.preview) return;
    if (!app.sync.sendDraft(latest())) sendDraft(latest);
  }, wait);
}

let lastCursor = 0;
let cursorTimer = null;
let pendingCursor = null; // {w, laser}
function sendCursor(w, isLaser) {
  sendCursorSoon(w, isLaser);
}
function sendCursorSoon(w, isLaser) {
  if (w) pendingCursor = { w, laser: isLaser };
  if (!pendingCursor || cursorTimer) return;
  const wait = Math.max(0, THROTTLE_MS - (performance.now() - lastCursor));
  cursorTimer = setTimeout(() => {
    cursorTimer = null;
    lastCursor = performance.now();
    const { w: [x, y], laser: l } = pendingCursor;
    const r1 = (v) => Math.round(v * 10) / 10;
    const extra = { view: app.camera.rect().map(r1) };
    if (l) extra.laser = true;
    if (!app.sync.sendCursor(r1(x), r1(y), extra)) sendCursorSoon(null, l);
  }, wait);
}

function onDraft(d) {
  if (app.committedIds.has(d.id)) return;
  const { peer, note, ...stroke } = d;
  app.drafts.set(d.peer, { stroke, t: Date.now(), id: d.id });
  app.liveChanged();
}

function onOp(op) {
  if (op.type !== "stroke") return;
  app.committedIds.add(op.id);
  if (app.committedIds.size > 500) app.committedIds.delete(app.committedIds.values().next().value);
  for (const [peer, d] of app.drafts) if (d.id === op.id) app.drafts.delete(peer);
  app.liveChanged();
}

setInterval(() => {
  const now = Date.now();
  for (const [peer, d] of app.drafts) {
    if (now - d.t > DRAFT_TTL_MS) {
      app.drafts.delete(peer);
      app.liveChanged();
    }
  }
}, 500);

// -- title, exports -------------------------------------------------------------------------------
let title = NOTE;
function setTitle(t) {
  if (typeof t !== "string") return;
  title = t.trim() ? t : NOTE;
  $("#title").textContent = title;
  $("#title").title = `${title} (click to rename)`; // the whole title, when it is cut short
  document.title = `${title} · Collab`;
  $("#export-svg").download = exportFileName(title, NOTE, "svg");
  $("#export-png").download = exportFileName(title, NOTE, "png");
}
$("#export-svg").href = noteApi(cfg, NOTE) + ".svg" + shareQuery;
$("#export-png").href = noteApi(cfg, NOTE) + ".png" + shareQuery;

$("#title").addEventListener("click", async () => {
  const t = await promptDialog({ title: "Rename note", label: "Title", value: title, confirm: "Rename", empty: "A title cannot be empty." });
  if (!t || t === title) return;
  try {
    const row = await api(noteApi(cfg, NOTE), { method: "PATCH", body: { title: t }, token: SHARE });
    setTitle(row.title);
  } catch (err) {
    toast(`Could not rename: ${friendlyError(err)}`, "error");
  }
});

// -- history buttons, clear ---------------------------------------------------------------------------
function updateHistoryButtons() {
  $("#undo").disabled = !app.history.canUndo();
  $("#redo").disabled = !app.history.canRedo();
}

async function clearAll() {
  if (!app.shown.size || app.sync.role !== "edit") return;
  const ok = await confirmDialog({
    title: "Clear the whole note?",
    message: "Everything is removed, for everyone. You can undo it (Ctrl+Z) while this page is open.",
    confirm: "Clear",
    danger: true,
  });
  if (ok) app.history.act([{ kind: "clear" }]);
}

function denied() {
  toast("This note is view-only for you.");
}

// -- pointer input ------------------------------------------------------------------------------
const touches = new Map(); // pointerId → [x, y] (screen)
let activePointer = null;
let pinch = null;

function startPinch() {
  if (app.gesture && app.gesture.owner !== hand) {
    app.gesture = null; // a second finger: pan or zoom, and a move or resize begun by the first is dropped
    app.selection.offset = null;
    app.sceneChanged();
  }
  app.liveChanged();
  const [a, b] = [...touches.values()];
  const cam = app.camera;
  pinch = { mid: [(a[0] + b[0]) / 2, (a[1] + b[1]) / 2], dist: Math.hypot(a[0] - b[0], a[1] - b[1]) || 1, view: { tx: cam.tx, ty: cam.ty, z: cam.z } };
}

function movePinch() {
  const [a, b] = [...touches.values()];
  const mid = [(a[0] + b[0]) / 2, (a[1] + b[1]) / 2];
  const dist = Math.hypot(a[0] - b[0], a[1] - b[1]) || 1;
  const cam = app.camera;
  const v = pinch.view;
  const z = Math.min(8, Math.max(0.1, (v.z * dist) / pinch.dist));
  const wx = (pinch.mid[0] - v.tx) / v.z;
  const wy = (pinch.mid[1] - v.ty) / v.z;
  cam.z = z;
  cam.tx = mid[0] - wx * z;
  cam.ty = mid[1] - wy * z;
  cam.changed();
}

function pointerCtx(e) {
  const p = eventPoint(e);
  const w = app.camera.toWorld(p[0], p[1]);
  const list = typeof e.getCoalescedEvents === "function" ? e.getCoalescedEvents() : [];
  const r = stage.getBoundingClientRect();
  const coalesced = (list.length ? list : [e]).map((ev) => app.camera.toWorld(ev.clientX - r.left, ev.clientY - r.top));
  return { p, w, e, shift: e.shiftKey, coalesced };
}

stage.addEventListener("pointerdown", (e) => {
  if (!app.sync || app.sync.gone) return;
  if (e.target.closest(".text-editor")) return; // a click in the text being typed moves its caret
  stage.focus({ preventScroll: true });
  if (app.text.active) {
    app.text.commit(); // a click outside the text commits it
    if (e.target !== stage && !stage.contains(e.target)) return;
    if (["text", "sticky"].includes(app.toolbar.prefs.tool)) return;
  }
  const c = pointerCtx(e);
  if (e.pointerType === "touch") {
    touches.set(e.pointerId, c.p);
    if (touches.size === 2) return startPinch();
    if (touches.size > 2) return;
  }
  if (e.button !== 0 && e.button !== 1) return;
  e.preventDefault();
  stage.setPointerCapture(e.pointerId);
  app.presence.following && app.presence.follow(null);
  let tool = currentTool();
  if (e.button === 1 || spaceDown) tool = hand;
  if (tool.edits && app.sync.role !== "edit") return denied();
  activePointer = e.pointerId;
  tool.down(app, c);
  if (!app.gesture) activePointer = null;
});

stage.addEventListener("pointermove", (e) => {
  if (!app.sync || app.sync.gone) return;
  const c = pointerCtx(e);
  if (e.pointerType !== "touch") app.pointerAt = c.p;
  if (e.pointerType === "touch" && touches.has(e.pointerId)) {
    touches.set(e.pointerId, c.p);
    if (pinch && touches.size >= 2) return movePinch();
  }
  const tool = currentTool();
  if ((e.pointerType !== "touch" || app.gesture) && !(app.gesture && app.gesture.owner === laser)) sendCursorSoon(c.w, false);
  if (tool === eraser && e.pointerType !== "touch") {
    app.eraserAt = c.p;
    app.liveChanged();
  }
  if (!app.gesture || activePointer !== e.pointerId) {
    if (tool === select && !app.gesture) stage.classList.toggle("over-item", !!itemAt(c.w));
    return;
  }
  app.gesture.owner.move(app, c);
});

function endPointer(e) {
  touches.delete(e.pointerId);
  if (pinch) {
    if (touches.size < 2) pinch = null;
    return;
  }
  if (!app.gesture || activePointer !== e.pointerId) return;
  activePointer = null;
  app.gesture.owner.up(app, e.type === "pointercancel" ? null : pointerCtx(e));
  app.liveChanged();
}
stage.addEventListener("pointerup", endPointer);
stage.addEventListener("pointercancel", endPointer);
stage.addEventListener("pointerleave", (e) => {
  if (e.pointerType !== "touch") app.pointerAt = null;
  if (app.eraserAt && !app.gesture) {
    app.eraserAt = null;
    app.liveChanged();
  }
});
stage.addEventListener("dblclick", (e) => {
  if (!app.sync || app.sync.role !== "edit" || e.target.closest(".text-editor")) return;
  const p = eventPoint(e);
  const hit = itemAt(app.camera.toWorld(p[0], p[1]));
  if (hit && hit.tool === "text") {
    app.selection.set([hit.id]);
    app.text.open(hit);
  } else if (app.toolbar.prefs.tool === "select" && !hit) {
    app.text.open(null, app.camera.toWorld(p[0], p[1]), false);
  }
});
stage.addEventListener(
  "wheel",
  (e) => {
    e.preventDefault();
    if (app.presence.following) app.presence.follow(null); // my own pan or zoom ends following
    app.camera.wheel(e, eventPoint(e));
  },
  { passive: false },
);

// -- keyboard -------------------------------------------------------------------------------------
function typing(e) {
  const t = e.target;
  return (t && (t.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(t.tagName))) || document.querySelector("dialog[open]");
}

/** Space pans only while the canvas has focus; on a focused button it presses the button. */
function canvasFocused() {
  const a = document.activeElement;
  return a === stage || a === document.body || a === null;
}

function edit(fn) {
  return () => (app.sync.role === "edit" ? fn() : denied());
}

document.addEventListener("keydown", (e) => {
  if (!app.sync || app.sync.gone || typing(e)) return;
  const mod = e.ctrlKey || e.metaKey;
  const k = e.key;
  const lower = k.length === 1 ? k.toLowerCase() : k;
  const sel = app.selection;
  if (mod && lower === "z") {
    e.preventDefault();
    return edit(() => (e.shiftKey ? app.history.redo() : app.history.undo()))();
  }
  if (mod && lower === "y") {
    e.preventDefault();
    return edit(() => app.history.redo())();
  }
  if (mod && lower === "a") {
    e.preventDefault();
    if (app.toolbar.prefs.tool !== "select") setTool("select");
    return sel.selectAll();
  }
  if (mod && lower === "d") {
    e.preventDefault();
    return edit(() => sel.duplicate())();
  }
  if (mod || e.altKey) return;
  if (k === " ") {
    if (!canvasFocused()) return; // let the focused control have it
    e.preventDefault();
    if (!spaceDown) {
      spaceDown = true;
      stage.classList.add("space-pan");
    }
    return;
  }
  if (k === "Escape") {
    if (app.gesture) {
      app.gesture = null;
      app.selection.offset = null;
      app.sceneChanged();
    }
    return sel.set([]);
  }
  const arrows = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] };
  if (arrows[k] && sel.ids.size) {
    e.preventDefault();
    const step = e.shiftKey ? 10 : 1;
    return edit(() => sel.nudge(arrows[k][0] * step, arrows[k][1] * step))();
  }
  if (e.shiftKey && (k === "Delete" || k === "Backspace")) return edit(clearAll)();
  if ((k === "Delete" || k === "Backspace") && sel.ids.size) {
    e.preventDefault();
    return edit(() => sel.remove())();
  }
  if (k === "Enter" && sel.single() && sel.single().tool === "text") {
    e.preventDefault();
    return app.text.open(sel.single());
  }
  if (lower === "i" && !e.shiftKey) return edit(() => $("#image-input").click())();
  if (KEYS[lower] && !e.shiftKey) return setTool(KEYS[lower]);
  if (k === "[") return app.toolbar.setWidth(app.toolbar.prefs.widthIndex - 1);
  if (k === "]") return app.toolbar.setWidth(app.toolbar.prefs.widthIndex + 1);
  if (k >= "1" && k <= "7" && !e.shiftKey) return document.querySelectorAll("#colors .swatch[data-color]")[Number(k) - 1].click();
  if (k === "!" || (e.shiftKey && e.code === "Digit1")) return app.camera.fit(unionBox(app.shown.values()));
  if (k === "+" || k === "=") return app.camera.zoomAt(app.camera.W / 2, app.camera.H / 2, 1.25);
  if (k === "-" || k === "_") return app.camera.zoomAt(app.camera.W / 2, app.camera.H / 2, 0.8);
  if (k === "0") return app.camera.reset();
  if (k === "?") return $("#help").showModal();
});
document.addEventListener("keyup", (e) => {
  if (e.key === " ") {
    spaceDown = false;
    stage.classList.remove("space-pan");
  }
});

// -- clipboard: copy, cut, paste (items, text, pictures; clipboard.js) -------------------------------
/** Text selected in the page (a toast, the people list): the browser's own copy is wanted. */
function textSelected() {
  const s = document.getSelection();
  return !!s && !s.isCollapsed && s.toString() !== "";
}
for (const kind of ["copy", "cut"]) {
  document.addEventListener(kind, (e) => {
    if (!app.sync || app.sync.gone || typing(e) || textSelected()) return;
    app.clipboard.copy(e, kind === "cut");
  });
}
document.addEventListener("paste", (e) => {
  if (!app.sync || app.sync.gone || typing(e)) return;
  app.clipboard.paste(e);
});

// -- pictures: drop, the image button ---------------------------------------------------------------
let dragDepth = 0;
stage.addEventListener("dragenter", (e) => {
  if (![...(e.dataTransfer?.types || [])].includes("Files")) return;
  e.preventDefault();
  dragDepth++;
  stage.classList.add("drop-target");
});
stage.addEventListener("dragover", (e) => {
  if (![...(e.dataTransfer?.types || [])].includes("Files")) return;
  e.preventDefault();
  e.dataTransfer.dropEffect = "copy";
});
stage.addEventListener("dragleave", () => {
  if (--dragDepth <= 0) {
    dragDepth = 0;
    stage.classList.remove("drop-target");
  }
});
stage.addEventListener("drop", async (e) => {
  dragDepth = 0;
  stage.classList.remove("drop-target");
  if (![...(e.dataTransfer?.types || [])].includes("Files")) return;
  e.preventDefault(); // never let the browser open a dropped file instead of the board
  const files = Images.filesOf(e.dataTransfer);
  if (!files.length) return toast("Only pictures (PNG, JPEG, WebP, GIF) can be dropped on the board.", "error");
  if (!app.sync || app.sync.gone) return;
  const p = eventPoint(e);
  const [x, y] = app.camera.toWorld(p[0], p[1]);
  const step = 24 / app.camera.z; // several files: each a little below and right of the last
  for (const [i, file] of files.entries()) await app.images.place(file, [x + i * step, y + i * step]); // at the drop point
});
$("#image-btn").addEventListener("click", edit(() => $("#image-input").click()));
$("#image-input").addEventListener("change", (e) => {
  const file = e.target.files && e.target.files[0];
  e.target.value = ""; // the same file can be picked again
  if (file) app.images.place(file);
});

// -- buttons ---------------------------------------------------------------------------------------
$("#undo").addEventListener("click", edit(() => app.history.undo()));
$("#redo").addEventListener("click", edit(() => app.history.redo()));
$("#clear").addEventListener("click", edit(clearAll));
$("#delete-selection").addEventListener("click", edit(() => app.selection.remove()));
$("#duplicate-selection").addEventListener("click", edit(() => app.selection.duplicate()));
$("#zoom-in").addEventListener("click", () => app.camera.zoomAt(app.camera.W / 2, app.camera.H / 2, 1.25));
$("#zoom-out").addEventListener("click", () => app.camera.zoomAt(app.camera.W / 2, app.camera.H / 2, 0.8));
$("#zoom-reset").addEventListener("click", () => app.camera.reset());
$("#zoom-fit").addEventListener("click", () => app.camera.fit(unionBox(app.shown.values())));
$("#help-btn").addEventListener("click", () => $("#help").showModal());
$("#share").addEventListener(
  "click",
  edit(() =>
    shareDialog((role) => api(noteApi(cfg, NOTE) + "/share", { method: "POST", body: { role }, token: SHARE }).catch((err) => {
      throw new Error(friendlyError(err));
    })),
  ),
);
$("#stop-following").addEventListener("click", () => app.presence.follow(null));
$("#people").addEventListener("click", () => {
  const list = $("#people-list");
  list.hidden = !list.hidden;
  $("#people").setAttribute("aria-expanded", String(!list.hidden));
});
document.addEventListener("pointerdown", (e) => {
  if (!e.target.closest(".people-panel")) $("#people-list").hidden = true;
});
let hostName = false; // the host says who we are: the name is not ours to change
$("#change-name").addEventListener("click", async () => {
  $("#people-list").hidden = true;
  const name = await promptDialog({
    title: "Your name",
    message: "Shown to the others next to your cursor; remembered on this device.",
    label: "Display name",
    value: myName,
    confirm: "Save",
    maxLength: 40,
    empty: "A name cannot be empty.",
  });
  if (!name || name === myName) return;
  myName = name;
  rememberName(name);
  const peer = await app.sync.setProfile({ name });
  if (!peer && app.sync.socket.connected) toast("Could not change your name now; it is used from the next connection.", "error");
});

$("#history-btn").addEventListener("click", () => {
  const url = new URL(location.href);
  url.searchParams.set("at", String(app.sync.replica ? app.sync.replica.seq : 0));
  location.assign(url);
});

// -- start ---------------------------------------------------------------------------------------------
addEventListener("resize", resize);
resize();
matchMedia("(prefers-color-scheme: dark)").addEventListener("change", () => {
  app.renderer.invalidate(); // the paper and grid colours changed: redraw everything
});
stage.focus({ preventScroll: true });

let myName = earlyName; // never asks: a friendly name until one is chosen (boot.js)
let fitted = false;
const AT = params.get("at");
app.sync = AT !== null ? historyView(app, { cfg, note: NOTE, share: SHARE, at: AT, setTitle }) : take({
    change() {
      app.shown = app.sync.gone ? new Map() : app.sync.view();
      app.selection.prune(app.shown);
      app.sceneChanged();
      app.liveChanged();
      updateHistoryButtons();
    },
    status(state, waiting) {
      onStatus(state, waiting);
      if (state === "connected") app.images.retry(); // pictures kept while the server was unreachable
    },
    presence: (list) => app.presence.set(list),
    cursor: (c) => app.presence.onCursor(c),
    draft: onDraft,
    op: onOp,
    meta(m) {
      if (m.title) setTitle(m.title);
      if (m.role) setRole(app, m.role);
      if (m.peer && m.peer.name && m.peer.name !== myName) {
        hostName = true; // the host named us (identify): use it, never ask
        myName = m.peer.name;
      }
      $("#change-name").hidden = hostName;
      if (m.first && !fitted) {
        fitted = true;
        const box = unionBox(app.sync.view().values());
        const cam = app.camera;
        if (box && (box[0] < 0 || box[1] < 0 || box[2] > cam.W || box[3] > cam.H)) cam.fit(box);
      }
    },
    error(msg) {
      toast(msg, "error", 6000);
    },
    adopted(n) {
      toast(`${n} unsaved change(s) from an earlier visit will be sent.`);
    },
    skipped(e) {
      if (e.kind !== "stroke") toast("Someone else changed that in the meantime: skipped.");
    },
    deleted: (pending) => onDeleted(app, cfg, title, pending),
    refused: (message, code) => onRefused(app, cfg, message, code),
});

// For tests and debugging from the console.
window.collab = {
  app,
  sync: app.sync,
  view: app.camera,
  shown: () => app.shown,
  undo: () => app.history.undo(),
  redo: () => app.history.redo(),
  setTool,
  name: () => myName,
  images: app.images,
};
