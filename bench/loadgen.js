#!/usr/bin/env node
// collab benchmark load generator (official socket.io-client under Node).
//
// Speaks the wire contract (PROTOCOL.md): connect to the namespace, `join`
// {note} with ack, then `stroke` {note, id, color, width, points, tool} with
// ack, open loop at a fixed rate per client. The send time travels in the
// stroke id (`<client>.<counter>.<sendMicros>`, unknown stroke fields are
// dropped by collab); the clock is CLOCK_MONOTONIC (process.hrtime), which is
// the same for every process on the machine. Receivers parse the id and record
// sender -> receiver latency.
//
// Modes:
//   run  (default) one phase: warmup, then `duration` seconds measured, then drain
//   ramp            phases of rising rate until p99 > --max-p99 ms, a loss, or a missing ack;
//                   then --rampRefine steps bisect between the last pass and the first fail
//   idle            open N connections, join, hold them `hold` seconds, count what is held
//
// Output: ONE JSON object on stdout. Progress events go to stderr as lines
// `@bench {"event": ...}` so the runner can sample the server's /proc at the
// edges of each measured window.
//
// Usage: node loadgen.js --url http://127.0.0.1:5000 --rooms 10 --clients 10 --rate 5 --points 32
//        node loadgen.js --json '{"url": "...", "mode": "ramp", ...}'
'use strict';

const fs = require('fs');
const http = require('http');
const { io } = require('socket.io-client');
const stockParser = require('socket.io-parser');

// The stock decoder, except that a `stroke` broadcast is not JSON-parsed whole: the
// receiver needs only its id (which carries the send time), so the id is cut out of
// the text. JSON.parse of the points was the generator's largest cost (~30% of its
// CPU); skipping it lets one Node process drive more load. Wire bytes are unchanged.
// --fullParse 1 uses the stock decoder.
// counts the TCP connections it opens (reported as http_connections)
class CountingAgent extends http.Agent {
  constructor(options) {
    super(options);
    this.opened = 0;
  }

  createConnection(...args) {
    this.opened++;
    return super.createConnection(...args);
  }
}
let sharedAgent = null;
function keepAliveAgent() {
  if (!sharedAgent) sharedAgent = new CountingAgent({ keepAlive: true, maxSockets: Infinity });
  return sharedAgent;
}

// CPU time (clock ticks) of the whole machine and of one process, from /proc; null where unreadable
function machineTicks() {
  try {
    const f = fs.readFileSync('/proc/stat', 'utf8').split('\n', 1)[0].trim().split(/\s+/).slice(1).map(Number);
    return f[0] + f[1] + f[2] + f[5] + f[6] + f[7]; // user nice system irq softirq steal (not idle, iowait)
  } catch {
    return null;
  }
}
function processTicks(pid) {
  if (!pid) return null;
  try {
    const s = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return Number(f[11]) + Number(f[12]); // utime + stime
  } catch {
    return null;
  }
}
const TICKS_PER_S = 100; // USER_HZ on Linux

class LeanDecoder extends stockParser.Decoder {
  tryParse(str) {
    if (str.startsWith('["stroke",')) {
      const m = /"id":"([^"]*)"/.exec(str);
      if (m) return ['stroke', { id: m[1] }];
    }
    return super.tryParse(str);
  }
}
const leanParser = { ...stockParser, Decoder: LeanDecoder };
const { monitorEventLoopDelay } = require('perf_hooks');

