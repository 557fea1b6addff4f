// The history view, /n/<note>?at=SEQ: the note as it was just after op SEQ
// (GET /api/notes/<id>?at=), read-only and without a connection.
import { api, friendlyError, noteApi } from "./config.js";
import { unionBox } from "./draw.js";
import { onStatus, setRole, showGone } from "./screens.js";
import { el } from "./ui.js";

const $ = (sel) => document.querySelector(sel);

/**
 * The note as it was just after op `at` (GET /api/notes/<id>?at=), read-only, without a
 * connection: a slider walks through the history, "Back to live" opens the note itself.
 * Returns a stand-in for Sync with what the page asks of it.
 */
export function historyView(app, { cfg, note, share, at, setTitle }) {
  const stub = { role: "view", gone: false, me: null, seq: 0, sendCursor: () => true, sendDraft: () => true, view: () => app.shown, setProfile: async () => null };
  document.body.classList.add("history-mode");
  setRole(app, "view");
  $("#view-only").textContent = "History";
  onStatus("history", 0);
  $("#status-text").textContent = "History";
  const bar = $("#history-bar");
  bar.hidden = false;
  const range = $("#history-range");
  const label = $("#history-label");
  const live = new URL(location.href);
  live.searchParams.delete("at");
  $("#history-live").href = live.pathname + live.search;
  let want = 0;
  async function show(seq) {
    const n = ++want;
    label.textContent = `Change ${seq} of ${range.max}`;
    const url = new URL(location.href);
    url.searchParams.set("at", String(seq));
    history.replaceState(null, "", url);
    try {
      const st = await api(`${noteApi(cfg, note)}?at=${seq}`, { token: share });
      if (n !== want) return;
      app.shown = new Map(st.strokes.sort((a, b) => a.seq - b.seq).map((it) => [it.id, { ...it, tool: it.tool || "pen" }]));
      bar.classList.remove("missing");
    } catch (err) {
      if (n !== want) return;
      app.shown = new Map();
      bar.classList.add("missing");
      label.textContent = err.status === 404 ? `Change ${seq}: that part of the history is no longer kept` : `Change ${seq}: ${friendlyError(err)}`;
    }
    app.sceneChanged();
  }
  (async () => {
    try {
      const now = await api(noteApi(cfg, note), { token: share });
      setTitle(now.title);
      range.max = String(now.seq);
      const seq = Math.max(0, Math.min(now.seq, Number.parseInt(at, 10) || now.seq));
      range.value = String(seq);
      await show(seq);
      app.camera.fit(unionBox(app.shown.values()));
    } catch (err) {
      showGone(app, { title: "No history to show", message: `Could not open this note: ${friendlyError(err)}.`, actions: [el("a", { class: "btn", href: cfg.home, text: "All notes" })] });
    }
  })();
  range.addEventListener("input", () => show(Number(range.value)));
  $("#history-prev").addEventListener("click", () => {
    range.value = String(Math.max(0, Number(range.value) - 1));
    show(Number(range.value));
  });
  $("#history-next").addEventListener("click", () => {
    range.value = String(Math.min(Number(range.max), Number(range.value) + 1));
    show(Number(range.value));
  });
  return stub;
}
