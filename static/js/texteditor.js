// Text and sticky notes typed in place: a multi-line textarea over the canvas, at the
// item's point and size. Escape, Ctrl+Enter or a click outside (blur) commits; the text
// is cleaned as the contract wants (CRLF → LF, no control characters but tab and LF,
// at most 10,000 characters). One history step: stroke, update of `text`, or remove.
import { randomId } from "./config.js";
import { FONT, LINE_HEIGHT, STICKY_PADDING, textSize } from "./draw.js";
import { STICKY_FILL } from "./toolbar.js";
import { el } from "./ui.js";

export class TextEditor {
  /** @param {object} app the page (sync, camera, history, style, stage) @param {HTMLElement} host */
  constructor(app, host) {
    this.app = app;
    this.host = host;
    this.editor = null; // {ta, item?, it}
  }

  get active() {
    return this.editor !== null;
  }

  /** Start typing: a new text at world point `at`, or an existing text item. */
  open(item, at, sticky) {
    this.commit();
    const app = this.app;
    if (app.sync.role !== "edit") return;
    const st = app.style("text");
    const it = item || { tool: "text", color: st.color, size: st.size, points: [at], fill: sticky ? (st.fill || STICKY_FILL) : undefined };
    const ta = el("textarea", { class: "text-editor", spellcheck: "false", "aria-label": sticky || it.fill ? "Sticky note text" : "Text" });
    ta.value = item ? item.text : "";
    const size = textSize(it) * app.camera.z;
    const [sx, sy] = app.camera.toScreen(it.points[0][0], it.points[0][1]);
    ta.style.left = `${sx}px`;
    ta.style.top = `${sy}px`;
    ta.style.font = `${size}px/${LINE_HEIGHT} ${FONT}`;
    ta.style.color = it.color;
    if (it.fill) {
      ta.style.background = it.fill;
      ta.style.padding = `${STICKY_PADDING * size}px`;
      ta.style.margin = `${-STICKY_PADDING * size}px`;
      ta.classList.add("sticky");
    }
    const fit = () => {
      ta.style.height = "auto";
      ta.style.width = "auto";
      ta.style.height = `${ta.scrollHeight}px`;
      ta.style.width = `${Math.max(size * 4, ta.scrollWidth + size)}px`;
    };
    ta.addEventListener("input", fit);
    ta.addEventListener("keydown", (e) => {
      e.stopPropagation();
      if (e.key === "Escape" || (e.key === "Enter" && (e.ctrlKey || e.metaKey))) {
        e.preventDefault();
        this.commit();
      }
    });
    ta.addEventListener("blur", () => this.commit());
    this.host.append(ta);
    this.editor = { ta, item, it };
    app.editingId = item ? item.id : null;
    app.sceneChanged();
    fit();
    ta.focus();
  }

  /** Finish typing: the new text is added, an edited one updated (removed when emptied). */
  commit(discard = false) {
    if (!this.editor) return;
    const app = this.app;
    const { ta, item, it } = this.editor;
    this.editor = null;
    app.editingId = null;
    ta.remove();
    // eslint-disable-next-line no-control-regex
    const text = ta.value.replace(/\r\n?/g, "\n").replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, "").slice(0, 10000);
    if (!discard && app.sync && app.sync.role === "edit") {
      if (item) {
        if (!text.trim()) app.history.act([{ kind: "remove", id: item.id }]);
        else if (text !== item.text) app.history.act([{ kind: "update", id: item.id, set: { text } }]);
      } else if (text.trim()) {
        const stroke = { id: randomId(16), tool: "text", color: it.color, size: it.size, text, points: [it.points[0].map((v) => Math.round(v * 100) / 100)] };
        if (it.fill) stroke.fill = it.fill;
        app.history.act([{ kind: "stroke", stroke }]);
      }
    }
    app.sceneChanged();
    app.stage.focus({ preventScroll: true });
  }
}