const DEFAULTS = {
  url: 'http://127.0.0.1:5000',
  namespace: '/notes',
  mode: 'run', // run | ramp | idle
  rooms: 10,
  clients: 10, // per room
  rate: 5, // strokes per second per client
  points: 32,
  duration: 10, // measured seconds (per phase)
  warmup: 2, // seconds sent but not counted (per phase)
  drain: 3, // after sending stops, wait for stragglers until this many seconds pass without one...
  drainMax: 60, // ...or this many in all
  transports: 'websocket', // websocket | polling | polling,websocket
  // ramp
  rampStart: 5, // first rate per client
  rampFactor: 1.5, // each next step multiplies the rate by this
  rampAdd: 0, // ...or adds this (when > 0, used instead of the factor)
  rampMax: 1000, // stop after this rate per client
  rampRefine: 0, // after the first failing step, this many steps between the last pass and the first
  //                fail (geometric midpoint each time): the ceiling to within factor^(1/2^N)
  settle: 2, // seconds of quiet before a refining step, so it starts on a caught-up server
  maxP99: 200, // ms: a step passes when p99 <= this, no loss, every ack back
  // idle
  connections: 5000,
  hold: 10,
  // connecting
  connectConcurrency: 100,
  connectTimeout: 30,
  prefix: '',
  deal: 'client', // several --url: 'client' deals clients round-robin (a room spans processes);
  //                 'room' puts each room's clients on one process, as note-affine routing does
  fullParse: 0, // 1: decode every packet with the stock parser (see LeanDecoder)
  parser: 'json', // json | msgpack (socket.io-msgpack-parser; the server must use it too)
  keepAlive: 1, // long-polling: reuse HTTP connections (as a browser's XHR does); 0: a new one per request
  // disturbed steps (ramp): a failing step during which other processes (neither the server, whose
  // pid the runner passes, nor this generator) used more than maxOthers % of a core is run again
  // once, at most retakes times per ramp: on a small machine a neighbour's burst is not the server
  serverPid: 0,
  maxOthers: 15,
  retakes: 2,
};

function parseArgs(argv) {
  const opts = { ...DEFAULTS };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--json') {
      Object.assign(opts, JSON.parse(argv[++i]));
      continue;
    }
    if (a === '--help' || a === '-h') {
      process.stdout.write('options (--name value or --json {...}):\n' + JSON.stringify(DEFAULTS, null, 2) + '\n');
      process.exit(0);
    }
    if (!a.startsWith('--')) throw new Error(`unexpected argument ${a}; use --name value`);
    const key = a.slice(2).replace(/-([a-z])/g, (_, c) => c.toUpperCase());
    if (!(key in DEFAULTS)) throw new Error(`unknown option ${a}; see --help`);
    const raw = argv[++i];
    opts[key] = typeof DEFAULTS[key] === 'number' ? Number(raw) : raw;
    if (typeof DEFAULTS[key] === 'number' && !Number.isFinite(opts[key])) {
      throw new Error(`${a} needs a number, got ${raw}`);
    }
  }
  if (opts.parser !== 'json' && opts.parser !== 'msgpack') throw new Error(`--parser must be json or msgpack, not ${opts.parser}`);
  if (!opts.prefix) opts.prefix = 'b' + Date.now().toString(36) + Math.floor(Math.random() * 1e6).toString(36);
  return opts;
}

const nowUs = () => Number(process.hrtime.bigint() / 1000n);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function event(name, fields = {}) {
  process.stderr.write('@bench ' + JSON.stringify({ event: name, t: nowUs(), ...fields }) + '\n');
}

function percentile(sorted, q) {
  if (sorted.length === 0) return null;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i];
}

function summarize(us) {
  // us: array of microseconds -> {p50, p90, p99, max, n} in ms
  const s = Float64Array.from(us).sort();
  const ms = (v) => (v === null ? null : Math.round(v) / 1000);
  return {
    n: s.length,
    p50: ms(percentile(s, 0.5)),
    p90: ms(percentile(s, 0.9)),
    p99: ms(percentile(s, 0.99)),
    max: ms(s.length ? s[s.length - 1] : null),
  };
}

