// The page's Replica (static/js/replica.js) against the shared op fixtures
// (tests/fixtures/ops/*.json), plus delivery orders, duplicates, catch-up joins and
// view(pending). Run: node --test tests/js/   (tests/test_replica_js.py runs it under pytest)
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";

const ROOT = new URL("../../", import.meta.url);
const FIXTURES = new URL("tests/fixtures/ops/", ROOT);
const REPLICA = new URL("static/js/replica.js", ROOT);

/**
 * static/js/replica.js is an ES module in a folder without a package.json (the browser
 * needs none). Node 20.19+ recognises its `export` syntax by itself; an older Node 20
 * (or --no-experimental-detect-module) takes it for CommonJS and fails, so then the same
 * source is imported as an ES module from a data: URL (replica.js imports nothing).
 * When that fails too, the first error (which names the file) is the one reported.
 */
async function loadReplica() {
  try {
    return await import(REPLICA.href);
  } catch (err) {
    const src = readFileSync(REPLICA, "utf8");
    try {
      return await import(`data:text/javascript;base64,${Buffer.from(src).toString("base64")}`);
    } catch {
      throw err;
    }
  }
}

const { Replica, applyOp, emptyState, strokeOf } = await loadReplica();

// -- helpers ------------------------------------------------------------------------------------
const FILES = readdirSync(FIXTURES)
  .filter((f) => f.endsWith(".json"))
  .sort();

function fixture(name) {
  return JSON.parse(readFileSync(new URL(name, FIXTURES), "utf8"));
}

/** The ops of a fixture, in seq order (refused and duplicate steps have none). */
const opsOf = (fx) => fx.steps.filter((s) => s.op).map((s) => s.op);

