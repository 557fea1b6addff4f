// The connection starts here, as soon as this small module and its imports are in, not
// after every module of the page has loaded: the Socket.IO handshake and the join's
// answer (the whole note) then overlap the fetching and evaluating of the rest. The Sync
// reports into a queue until note.js takes it (take()) and hands it its callbacks: what
// was reported meanwhile is replayed to them in order. The history view (`?at=`) has
// no connection.
import { readConfig } from "./config.js";
import { chosenName, guestName } from "./presence.js";
import { Sync } from "./sync.js";
import { myColor } from "./ui.js";

const cfg = readConfig();
const params = new URLSearchParams(location.search);
const share = params.get("share");
/** The name we join with: chosen, else a friendly generated one (never asks). */
export const myName = chosenName() || guestName();

const queued = [];
const later = new Proxy({}, { get: (_, name) => (...args) => void queued.push([name, args]) });

performance.mark("collab:boot");
const sync =
  params.get("at") !== null
    ? null
    : new Sync({
        cfg,
        note: cfg.note,
        auth: { name: myName, color: myColor(), ...(share ? { token: share } : {}) },
        transport: params.get("transport") || undefined,
        on: later,
      });

/**
 * The Sync (null in the history view), reporting to `on` from the next microtask: what it
 * reported before is replayed first, in order, once the caller has kept the Sync.
 */
export function take(on) {
  if (!sync) return null;
  queueMicrotask(() => {
    while (queued.length) {
      const [name, args] = queued.shift();
      on[name]?.(...args);
    }
    sync.on = on;
  });
  return sync;
}