class Client {
  constructor(gen, index, room) {
    this.gen = gen;
    this.index = index;
    this.tag = index.toString(36);
    this.room = room;
    this.note = `${gen.opts.prefix}-r${room}`;
    this.counter = 0;
    this.timer = null;
    this.connected = false;
    this.joined = false;
    this.disconnects = 0;
    const pts = [];
    for (let k = 0; k < gen.opts.points; k++) {
      pts.push([Math.round((100 + index * 3.7 + k * 2.3) * 10) / 10, Math.round((200 + k * 1.9) * 10) / 10]);
    }
    this.points = pts;
  }

  connect() {
    const o = this.gen.opts;
    return new Promise((resolve) => {
      // --url may list several servers (comma-separated): clients are dealt round-robin, so
      // the members of one room sit on different processes, or by room (--deal room)
      const urls = o.url.split(',');
      const slot = o.deal === 'room' ? this.room : this.index;
      const sock = io(urls[slot % urls.length] + o.namespace, {
        transports: o.transports.split(','),
        query: { note: this.note }, // what a note-affine proxy routes on (deploy/nginx.conf)
        forceNew: true, // one engine.io connection per client (no multiplexing)
        reconnection: false,
        parser: o.parser === 'msgpack' ? require('socket.io-msgpack-parser') : o.fullParse ? stockParser : leanParser,
        timeout: o.connectTimeout * 1000,
        // socket.io-client's default under Node is `agent: false`: every poll and every POST opens
        // and closes a TCP connection, which a browser never does. One keep-alive agent for the
        // whole generator: its idle connections are reused by whichever client polls next.
        ...(o.keepAlive && o.transports.includes('polling') ? { agent: keepAliveAgent() } : {}),
      });
      this.sock = sock;
      let done = false;
      // the client's own timeout covers the engine.io handshake only: bound the namespace connect
      // and the join too (a server speaking another parser never answers them)
      const timer = setTimeout(() => {
        finish(false, 'no connect and join within connectTimeout');
        sock.close();
      }, o.connectTimeout * 1000);
      const finish = (ok, why) => {
        if (!done) {
          done = true;
          clearTimeout(timer);
          resolve({ ok, why });
        }
      };
      sock.on('connect', () => {
        this.connected = true;
        sock.emit('join', { note: this.note }, (ack) => {
          if (ack && ack.ok) {
            this.joined = true;
            finish(true);
          } else {
            finish(false, 'join: ' + JSON.stringify(ack && ack.error));
          }
        });
      });
      sock.on('connect_error', (err) => finish(false, 'connect_error: ' + (err && err.message)));
      sock.on('disconnect', (reason) => {
        if (this.connected) this.gen.disconnectReasons[reason] = (this.gen.disconnectReasons[reason] || 0) + 1;
        this.connected = false;
        this.disconnects++;
        finish(false, 'disconnect: ' + reason);
      });
      sock.on('stroke', (op) => this.gen.onStroke(this, op));
      sock.on('error', (err) => {
        this.gen.serverErrors[err && err.code] = (this.gen.serverErrors[err && err.code] || 0) + 1;
      });
    });
  }

  start(period, startAt, stopAt) {
    // Open loop: stroke k is due at startAt + phase + k * period (absolute schedule).
    let next = startAt + Math.random() * period;
    const tick = () => {
      const now = nowUs();
      while (next <= now && next < stopAt) {
        this.send();
        next += period;
      }
      if (next >= stopAt) {
        this.timer = null;
        return;
      }
      this.timer = setTimeout(tick, Math.max(0, (next - nowUs()) / 1000));
    };
    this.timer = setTimeout(tick, Math.max(0, (next - nowUs()) / 1000));
  }

