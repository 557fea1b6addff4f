// Small UI pieces shared by both pages: dialogs, toasts, the display name.
// Everything user-controlled is put in the DOM with textContent (never innerHTML).

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else node.setAttribute(k, v);
  }
  for (const c of children) node.append(c);
  return node;
}
export { el };

function openDialog(build) {
  return new Promise((resolve) => {
    const dialog = el("dialog", { class: "dialog" });
    const form = el("form", { method: "dialog" });
    dialog.append(form);
    const done = build(form, dialog);
    dialog.addEventListener("close", () => {
      resolve(done(dialog.returnValue));
      dialog.remove();
    });
    document.body.append(dialog);
    dialog.showModal();
  });
}

/**
 * Cancel is a plain button (type=button), not a submit button: Enter in a dialog's form
 * submits with its first submit button, which is then always the confirming one.
 */
function cancelButton(dialog) {
  const b = el("button", { class: "btn", type: "button", value: "cancel", text: "Cancel" });
  b.addEventListener("click", () => dialog.close("cancel"));
  return b;
}

/** Ask to confirm something; resolves true when confirmed. */
export function confirmDialog({ title, message, confirm = "OK", danger = false }) {
  return openDialog((form, dialog) => {
    form.append(el("h2", { text: title }));
    if (message) form.append(el("p", { class: "muted", text: message }));
    const ok = el("button", { class: danger ? "btn btn-danger" : "btn btn-primary", value: "ok", text: confirm });
    const cancel = cancelButton(dialog);
    form.append(el("div", { class: "dialog-actions" }, cancel, ok));
    queueMicrotask(() => ok.focus());
    return (v) => v === "ok";
  });
}

/** Ask for a line of text; resolves the trimmed text, or null when cancelled. */
export function promptDialog({ title, label, value = "", confirm = "OK", maxLength = 200, message = "", empty = "This cannot be empty." }) {
  return openDialog((form, dialog) => {
    form.append(el("h2", { text: title }));
    if (message) form.append(el("p", { class: "muted", text: message }));
    const input = el("input", { type: "text", maxlength: String(maxLength), autocomplete: "off" });
    input.value = value;
    form.append(el("label", { class: "field" }, el("span", { text: label }), input));
    const ok = el("button", { class: "btn btn-primary", value: "ok", text: confirm });
    const cancel = cancelButton(dialog);
    const hint = el("p", { class: "field-error", role: "alert", hidden: "" });
    form.append(hint, el("div", { class: "dialog-actions" }, cancel, ok));
    input.addEventListener("input", () => (hint.hidden = true));
    queueMicrotask(() => {
      input.focus();
      input.select();
    });
    let text = null;
    form.addEventListener("submit", (ev) => {
      const v = input.value.trim();
      if (!v) {
        // Only spaces: say why nothing happens, keep the dialog open.
        ev.preventDefault();
        hint.textContent = empty;
        hint.hidden = false;
        input.focus();
        return;
      }
      text = v;
    });
    dialog.addEventListener("cancel", () => (text = null));
    return (v) => (v === "ok" ? text : null);
  });
}

/** A short message in the corner; kind = "info" | "error". */
export function toast(message, kind = "info", ms = 4000) {
  const box = document.getElementById("toasts");
  if (!box) return;
  const t = el("div", { class: `toast toast-${kind}`, text: message });
  box.append(t);
  setTimeout(() => t.classList.add("leaving"), ms);
  setTimeout(() => t.remove(), ms + 400);
}

/** Avatar and cursor colours a page may pick: white initials on each are at least 4.5:1 (WCAG AA). */
export const PALETTE = ["#c92a2a", "#237032", "#1864ab", "#b35900", "#9c36b5", "#0b7285", "#3b5bdb", "#c2255c"];

