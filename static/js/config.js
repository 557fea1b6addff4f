// The page's configuration: the JSON block the server renders (never hard-code paths;
// the app may be mounted under a URL prefix).

/** @returns {{note: string|null, namespace: string, socketioPath: string, api: string,
 *            home: string, notePage: string, static: string}} */
export function readConfig() {
  const el = document.getElementById("collab-config");
  return JSON.parse(el.textContent);
}

/** URL of a note in the JSON API (add ".svg" / ".png" for the exports). */
export function noteApi(cfg, id) {
  return cfg.api + "/" + encodeURIComponent(id);
}

/**
 * The download name of a note's export: its title with its letters kept (any script), only
 * what file systems refuse taken out; else the note's id. The server's Content-Disposition
 * gives the same name (collab/exports.py, file_name).
 */
export function exportFileName(title, note, ext) {
  const clean = (title || "").normalize("NFC").replace(/[\u0000-\u001f\u007f/\\:*?"<>|]+/g, " ");
  const stem = [...clean.split(/\s+/).filter(Boolean).join(" ")].slice(0, 100).join("").trim();
  return `${stem || note}.${ext}`;
}

/** URL of a note's drawing page. */
export function notePage(cfg, id) {
  return cfg.notePage.replace("__NOTE__", encodeURIComponent(id));
}

/** A random id of `n` URL-safe characters (stroke ids, tab ids). */
export function randomId(n = 16) {
  const abc = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  const bytes = crypto.getRandomValues(new Uint8Array(n));
  let out = "";
  for (const b of bytes) out += abc[b & 63];
  return out;
}

/** JSON over fetch; throws an Error with the server's message on a non-2xx answer. */
export async function api(url, { method = "GET", body, token } = {}) {
  const init = { method, headers: { Accept: "application/json" } };
  if (token) init.headers["X-Collab-Token"] = token; // a share link's token
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(url, init);
  } catch (_) {
    // fetch() itself failed: no answer at all ("Failed to fetch" is not for people).
    const err = new Error(
      navigator.onLine ? "the server cannot be reached; try again in a moment" : "this device is offline; try again once it is back online",
    );
    err.status = 0;
    throw err;
  }
  if (res.status === 204) return null;
  let data = null;
  try {
    data = await res.json();
  } catch (_) {
    data = null;
  }
  if (!res.ok) {
    const msg = (data && data.error && data.error.message) || `${res.status} ${res.statusText}`;
    const err = new Error(msg);
    err.status = res.status;
    throw err;
  }
  return data;
}

/** A message for people from an error of api() (or anything thrown). */
export function friendlyError(err) {
  const msg = (err && err.message) || "";
  if (!msg || /failed to fetch|networkerror|load failed/i.test(msg)) return navigator.onLine ? "the server cannot be reached" : "this device is offline";
  return msg;
}