  stop() {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  send() {
    if (!this.connected) {
      this.gen.notSent++;
      return;
    }
    const t = nowUs();
    const id = `${this.tag}.${(this.counter++).toString(36)}.${t}`;
    const ph = this.gen.phase;
    const counted = ph !== null && t >= ph.from && t < ph.to;
    if (counted) {
      ph.sent++;
      ph.expected += this.gen.receiversPerRoom[this.room];
    } else {
      this.gen.uncountedSent++;
    }
    this.sock.emit(
      'stroke',
      { note: this.note, id, color: '#1e90ff', width: 2, points: this.points, tool: 'pen' },
      (ack) => {
        if (!counted) return;
        const p = ph;
        if (p.ackLat === null) {
          this.gen.lateAcks++;
          return;
        }
        if (ack && ack.ok) {
          p.acks++;
          p.ackLat.push(nowUs() - t);
        } else {
          p.ackErrors++;
          const code = (ack && ack.error && ack.error.code) || 'no_ack_payload';
          p.ackErrorCodes[code] = (p.ackErrorCodes[code] || 0) + 1;
        }
      },
    );
  }
}

class Generator {
  constructor(opts) {
    this.opts = opts;
    this.clients = [];
    this.phases = [];
    this.phase = null; // the phase whose window is open or draining
    this.notSent = 0;
    this.uncountedSent = 0;
    this.lateOrStray = 0;
    this.lateAcks = 0;
    this.disconnectReasons = {};
    this.serverErrors = {};
    this.receiversPerRoom = [];
    this.loop = monitorEventLoopDelay({ resolution: 10 });
  }

  onStroke(client, op) {
    const t = nowUs();
    const id = op && op.id;
    if (typeof id !== 'string') {
      this.lateOrStray++;
      return;
    }
    const dot = id.lastIndexOf('.');
    const sent = Number(id.slice(dot + 1));
    const ph = this.phase;
    if (ph === null || !(sent >= ph.from && sent < ph.to)) {
      if (ph !== null && sent >= ph.warmFrom && sent < ph.from) return; // warm-up traffic
      if (ph === null || sent < ph.warmFrom) this.lateOrStray++;
      return;
    }
    ph.received++;
    ph.lat.push(t - sent);
  }

  async connectAll(total, roomOf) {
    const o = this.opts;
    const t0 = nowUs();
    let next = 0;
    let failed = 0;
    const reasons = {};
    const worker = async () => {
      while (next < total) {
        const i = next++;
        const c = new Client(this, i, roomOf(i));
        this.clients.push(c);
        const r = await c.connect();
        if (!r.ok) {
          failed++;
          reasons[r.why] = (reasons[r.why] || 0) + 1;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(o.connectConcurrency, total) }, worker));
    const joined = this.clients.filter((c) => c.joined).length;
    return { requested: total, joined, failed, failReasons: reasons, seconds: (nowUs() - t0) / 1e6 };
  }

