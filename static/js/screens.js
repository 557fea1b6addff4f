// What the page says about itself: the connection state, the role, and — instead of the
// board — why there is none (the note was deleted, or may not be opened).
import { api, friendlyError, notePage } from "./config.js";
import { handOver } from "./outbox.js";
import { el, toast } from "./ui.js";

const $ = (sel) => document.querySelector(sel);
export const VIEW_TOOLS = ["select", "hand", "laser"]; // what a view-only visitor may use

const STATUS_TEXT = {
  connected: "Connected",
  connecting: "Connecting…",
  reconnecting: "Reconnecting…",
  offline: "Offline",
  unreachable: "Server unreachable",
  deleted: "Deleted",
  refused: "No access",
};
const STATUS_TITLE = {
  offline: "This device is offline. Your changes are kept here and sent when it is back online.",
  unreachable: "The network is up, but the server does not answer. Your changes are kept here and sent when it answers.",
};
export function onStatus(state, waiting) {
  const box = $("#status");
  box.dataset.state = state;
  box.dataset.waiting = String(waiting);
  let text = STATUS_TEXT[state] || state;
  if (waiting) text = state === "connected" ? `Saving ${waiting}…` : `${text} · ${waiting} waiting`;
  $("#status-text").textContent = text;
  document.querySelector(".people-panel").classList.toggle("stale", state !== "connected");
  box.title = STATUS_TITLE[state] || (waiting ? `${waiting} change(s) not yet saved on the server` : text);
}

export function setRole(app, role) {
  const viewOnly = role !== "edit";
  document.body.classList.toggle("read-only", viewOnly);
  $("#view-only").hidden = !viewOnly;
  $("#title").disabled = viewOnly;
  // Not remembered: with the edit role again (logged in), the chosen tool is back.
  if (viewOnly && !VIEW_TOOLS.includes(app.toolbar.prefs.tool)) app.toolbar.setTool("hand", false);
}

/** Instead of the board: why there is none, and what one can do. */
export function showGone(app, { title, message, actions }) {
  app.commitText(true);
  document.body.classList.add("gone");
  const box = $("#gone");
  box.replaceChildren(el("h1", { text: title }), el("p", { text: message }), el("div", { class: "gone-actions" }, ...actions));
  box.hidden = false;
  app.shown = new Map();
  app.sceneChanged();
}

export function loginUrl(cfg) {
  const link = document.querySelector('link[rel="collab-login"], link[rel="login"]');
  const url = cfg.loginUrl || cfg.login || (link && link.getAttribute("href"));
  return typeof url === "string" && url ? url : null;
}

export function onRefused(app, cfg, message, code) {
  const actions = [];
  const login = loginUrl(cfg);
  if (login && code === "forbidden") actions.push(el("a", { class: "btn btn-primary", href: login, text: "Log in" }));
  actions.push(el("a", { class: "btn", href: cfg.home, text: "All notes" }));
  showGone(app, {
    title: code === "not_found" ? "No such note" : "You cannot open this note",
    message: code === "not_found" ? message : `${message}${login ? " Logging in may give you access." : ""}`,
    actions,
  });
}

/** `noteTitle`: what this page calls the note (the recovered note is named after it). */
export function onDeleted(app, cfg, noteTitle, pending) {
  const actions = [el("a", { class: "btn" + (pending.length ? "" : " btn-primary"), href: cfg.home, text: "All notes" })];
  if (pending.length) {
    const save = el("button", { class: "btn btn-primary", type: "button", text: `Keep my ${pending.length} unsaved item(s) in a new note` });
    save.addEventListener("click", async () => {
      save.disabled = true;
      try {
        const row = await api(cfg.api, { method: "POST", body: { title: `${noteTitle} (recovered)`.slice(0, 200) } });
        const entries = pending.map((it) => {
          const { seq, peer, type, ...stroke } = it;
          return { kind: "stroke", sent: false, stroke };
        });
        handOver(row.id, entries);
        location.assign(notePage(cfg, row.id));
      } catch (err) {
        save.disabled = false;
        toast(`Could not create the note: ${friendlyError(err)}`, "error", 6000);
      }
    });
    actions.unshift(save);
  }
  showGone(app, {
    title: "This note was deleted",
    message: pending.length
      ? "Someone deleted it while you had changes that were not saved yet. They were not sent into it; you can keep them in a new note."
      : "Someone deleted this note. Nothing of it is left to show.",
    actions,
  });
}