/** WCAG relative luminance of `#rrggbb`. */
function luminance(hex) {
  const [r, g, b] = [1, 3, 5].map((i) => {
    const c = parseInt(hex.slice(i, i + 2), 16) / 255;
    return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

/**
 * Text colour on a background of `hex` (someone's colour, perhaps the host's choice or an old
 * one kept on their device): white, unless black reads better. One of the two is always ≥ 4.5:1.
 */
export function inkOn(hex) {
  if (!/^#[0-9a-f]{6}$/i.test(hex || "")) return "#ffffff";
  const l = luminance(hex);
  return 1.05 / (l + 0.05) >= (l + 0.05) / 0.05 ? "#ffffff" : "#000000";
}

// -- radio groups (WAI-ARIA APG): one Tab stop per group, arrow keys move and choose -----------
const shown = (node) => node.getClientRects().length > 0;

/** Roving tabindex: only the checked radio (else the first one shown) is in the Tab order. */
export function syncRadios(group) {
  const all = [...group.querySelectorAll('[role="radio"]')];
  const visible = all.filter(shown);
  const current = visible.find((r) => r.getAttribute("aria-checked") === "true") || visible[0];
  for (const r of all) r.tabIndex = r === current ? 0 : -1;
}

/** Arrow keys (and Home, End) move the focus within `group` and choose the radio they reach. */
export function radioKeys(group) {
  group.addEventListener("keydown", (e) => {
    const step = { ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1 }[e.key];
    const from = e.target.closest('[role="radio"]');
    if (!from || e.altKey || e.ctrlKey || e.metaKey || (!step && e.key !== "Home" && e.key !== "End")) return;
    const visible = [...group.querySelectorAll('[role="radio"]')].filter(shown);
    let i = visible.indexOf(from);
    if (i < 0) return;
    e.preventDefault();
    e.stopPropagation(); // not a nudge of the selection
    i = e.key === "Home" ? 0 : e.key === "End" ? visible.length - 1 : (i + step + visible.length) % visible.length;
    visible[i].focus();
    visible[i].dataset.byArrow = ""; // a step, not yet a final choice (a menu stays open)
    visible[i].click();
    delete visible[i].dataset.byArrow;
  });
}

function store(key, value) {
  try {
    if (value === undefined) return localStorage.getItem(key);
    localStorage.setItem(key, value);
  } catch (_) {
    /* storage may be disabled (private mode): the name is asked again next time */
  }
  return value;
}

/** My cursor/avatar colour, chosen once and remembered. */
export function myColor() {
  let c = store("collab.color");
  if (!c || !/^#[0-9a-f]{6}$/i.test(c)) {
    c = PALETTE[Math.floor(Math.random() * PALETTE.length)];
    store("collab.color", c);
  }
  return c;
}

/** "just now", "5 min ago", "3 h ago", or a date. */
export function relativeTime(iso) {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return "";
  const s = Math.round((Date.now() - t) / 1000);
  if (s < 45) return "just now";
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400) return `${Math.round(s / 3600)} h ago`;
  return new Date(t).toLocaleDateString(undefined, { year: "numeric", month: "short", day: "numeric" });
}

/**
 * The share dialog: make a view or edit link (`make(role)` resolves {url}) and copy it.
 * Enter (or the Done button) closes it.
 */
export function shareDialog(make) {
  return openDialog((form, dialog) => {
    form.classList.add("share");
    form.append(el("h2", { text: "Share this note" }));
    form.append(el("p", { class: "muted", text: "Anyone with the link can open the note, with the role you choose, until it expires." }));
    const out = el("input", { type: "text", readonly: "", "aria-label": "Share link", placeholder: "Choose a role to make a link" });
    const copy = el("button", { class: "btn", type: "button", text: "Copy", disabled: "" });
    const roles = el("div", { class: "share-roles" });
    for (const [role, label] of [["view", "View-only link"], ["edit", "Edit link"]]) {
      const b = el("button", { class: "btn", type: "button", "data-role": role, text: label });
      b.addEventListener("click", async () => {
        for (const x of roles.children) x.setAttribute("aria-pressed", String(x === b));
        out.value = "";
        copy.disabled = true;
        try {
          const link = await make(role);
          out.value = new URL(link.url, location.href).href;
          copy.disabled = false;
          out.select();
        } catch (err) {
          toast(`Could not make a link: ${err.message}`, "error");
        }
      });
      roles.append(b);
    }
    copy.addEventListener("click", async () => {
      out.select();
      try {
        await navigator.clipboard.writeText(out.value);
      } catch (_) {
        document.execCommand("copy"); // older browsers, or no clipboard permission
      }
      copy.textContent = "Copied";
      setTimeout(() => (copy.textContent = "Copy"), 1500);
    });
    const done = el("button", { class: "btn btn-primary", value: "ok", text: "Done" });
    form.append(roles, el("div", { class: "share-link" }, out, copy), el("div", { class: "dialog-actions" }, done));
    queueMicrotask(() => roles.firstChild.focus());
    return () => out.value || null;
  });
}