  async runPhase(index, rate) {
    const o = this.opts;
    const period = 1e6 / rate;
    const warmFrom = nowUs() + 50_000;
    const from = warmFrom + o.warmup * 1e6;
    const to = from + o.duration * 1e6;
    const ph = {
      index,
      rate,
      warmFrom,
      from,
      to,
      sent: 0,
      expected: 0,
      received: 0,
      acks: 0,
      ackErrors: 0,
      ackErrorCodes: {},
      lat: [],
      ackLat: [],
    };
    this.phases[index] = ph;
    this.phase = ph;
    this.loop.reset();
    this.loop.enable();
    for (const c of this.clients) if (c.joined) c.start(period, warmFrom, to);
    await sleep(Math.max(0, (from - nowUs()) / 1000));
    event('measure_start', { phase: index, rate });
    const cpuM0 = process.cpuUsage();
    const machine0 = machineTicks();
    const server0 = processTicks(o.serverPid);
    await sleep(Math.max(0, (to - nowUs()) / 1000));
    const cpuM = process.cpuUsage(cpuM0);
    const machine1 = machineTicks();
    const server1 = processTicks(o.serverPid);
    event('measure_end', { phase: index, rate });
    for (const c of this.clients) c.stop();
    // drain: wait for every expected delivery and ack; give up after o.drain seconds without
    // progress (or o.drainMax in all), so a late delivery is late, not lost, unless it never comes
    const drainStart = nowUs();
    let lastProgress = drainStart;
    let seen = -1;
    while (ph.received < ph.expected || ph.acks + ph.ackErrors < ph.sent) {
      const now = nowUs();
      const progress = ph.received + ph.acks + ph.ackErrors;
      if (progress !== seen) {
        seen = progress;
        lastProgress = now;
      }
      if (now - lastProgress > o.drain * 1e6 || now - drainStart > o.drainMax * 1e6) break;
      await sleep(20);
    }
    const drained = (nowUs() - drainStart) / 1e6;
    this.loop.disable();
    this.phase = null;
    const wall = (to - from) / 1e6;
    const latency = summarize(ph.lat);
    const joinedClients = this.clients.filter((c) => c.joined).length;
    const res = {
      phase: index,
      rate_per_client: rate,
      target_strokes_per_s: rate * joinedClients,
      seconds: wall,
      drain_seconds: drained,
      strokes_sent: ph.sent,
      strokes_per_s: ph.sent / wall,
      expected_deliveries: ph.expected,
      received_deliveries: ph.received,
      losses: ph.expected - ph.received,
      deliveries_per_s: ph.received / wall,
      acks: ph.acks,
      ack_errors: ph.ackErrors,
      ack_error_codes: ph.ackErrorCodes,
      acks_missing: ph.sent - ph.acks - ph.ackErrors,
      latency_ms: latency,
      ack_latency_ms: summarize(ph.ackLat),
      generator_cpu_pct: (100 * (cpuM.user + cpuM.system)) / 1e6 / wall,
      event_loop_delay_ms: {
        p50: this.loop.percentile(50) / 1e6,
        p99: this.loop.percentile(99) / 1e6,
        max: this.loop.max / 1e6,
      },
    };
    res.passed =
      res.losses === 0 && res.acks_missing === 0 && res.ack_errors === 0 && latency.p99 !== null && latency.p99 <= o.maxP99;
    res.generator_saturated = res.generator_cpu_pct > 90;
    if (machine0 !== null && machine1 !== null && server0 !== null && server1 !== null) {
      const pct = (ticks) => (100 * ticks) / TICKS_PER_S / wall;
      res.server_cpu_pct = pct(server1 - server0);
      res.others_cpu_pct = Math.max(0, pct(machine1 - machine0) - res.server_cpu_pct - res.generator_cpu_pct);
    }
    ph.lat = ph.ackLat = null; // free memory
    return res;
  }

