// The toolbar: tools, colour, width and fill, remembered in localStorage (collab.prefs).
// With a selection, the style buttons change the selected items (`update`) instead.
// Tools, colours, widths and fills are radio groups (WAI-ARIA APG: one Tab stop each, arrow
// keys move and choose). On a phone what does not fit moves into the *More* menu.
import { el, radioKeys, syncRadios } from "./ui.js";

export const COLORS = ["#1e1e1e", "#e03131", "#2f9e44", "#1971c2", "#f08c00", "#9c36b5", "#fab005"];
/** What people call them (the names screen readers and voice control use). */
const COLOR_NAMES = ["Black", "Red", "Green", "Blue", "Orange", "Violet", "Yellow"];
export const FILLS = [null, "#ffec99", "#b2f2bb", "#a5d8ff", "#ffc9c9", "#e9ecef"];
const FILL_NAMES = ["No fill", "Yellow fill", "Green fill", "Blue fill", "Red fill", "Grey fill"];
const WIDTH_NAMES = ["Thin", "Medium", "Thick", "Very thick"];
const RADIO_GROUPS = ".toolbar .tools, #more-tools, #colors, #widths, #fills";
/** The phone layout (as in collab.css): the toolbar keeps the PRIMARY tools, the rest moves. */
const PHONE = "(max-width: 760px)";
const PRIMARY = ["select", "hand", "pen", "eraser", "rect", "arrow", "text"];
const MOVED_STYLE = ["#colors", "#widths", "#fills"];
const MOVED_ACTIONS = ["#image-btn", "#clear", "#history-btn", "#share", "#export-svg", "#export-png", "#help-btn"];
export const STICKY_FILL = "#ffec99";
const WIDTHS = { pen: [2, 4, 8, 16], highlighter: [12, 20, 32, 48] };
const TEXT_SIZES = [14, 20, 28, 40];
export const TOOLS = ["select", "hand", "pen", "highlighter", "eraser", "rect", "ellipse", "line", "arrow", "text", "sticky", "laser"];
/** Excalidraw's keys (D is the pen too, M the highlighter). */
export const KEYS = { v: "select", h: "hand", p: "pen", d: "pen", m: "highlighter", e: "eraser", r: "rect", o: "ellipse", l: "line", a: "arrow", t: "text", n: "sticky", k: "laser" };

