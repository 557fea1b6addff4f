// The note list: newest first, create, rename, delete (with a confirmation), open.
// Titles are user input: they only ever reach the DOM through textContent.
// *New note* is there only for visitors the server would let create one (cfg.canCreate).
import { api, friendlyError, noteApi, notePage, readConfig } from "./config.js";
import { confirmDialog, el, promptDialog, relativeTime, toast } from "./ui.js";

const cfg = readConfig();
const $ = (sel) => document.querySelector(sel);
const ICONS = {
  rename: '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M4 20l1-4L16 5l3 3L8 19z"/><path d="M14 7l3 3"/></svg>',
  delete:
    '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M4 7h16M10 11v6M14 11v6M5 7l1 12a2 2 0 002 2h8a2 2 0 002-2l1-12M9 7V4h6v3"/></svg>',
};

function iconButton(kind, label) {
  const b = el("button", { class: "icon-btn", type: "button", title: label, "aria-label": label, "data-action": kind });
  b.innerHTML = ICONS[kind]; // constant markup, no user input
  return b;
}

function card(n) {
  const li = el("li", { class: "card", "data-note": n.id });
  const link = el("a", { class: "card-link", href: notePage(cfg, n.id) });
  const thumb = el("div", { class: "thumb" });
  if (n.strokes > 0) {
    const img = el("img", { alt: "", loading: "lazy", decoding: "async" });
    img.src = `${noteApi(cfg, n.id)}.png?width=240&v=${n.seq}`; // a thumbnail, loaded lazily (ETag)
    thumb.append(img);
  } else {
    thumb.classList.add("is-empty");
    thumb.append(el("span", { class: "empty-thumb", text: "Empty" }));
  }
  const body = el("div", { class: "card-body" });
  const h = el("h3", { class: "card-title", text: n.title.trim() ? n.title : n.id });
  h.title = n.title;
  const when = el("time", { datetime: n.updated, text: relativeTime(n.updated) });
  when.title = new Date(n.updated).toLocaleString();
  const count = `${n.strokes} item${n.strokes === 1 ? "" : "s"} · `;
  body.append(h, el("div", { class: "card-meta" }, el("span", { class: "count", text: count }), when));
  link.append(thumb, body);

  li.append(link);
  if (n.role === "view") {
    // collab's list rows say the visitor's role: no rename or delete that the server would refuse
    body.append(el("span", { class: "card-role", text: "View only" }));
    return li;
  }
  const rename = iconButton("rename", "Rename");
  rename.addEventListener("click", () => renameNote(n));
  const del = iconButton("delete", "Delete");
  del.addEventListener("click", () => deleteNote(n));
  li.append(el("div", { class: "card-actions" }, rename, del));
  return li;
}

let loading = null;
async function load() {
  if (loading) return loading;
  loading = (async () => {
    try {
      const notes = await api(cfg.api);
      notes.sort((a, b) => (a.updated < b.updated ? 1 : a.updated > b.updated ? -1 : 0));
      $("#notes").replaceChildren(...notes.map(card));
      $("#empty").hidden = notes.length > 0;
      $("#list-summary").textContent = notes.length ? `${notes.length} note${notes.length === 1 ? "" : "s"}` : "";
      $("#list-error").hidden = true;
    } catch (err) {
      const box = $("#list-error");
      box.textContent = `Could not load the notes: ${friendlyError(err)}.`;
      box.hidden = false;
    } finally {
      loading = null;
    }
  })();
  return loading;
}

async function createNote() {
  const title = await promptDialog({ title: "New note", label: "Title", value: "Untitled", confirm: "Create", empty: "A title cannot be empty." });
  if (!title) return;
  try {
    const row = await api(cfg.api, { method: "POST", body: { title } });
    location.assign(notePage(cfg, row.id));
  } catch (err) {
    toast(`Could not create the note: ${friendlyError(err)}`, "error");
  }
}

async function renameNote(n) {
  const title = await promptDialog({ title: "Rename note", label: "Title", value: n.title, confirm: "Rename", empty: "A title cannot be empty." });
  if (!title || title === n.title) return;
  try {
    await api(noteApi(cfg, n.id), { method: "PATCH", body: { title } });
    await load();
  } catch (err) {
    toast(`Could not rename: ${friendlyError(err)}`, "error");
  }
}

async function deleteNote(n) {
  const ok = await confirmDialog({
    title: `Delete “${n.title}”?`,
    message: "The note and its drawing are removed for everyone. This cannot be undone.",
    confirm: "Delete",
    danger: true,
  });
  if (!ok) return;
  try {
    await api(noteApi(cfg, n.id), { method: "DELETE" });
    toast("Note deleted");
  } catch (err) {
    toast(`Could not delete: ${friendlyError(err)}`, "error");
  }
  await load();
}

// Only offered when the server says this visitor may create (cfg.canCreate; else, with a
// login URL, the template shows "Log in to create").
if (cfg.canCreate !== false) $("#new-note")?.addEventListener("click", createNote);
document.addEventListener("visibilitychange", () => document.visibilityState === "visible" && load());
setInterval(() => document.visibilityState === "visible" && !document.querySelector("dialog[open]") && load(), 15000);
load();