  closeAll() {
    for (const c of this.clients) {
      try {
        c.sock.close();
      } catch (e) {
        /* already closed */
      }
    }
  }
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const gen = new Generator(o);
  const out = { mode: o.mode, options: o, node: process.version };
  if (o.mode === 'idle') {
    const per = Math.max(1, o.clients);
    event('connecting', { connections: o.connections });
    out.connect = await gen.connectAll(o.connections, (i) => Math.floor(i / per));
    const joined = gen.clients.filter((c) => c.joined).length;
    event('held', { joined });
    await sleep(o.hold * 1000);
    out.held = gen.clients.filter((c) => c.joined && c.connected).length;
    out.joined = joined;
    event('hold_end', { held: out.held });
    out.disconnect_reasons = gen.disconnectReasons;
    out.generator_rss_mb = process.memoryUsage().rss / 1048576;
    out.http_connections = sharedAgent ? sharedAgent.opened : null; // polling only
    out.passed = out.held === o.connections;
  } else {
    const total = o.rooms * o.clients;
    gen.receiversPerRoom = new Array(o.rooms).fill(o.clients - 1);
    event('connecting', { connections: total });
    out.connect = await gen.connectAll(total, (i) => i % o.rooms);
    // receivers per room = joined members - 1 (expected counts only real receivers)
    const perRoom = new Array(o.rooms).fill(0);
    for (const c of gen.clients) if (c.joined) perRoom[c.room]++;
    gen.receiversPerRoom = perRoom.map((n) => Math.max(0, n - 1));
    event('joined', { joined: out.connect.joined });
    await sleep(300); // let presence broadcasts of the joins settle
    out.phases = [];
    if (o.mode === 'ramp') {
      let retakes = 0;
      // one step; a failing step that other processes disturbed is recorded as such and run again
      const step = async (rate) => {
        let r = await gen.runPhase(out.phases.length, rate);
        while (!r.passed && retakes < o.retakes && r.others_cpu_pct > o.maxOthers) {
          retakes++;
          r.disturbed = true;
          out.phases.push(r);
          event('phase', { phase: r.phase, rate, others_cpu_pct: r.others_cpu_pct, disturbed: true });
          await sleep(o.settle * 1000);
          r = await gen.runPhase(out.phases.length, rate);
          r.retaken = true;
        }
        return r;
      };
      let rate = o.rampStart;
      for (let i = 0; rate <= o.rampMax; i++) {
        const r = await step(rate);
        out.phases.push(r);
        event('phase', { phase: i, rate, deliveries_per_s: r.deliveries_per_s, p99: r.latency_ms.p99, passed: r.passed });
        if (!r.passed) break;
        rate = o.rampAdd > 0 ? rate + o.rampAdd : Math.round(rate * o.rampFactor * 100) / 100;
        await sleep(500);
      }
      // refine: bisect (geometrically) between the highest passing and the lowest failing rate
      let lo = out.phases.filter((p) => p.passed).map((p) => p.rate_per_client).pop();
      let hi = out.phases[out.phases.length - 1].passed ? null : out.phases[out.phases.length - 1].rate_per_client;
      for (let k = 0; k < o.rampRefine && lo !== undefined && hi !== null; k++) {
        const mid = Math.round(Math.sqrt(lo * hi) * 100) / 100;
        if (mid <= lo || mid >= hi) break;
        await sleep(o.settle * 1000);
        const r = await step(mid);
        r.refining = true;
        out.phases.push(r);
        event('phase', { phase: r.phase, rate: mid, deliveries_per_s: r.deliveries_per_s, p99: r.latency_ms.p99, passed: r.passed, refining: true });
        if (r.passed) lo = mid;
        else hi = mid;
      }
      const passing = out.phases.filter((p) => p.passed).sort((a, b) => a.rate_per_client - b.rate_per_client);
      const best = passing.length ? passing[passing.length - 1] : null;
      out.ceiling = best
        ? { rate_per_client: best.rate_per_client, deliveries_per_s: best.deliveries_per_s, latency_ms: best.latency_ms }
        : null;
      out.stopped_because = !out.phases.length
        ? 'no phase ran'
        : out.phases.every((p) => p.passed)
          ? 'reached rampMax'
          : o.rampRefine > 0
            ? `a step failed (p99, loss or ack); refined by ${out.phases.filter((p) => p.refining).length} steps`
            : 'last step failed (p99, loss or ack)';
      out.result = best || out.phases[out.phases.length - 1];
    } else {
      out.result = await gen.runPhase(0, o.rate);
      out.phases.push(out.result);
    }
    out.passed = out.phases.length > 0 && out.result.losses === 0 && out.result.acks_missing === 0 && out.result.ack_errors === 0;
    out.not_sent_disconnected = gen.notSent;
    out.late_or_stray = gen.lateOrStray;
    out.late_acks = gen.lateAcks;
    out.disconnect_reasons = gen.disconnectReasons;
    out.server_errors = gen.serverErrors;
    out.generator_rss_mb = process.memoryUsage().rss / 1048576;
    out.http_connections = sharedAgent ? sharedAgent.opened : null; // polling only
  }
  gen.closeAll();
  process.stdout.write(JSON.stringify(out) + '\n');
  setTimeout(() => process.exit(0), 200);
}

main().catch((err) => {
  process.stderr.write('loadgen: ' + (err && err.stack ? err.stack : err) + '\n');
  process.exit(2);
});
