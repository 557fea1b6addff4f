// Who is here: the avatars and list, others' cursors (DOM) and laser trails, following
// someone's view, and my own name (a friendly generated one until I set mine; a name
// the host gives is used as it is).
import { el, inkOn } from "./ui.js";

const CURSOR_TTL_MS = 10000;
export const LASER_MS = 1000;

function initials(name) {
  const parts = name.trim().split(/\s+/).filter(Boolean);
  const letters = parts.length > 1 ? parts[0][0] + parts[1][0] : [...(parts[0] || "?")][0];
  return letters.toUpperCase();
}

export class Presence {
  /** @param {{camera: object, sync: () => object, schedule: () => void, layer: HTMLElement}} app */
  constructor(app) {
    this.app = app;
    this.peers = new Map(); // peer → {peer, name, color}
    this.cursors = new Map(); // peer → {x, y, t, node}
    this.lasers = new Map(); // peer → [{x, y, t}]
    this.following = null;
    this.dirty = false;
    setInterval(() => this.expire(), 500);
  }

  name(peer) {
    const p = this.peers.get(peer);
    return (p && p.name) || "Guest";
  }

  color(peer) {
    const p = this.peers.get(peer);
    return (p && p.color) || "#495057";
  }

  onCursor(c) {
    let cur = this.cursors.get(c.peer);
    if (!cur) {
      const node = el("div", { class: "cursor" });
      node.innerHTML =
        '<svg viewBox="0 0 16 20" aria-hidden="true"><path d="M1 1l13 8.5-6 1.2-3.2 6.3z"/></svg><span class="cursor-name"></span>';
      this.app.layer.append(node);
      cur = { node };
      this.cursors.set(c.peer, cur);
    }
    Object.assign(cur, { x: c.x, y: c.y, t: Date.now() });
    cur.node.style.setProperty("--c", this.color(c.peer));
    cur.node.style.setProperty("--ink-on", inkOn(this.color(c.peer)));
    cur.node.querySelector(".cursor-name").textContent = this.name(c.peer);
    cur.node.classList.toggle("laser", !!c.laser);
    cur.node.hidden = false;
    if (c.laser) {
      const trail = this.lasers.get(c.peer) || [];
      trail.push({ x: c.x, y: c.y, t: performance.now() });
      this.lasers.set(c.peer, trail);
    }
    if (Array.isArray(c.view) && c.view.length === 4) {
      cur.view = c.view;
      if (this.following === c.peer) this.app.camera.show(c.view);
    }
    this.dirty = true;
    this.app.schedule();
  }

  place() {
    const cam = this.app.camera;
    for (const cur of this.cursors.values()) {
      const [sx, sy] = cam.toScreen(cur.x, cur.y);
      cur.node.style.transform = `translate(${sx}px, ${sy}px)`;
    }
    this.dirty = false;
  }

  /** Laser trails still glowing: [{color, points: [{x, y, a}]}] (a: 0..1). */
  trails(now = performance.now()) {
    const out = [];
    for (const [peer, trail] of this.lasers) {
      const pts = trail.filter((p) => now - p.t < LASER_MS).map((p) => ({ x: p.x, y: p.y, a: 1 - (now - p.t) / LASER_MS }));
      if (pts.length) out.push({ color: peer === "me" ? "#e03131" : this.color(peer), points: pts });
    }
    return out;
  }

  myLaser(x, y) {
    const trail = this.lasers.get("me") || [];
    trail.push({ x, y, t: performance.now() });
    this.lasers.set("me", trail);
    this.app.schedule();
  }

  expire() {
    const now = Date.now();
    for (const [peer, cur] of this.cursors) {
      if (now - cur.t > CURSOR_TTL_MS || !this.peers.has(peer)) {
        cur.node.remove();
        this.cursors.delete(peer);
      }
    }
    const pnow = performance.now();
    for (const [peer, trail] of this.lasers) {
      const keep = trail.filter((p) => pnow - p.t < LASER_MS);
      if (keep.length) this.lasers.set(peer, keep);
      else this.lasers.delete(peer);
    }
    if (this.following && !this.peers.has(this.following)) this.follow(null);
  }

  follow(peer) {
    this.following = peer;
    const banner = document.getElementById("following");
    if (banner) {
      banner.hidden = !peer;
      if (peer) banner.querySelector("span").textContent = `Following ${this.name(peer)}`;
    }
    const cur = peer && this.cursors.get(peer);
    if (cur && cur.view) this.app.camera.show(cur.view);
    this.render();
  }

  set(list) {
    this.peers = new Map(list.map((p) => [p.peer, p]));
    this.render();
  }

  render() {
    const list = [...this.peers.values()];
    const sync = this.app.sync();
    const me = sync && sync.me;
    const ordered = list.sort((a, b) => (a.peer === me ? -1 : b.peer === me ? 1 : 0));
    const avatars = document.getElementById("people");
    avatars.replaceChildren();
    for (const p of ordered.slice(0, 5)) {
      const a = el("span", { class: "avatar", text: initials(p.name || "?") });
      a.style.setProperty("--c", p.color);
      a.style.setProperty("--ink-on", inkOn(p.color)); // readable initials on any colour
      a.title = p.peer === me ? `${p.name} (you)` : p.name;
      avatars.append(a);
    }
    if (ordered.length > 5) avatars.append(el("span", { class: "avatar more", text: `+${ordered.length - 5}` }));
    avatars.setAttribute("aria-label", `${list.length} here`);
    avatars.dataset.count = String(list.length);
    const items = document.getElementById("people-items");
    items.replaceChildren();
    for (const p of ordered) {
      const dot = el("span", { class: "dot" });
      dot.style.setProperty("--c", p.color);
      const li = el("li", {}, dot, el("span", { class: "name", text: p.name }));
      if (p.peer === me) li.append(el("span", { class: "muted", text: " (you)" }));
      else {
        const on = this.following === p.peer;
        const b = el("button", { class: "btn btn-small follow", type: "button", text: on ? "Stop following" : "Follow" });
        b.addEventListener("click", () => this.follow(on ? null : p.peer));
        li.append(b);
      }
      items.append(li);
    }
    for (const cur of this.cursors.values()) cur.node.hidden = false;
  }
}

// -- my name --------------------------------------------------------------------------------
const ADJ = ["Curious", "Brave", "Sunny", "Quiet", "Swift", "Clever", "Gentle", "Lucky", "Bold", "Merry", "Calm", "Bright"];
const ANIMAL = ["Otter", "Panda", "Fox", "Heron", "Lynx", "Koala", "Robin", "Tiger", "Whale", "Badger", "Falcon", "Gecko"];

function store(key, value) {
  try {
    if (value === undefined) return localStorage.getItem(key);
    localStorage.setItem(key, value);
  } catch (_) {
    /* storage disabled: nothing is remembered */
  }
  return value;
}

/** The name I chose (remembered on this device), or null. */
export function chosenName() {
  return store("collab.name");
}

export function rememberName(name) {
  store("collab.name", name);
}

/** A friendly generated name ("Curious Otter"), the same on this device until I choose one. */
export function guestName() {
  let n = store("collab.guest");
  if (!n) {
    const pick = (a) => a[crypto.getRandomValues(new Uint8Array(1))[0] % a.length];
    n = store("collab.guest", `${pick(ADJ)} ${pick(ANIMAL)}`);
  }
  return n;
}