export class Toolbar {
  constructor({ onTool, onStyle }) {
    this.onTool = onTool;
    this.onStyle = onStyle; // (key, value) → true when the selection took it
    this.prefs = { tool: "pen", color: COLORS[0], widthIndex: 1, fill: null };
    try {
      Object.assign(this.prefs, JSON.parse(localStorage.getItem("collab.prefs") || "{}"));
    } catch (_) {
      /* defaults */
    }
    const p = this.prefs;
    if (!TOOLS.includes(p.tool)) p.tool = "pen";
    if (!/^#[0-9a-f]{6}$/i.test(p.color)) p.color = COLORS[0];
    if (p.fill !== null && !/^#[0-9a-f]{6}$/i.test(p.fill)) p.fill = null;
    p.widthIndex = Math.max(0, Math.min(3, p.widthIndex | 0));
    this.build();
  }

  save() {
    try {
      localStorage.setItem("collab.prefs", JSON.stringify(this.prefs));
    } catch (_) {
      /* not remembered */
    }
  }

  /** The style a new item of `tool` gets. */
  style(tool) {
    const i = this.prefs.widthIndex;
    return {
      color: this.prefs.color,
      width: WIDTHS[tool === "highlighter" ? "highlighter" : "pen"][i],
      fill: this.prefs.fill,
      size: TEXT_SIZES[i],
    };
  }

  build() {
    const custom = document.querySelector(".swatch.custom");
    COLORS.forEach((c, i) => {
      const name = COLOR_NAMES[i];
      const b = el("button", { class: "swatch", type: "button", role: "radio", "aria-checked": "false", "data-color": c, title: `${name} (${i + 1})`, "aria-label": name });
      b.style.setProperty("--c", c);
      b.addEventListener("click", () => this.setColor(c));
      custom.before(b);
    });
    document.getElementById("custom-color").addEventListener("input", (e) => this.setColor(e.target.value));
    for (let i = 0; i < 4; i++) {
      const b = el("button", { class: "icon-btn width", type: "button", role: "radio", "aria-checked": "false", "data-index": String(i), "aria-label": WIDTH_NAMES[i] });
      const dot = el("span", { class: "width-dot" });
      dot.style.setProperty("--s", `${[3, 6, 10, 15][i]}px`);
      b.append(dot);
      b.addEventListener("click", () => this.setWidth(i));
      document.getElementById("widths").append(b);
    }
    FILLS.forEach((f, i) => {
      const b = el("button", { class: "swatch fill" + (f ? "" : " none"), type: "button", role: "radio", "aria-checked": "false", "data-fill": f || "", title: FILL_NAMES[i], "aria-label": FILL_NAMES[i] });
      if (f) b.style.setProperty("--c", f);
      b.addEventListener("click", () => this.setFill(f));
      document.getElementById("fills").append(b);
    });
    for (const b of document.querySelectorAll(".tool")) b.addEventListener("click", () => this.onTool(b.dataset.tool));
    for (const g of document.querySelectorAll(RADIO_GROUPS)) {
      radioKeys(g);
      // Clicked (not chosen with the keyboard): the canvas keeps the keys (arrows nudge, Space pans).
      g.addEventListener("click", (e) => e.detail > 0 && e.target.closest('[role="radio"]') && document.getElementById("stage").focus({ preventScroll: true }));
    }
    // Enter and Space on a focused control press it; they are not the page's shortcuts then.
    for (const box of document.querySelectorAll(".toolbar, .style-panel, .bottombar, .topbar")) {
      box.addEventListener("keydown", (e) => {
        if ((e.key === "Enter" || e.key === " ") && e.target.closest("button, a[href], input")) e.stopPropagation();
      });
    }
    this.menu = new MoreMenu(() => this.render());
    this.render();
  }

  setTool(tool, remember = true) {
    this.prefs.tool = tool;
    if (remember) this.save();
    this.render();
  }

  setColor(color) {
    if (this.onStyle("color", color)) return this.render(color);
    this.prefs.color = color;
    this.save();
    this.render();
    if (["eraser", "hand", "select", "laser"].includes(this.prefs.tool)) this.onTool("pen");
  }

  setWidth(i) {
    i = Math.max(0, Math.min(3, i));
    const st = { ...this.style(this.prefs.tool), width: WIDTHS.pen[i], size: TEXT_SIZES[i] };
    const took = this.onStyle("width", st.width) + this.onStyle("size", st.size);
    this.prefs.widthIndex = i;
    this.save();
    this.render();
    return took;
  }

  setFill(fill) {
    if (this.onStyle("fill", fill)) return this.render();
    this.prefs.fill = fill;
    this.save();
    this.render();
  }

  render(shownColor) {
    const p = this.prefs;
    for (const b of document.querySelectorAll(".tool")) b.setAttribute("aria-checked", String(b.dataset.tool === p.tool));
    const color = shownColor || p.color;
    let matched = false;
    for (const b of document.querySelectorAll("#colors .swatch[data-color]")) {
      const on = b.dataset.color === color;
      matched ||= on;
      b.setAttribute("aria-checked", String(on));
    }
    const custom = document.querySelector(".swatch.custom");
    custom.classList.toggle("active", !matched);
    if (!matched) {
      custom.style.setProperty("--c", color);
      document.getElementById("custom-color").value = color;
    }
    for (const b of document.querySelectorAll("#widths button")) {
      const i = Number(b.dataset.index);
      b.setAttribute("aria-checked", String(i === p.widthIndex));
      b.title = `${WIDTH_NAMES[i]}: ${WIDTHS[p.tool === "highlighter" ? "highlighter" : "pen"][i]} ([ and ])`;
    }
    for (const b of document.querySelectorAll("#fills button")) b.setAttribute("aria-checked", String((b.dataset.fill || null) === p.fill));
    for (const g of document.querySelectorAll(RADIO_GROUPS)) syncRadios(g);
    document.getElementById("more-btn").classList.toggle("holds-choice", !!document.querySelector("#more-tools [aria-checked=true]"));
    document.getElementById("stage").dataset.tool = p.tool;
  }
}

/**
 * The phone's overflow menu (a non-modal popup, as Excalidraw's "more tools"): the toolbar keeps
 * the primary tools; the other tools, colours, widths, fills and the note's actions move into it
 * (the same elements, so every listener stays). It opens from *More* (aria-expanded), closes on
 * Escape (focus back on *More*), on a tap outside and after a choice.
 */
class MoreMenu {
  constructor(changed) {
    this.changed = changed;
    this.button = document.getElementById("more-btn");
    this.box = document.getElementById("more-menu");
    this.marks = new Map(); // moved element → the comment that keeps its place
    this.button.addEventListener("click", () => (this.box.hidden ? this.open() : this.close(true)));
    this.box.addEventListener("click", (e) => {
      if (e.target.closest("button, a[href]") && !e.target.closest("[data-by-arrow]")) this.close(false);
    });
    this.box.addEventListener("change", () => this.close(false)); // the custom colour was picked
    document.addEventListener("keydown", (e) => {
      if (e.key === "Escape" && !this.box.hidden) {
        e.stopPropagation();
        this.close(true);
      }
    }, true);
    document.addEventListener("pointerdown", (e) => {
      if (!this.box.hidden && !this.box.contains(e.target) && !this.button.contains(e.target)) this.close(false);
    });
    this.phone = matchMedia(PHONE);
    this.phone.addEventListener("change", () => this.layout());
    this.layout();
  }

  move(node, into) {
    if (!node || this.marks.has(node)) return;
    const mark = document.createComment(node.id || node.dataset.tool || "");
    node.before(mark);
    this.marks.set(node, mark);
    into.append(node);
  }

  layout() {
    if (this.phone.matches) {
      for (const b of document.querySelectorAll(".toolbar .tools .tool")) if (!PRIMARY.includes(b.dataset.tool)) this.move(b, document.getElementById("more-tools"));
      for (const sel of MOVED_STYLE) this.move(document.querySelector(sel), document.getElementById("more-style"));
      for (const sel of MOVED_ACTIONS) this.move(document.querySelector(sel), document.getElementById("more-actions"));
    } else {
      this.close(false);
      for (const [node, mark] of this.marks) mark.replaceWith(node);
      this.marks.clear();
    }
    this.changed();
  }

  open() {
    this.box.hidden = false;
    this.button.setAttribute("aria-expanded", "true");
    this.changed(); // the radios in the menu are shown now: their Tab stops
    const first = this.box.querySelector('[tabindex="0"], button:not([tabindex="-1"]), a[href]');
    if (first) first.focus();
  }

  close(refocus) {
    if (this.box.hidden) return;
    this.box.hidden = true;
    this.button.setAttribute("aria-expanded", "false");
    if (refocus) this.button.focus();
  }
}