/** A deterministic PRNG (mulberry32), so a failing order can be replayed. */
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function shuffled(list, seed) {
  const out = [...list];
  const rand = rng(seed);
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

function deepFreeze(v) {
  if (v && typeof v === "object") {
    Object.freeze(v);
    for (const x of Object.values(v)) deepFreeze(x);
  }
  return v;
}

/** An op as a broadcast carries it: with `note` and a field this page does not know. */
const asBroadcast = (op) => deepFreeze({ ...structuredClone(op), note: "n-1", future: { x: 1 } });

/** A Replica that has joined an empty note. */
function fresh() {
  const r = new Replica();
  r.joined({ ok: true, seq: 0, strokes: [] });
  return r;
}

const listing = (r) => [...r.strokes.values()];

// -- every fixture --------------------------------------------------------------------------------
test("there are fixtures to run", () => {
  assert.ok(FILES.length >= 10, `only ${FILES.length} files in ${FIXTURES.pathname}`);
});

for (const name of FILES) {
  const fx = fixture(name);
  const ops = opsOf(fx);
  const last = ops.length ? ops[ops.length - 1].seq : 0;

  describe(name, () => {
    test("ops in seq order give the state", () => {
      const r = fresh();
      for (const op of ops) r.receive(asBroadcast(op));
      assert.deepStrictEqual(listing(r), fx.state);
      assert.deepStrictEqual(r.list(), fx.state);
      assert.equal(r.seq, last);
      assert.equal(r.hasGap(), false);
      assert.deepStrictEqual([...r.view([]).values()], fx.state);
    });

    test("applyOp alone gives the state and changes no op", () => {
      const state = emptyState();
      for (const op of ops) assert.equal(applyOp(state, deepFreeze(structuredClone(op))), state);
      assert.deepStrictEqual([...state.items.values()], fx.state);
      for (const id of state.items.keys()) assert.equal(state.removed.has(id), false, `${id} both live and removed`);
    });

    test("ops delivered out of order give the same state", () => {
      for (const seed of [1, 2, 3, 42, 1234]) {
        const r = fresh();
        for (const op of shuffled(ops, seed)) r.receive(asBroadcast(op));
        assert.deepStrictEqual(listing(r), fx.state, `seed ${seed}`);
        assert.equal(r.seq, last, `seed ${seed}`);
        assert.equal(r.buffer.size, 0, `seed ${seed}`);
      }
    });

    test("duplicated deliveries change nothing", () => {
      const r = fresh();
      for (const op of ops) {
        r.receive(asBroadcast(op));
        assert.equal(r.receive(asBroadcast(op)), false, `seq ${op.seq} applied twice`);
      }
      const version = r.version;
      for (const op of shuffled(ops, 7)) assert.equal(r.receive(asBroadcast(op)), false);
      assert.deepStrictEqual(listing(r), fx.state);
      assert.equal(r.version, version);
      // Each op twice, in a shuffled order, on a fresh replica.
      const d = fresh();
      for (const op of shuffled([...ops, ...ops], 99)) d.receive(asBroadcast(op));
      assert.deepStrictEqual(listing(d), fx.state);
    });

    test("a join ack with ops (catch-up) gives the same state", () => {
      const r = new Replica();
      r.joined({ ok: true, seq: last, ops: shuffled(ops, 5).map(asBroadcast) });
      assert.deepStrictEqual(listing(r), fx.state);
      assert.equal(r.seq, last);
      // Half by broadcast, then a re-join with since = seq catches up the rest; ops
      // that arrived during the join and are in the ack are applied once.
      const half = Math.floor(ops.length / 2);
      const h = fresh();
      for (const op of ops.slice(0, half)) h.receive(asBroadcast(op));
      h.beginJoin();
      for (const op of ops.slice(half, half + 2)) h.receive(asBroadcast(op));
      h.joined({ ok: true, seq: last, ops: ops.slice(half).map(asBroadcast) });
      assert.deepStrictEqual(listing(h), fx.state);
      assert.equal(h.seq, last);
    });

    test("a full-state join at any seq, then the later ops, gives the same state", () => {
      const a = fresh();
      for (let k = 0; k <= ops.length; k++) {
        if (k) a.receive(ops[k - 1]);
        const b = new Replica();
        b.joined({ ok: true, seq: a.seq, strokes: shuffled(structuredClone(a.list()), k) });
        for (const op of ops.slice(k)) b.receive(asBroadcast(op));
        assert.deepStrictEqual(listing(b), fx.state, `joined at seq ${a.seq}`);
      }
    });
  });
}

// -- rules not tied to one fixture ---------------------------------------------------------------------
const pen = (seq, id, points = [[0, 0], [1, 1]], peer = "p1") => ({
  type: "stroke",
  seq,
  peer,
  id,
  tool: "pen",
  color: "#000",
  width: 2,
  points,
});

describe("ops that do not apply", () => {
  test("never throw, change nothing, and still use their seq", () => {
    const r = fresh();
    r.receive(pen(1, "a"));
    const before = structuredClone(r.list());
    const odd = [
      { type: "remove", id: "nope" },
      { type: "update", id: "nope", set: { color: "#f00" } },
      { type: "update", id: "a", set: null },
      { type: "update", id: "a" },
      { type: "update", id: "a", set: { tool: "rect", id: "b", file: "x", bogus: 1 } },
      { type: "move", ids: ["nope"], dx: 1, dy: 1 },
      { type: "move", ids: "a", dx: 1, dy: 1 },
      { type: "move", ids: ["a"], dx: "1", dy: 1 },
      { type: "move" },
      { type: "restore" },
      { type: "restore", items: [null, 3, "a", []] },
      { type: "stroke", id: "a", color: "#f00", width: 9, points: [[5, 5]] },
      { type: "lasso", ids: ["a"] },
      {},
    ];
    odd.forEach((op, i) => assert.doesNotThrow(() => r.receive({ ...op, seq: i + 2, peer: "p2" })));
    assert.equal(r.seq, odd.length + 1);
    assert.deepStrictEqual(r.list(), before);
    assert.equal(r.hasGap(), false);
    for (const junk of [null, undefined, 5, "x", [], { seq: "3" }, { seq: 2.5 }]) assert.equal(r.receive(junk), false);
    assert.doesNotThrow(() => applyOp(emptyState(), null));
  });

  test("a move skips ids not live and moves a repeated id once", () => {
    const s = emptyState();
    applyOp(s, pen(1, "a", [[0, 0]]));
    applyOp(s, pen(2, "b", [[5, 5]]));
    applyOp(s, { type: "remove", seq: 3, id: "b" });
    applyOp(s, { type: "move", seq: 4, ids: ["x", "a", "b", "a"], dx: 1.5, dy: -2 });
    assert.deepStrictEqual(s.items.get("a").points, [[1.5, -2]]);
    assert.deepStrictEqual(s.removed.get("b").points, [[5, 5]]);
  });

  test("a stroke for an id kept aside (removed) stays out", () => {
    const s = emptyState();
    applyOp(s, pen(1, "a"));
    applyOp(s, { type: "clear", seq: 2 });
    applyOp(s, pen(3, "a", [[9, 9]]));
    assert.equal(s.items.size, 0);
    assert.deepStrictEqual(s.removed.get("a"), pen(1, "a"));
  });
});

describe("strokeOf", () => {
  test("keeps every item field and drops the rest", () => {
    const op = {
      type: "stroke",
      seq: 4,
      peer: "p",
      id: "t",
      tool: "text",
      color: "#000",
      points: [[1, 2]],
      fill: "#fff",
      text: "hi",
      size: 20,
      note: "n",
      extra: true,
    };
    const { note, extra, ...item } = op; // eslint-disable-line no-unused-vars
    assert.deepStrictEqual(strokeOf(op), item);
    assert.deepStrictEqual(strokeOf({ seq: 1, id: "x", color: "#000", width: 1, points: [[0, 0]], file: null }), {
      type: "stroke",
      seq: 1,
      id: "x",
      tool: "pen",
      color: "#000",
      width: 1,
      points: [[0, 0]],
    });
  });
});

describe("layer order", () => {
  test("restores of many items in a random order sort by their own seq", () => {
    const r = fresh();
    const n = 2000;
    for (let i = 1; i <= n; i++) r.receive(pen(i, `s${i}`));
    let seq = n;
    const gone = [];
    for (let i = 1; i <= n; i += 3) {
      r.receive({ type: "remove", seq: ++seq, id: `s${i}` });
      gone.push(`s${i}`);
    }
    const back = shuffled(gone, 3);
    for (let i = 0; i < back.length; i += 100) {
      const items = back.slice(i, i + 100).map((id) => pen(Number(id.slice(1)), id));
      r.receive({ type: "restore", seq: ++seq, items });
    }
    r.receive(pen(++seq, "top"));
    const seqs = r.list().map((it) => it.seq);
    assert.equal(seqs.length, n + 1);
    assert.deepStrictEqual(seqs, [...seqs].sort((a, b) => a - b));
    assert.equal(r.list().at(-1).id, "top");
    assert.equal(r.removed.size, 0);
  });

  test("view() of thousands of items with pending entries stays quick", () => {
    const r = fresh();
    for (let i = 1; i <= 5000; i++) r.receive(pen(i, `s${i}`, [[i, i], [i + 1, i + 1]]));
    const pending = [
      { kind: "stroke", stroke: { id: "mine", color: "#000", width: 2, tool: "pen", points: [[0, 0]] } },
      { kind: "update", id: "s10", set: { color: "#f00" } },
      { kind: "move", ids: ["s11"], dx: 1, dy: 1 },
    ];
    const t0 = performance.now();
    for (let i = 0; i < 200; i++) r.view(pending);
    const ms = (performance.now() - t0) / 200;
    assert.ok(ms < 25, `view() took ${ms.toFixed(2)} ms per call`);
  });
});

describe("view(pending)", () => {
  /** Applied: a(1) b(2) c(3, rect) d(4); b removed (5). */
  function base() {
    const r = fresh();
    r.receive(pen(1, "a"));
    r.receive(pen(2, "b"));
    r.receive({ ...pen(3, "c", [[0, 0], [10, 10]]), tool: "rect", fill: "#eee" });
    r.receive(pen(4, "d"));
    r.receive({ type: "remove", seq: 5, peer: "p1", id: "b" });
    return r;
  }
  const ids = (m) => [...m.keys()];

  test("each kind of entry is applied like its op, on top of the state, without changing it", () => {
    const r = base();
    const before = structuredClone(r.list());
    const mine = { id: "mine", color: "#00f", width: 3, tool: "highlighter", points: [[1, 1], [2, 2]] };
    const b = r.removed.get("b");
    const pending = deepFreeze([
      { kind: "stroke", stroke: mine },
      { kind: "stroke", stroke: { ...mine, id: "a", color: "#f00" } }, // a known id: no change
      { kind: "stroke", stroke: { ...mine, id: "b" } }, // removed: stays out
      { kind: "update", id: "c", set: { fill: null, color: "#0f0" } },
      { kind: "update", id: "nope", set: { color: "#0f0" } },
      { kind: "move", ids: ["a", "mine", "nope"], dx: 10, dy: -1 },
      { kind: "restore", items: [b] },
      { kind: "remove", id: "d" },
    ]);
    const v = r.view(pending);
    assert.deepStrictEqual(ids(v), ["a", "b", "c", "mine"]); // b back at its layer, mine on top
    assert.deepStrictEqual(v.get("a").points, [[10, -1], [11, 0]]);
    assert.equal(v.get("a").color, "#000");
    assert.deepStrictEqual(v.get("mine"), { type: "stroke", ...mine, points: [[11, 0], [12, 1]] });
    assert.deepStrictEqual(v.get("c"), { type: "stroke", seq: 3, peer: "p1", id: "c", tool: "rect", color: "#0f0", width: 2, points: [[0, 0], [10, 10]] });
    assert.deepStrictEqual(v.get("b"), b);
    // The applied state is untouched.
    assert.deepStrictEqual(r.list(), before);
    assert.deepStrictEqual(ids(r.strokes), ["a", "c", "d"]);
    assert.deepStrictEqual([...r.removed.keys()], ["b"]);
    assert.deepStrictEqual(ids(r.view([])), ["a", "c", "d"]);
  });

  test("clear, then a pending restore of some items and a stroke", () => {
    const r = base();
    const a = r.strokes.get("a");
    const v = r.view([
      { kind: "clear" },
      { kind: "stroke", stroke: { id: "n", color: "#000", width: 2, tool: "pen", points: [[0, 0]] } },
      { kind: "restore", items: [r.strokes.get("d"), a] },
    ]);
    assert.deepStrictEqual(ids(v), ["a", "d", "n"]); // restored at their layers, below the unacked stroke
    assert.deepStrictEqual(ids(r.strokes), ["a", "c", "d"]);
  });

  test("buffered ops (above a gap) are shown before pending entries, not applied", () => {
    const r = base();
    r.receive({ type: "move", seq: 8, peer: "p2", ids: ["a"], dx: 1, dy: 1 });
    r.receive({ type: "restore", seq: 7, peer: "p2", items: [r.removed.get("b")] });
    assert.equal(r.hasGap(), true);
    const v = r.view([{ kind: "update", id: "b", set: { width: 7 } }]);
    assert.deepStrictEqual(ids(v), ["a", "b", "c", "d"]);
    assert.equal(v.get("b").width, 7);
    assert.deepStrictEqual(v.get("a").points, [[1, 1], [2, 2]]);
    assert.deepStrictEqual(ids(r.strokes), ["a", "c", "d"]);
    r.receive({ type: "update", seq: 6, peer: "p2", id: "d", set: { color: "#123" } });
    assert.equal(r.hasGap(), false);
    assert.deepStrictEqual(ids(r.strokes), ["a", "b", "c", "d"]);
    assert.equal(r.strokes.get("d").color, "#123");
  });

  test("with no pending entries and no buffer it is a copy of the state", () => {
    const r = base();
    const v = r.view([]);
    assert.notEqual(v, r.strokes);
    assert.deepStrictEqual(v, r.strokes);
    assert.deepStrictEqual(ids(r.view()), ids(r.strokes));
  });
});

describe("joins (the rules the page relies on)", () => {
  test("ops wait during a join; a full state replaces, and forgets what was removed", () => {
    const r = new Replica();
    r.receive(pen(1, "early"));
    assert.equal(r.strokes.size, 0);
    r.joined({ ok: true, seq: 2, strokes: [pen(2, "b"), pen(1, "a")] });
    assert.deepStrictEqual(ids(r.strokes), ["a", "b"]);
    r.receive({ type: "remove", seq: 3, id: "a" });
    assert.deepStrictEqual([...r.removed.keys()], ["a"]);
    r.joined({ ok: true, seq: 1, reset: true, strokes: [pen(1, "z")] });
    assert.deepStrictEqual(ids(r.strokes), ["z"]);
    assert.equal(r.removed.size, 0);
    assert.equal(r.seq, 1);
  });
  const ids = (m) => [...m.keys()];
});
