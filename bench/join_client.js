#!/usr/bin/env node
// Join times of a note as the browser's library sees them: socket.io-client under Node.
//
// Each sample is a fresh connection over one transport, then `join` {note} timed from
// the emit to the decoded ack (socket.io-client's own parser, JSON.parse of the whole
// state), then a disconnect: what a page pays to open a note, less drawing it.
//
// Usage: node join_client.js --url http://127.0.0.1:5000 --note big10000 --transport websocket --joins 5
// Output: ONE JSON object on stdout: {"seconds": [...], "strokes": [...], "failures": n, "error": "..."}
'use strict';

const { io } = require('socket.io-client');

function option(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

const url = option('url', 'http://127.0.0.1:5000');
const note = option('note', 'big10000');
const transport = option('transport', 'websocket');
const joins = Number(option('joins', '5'));
const namespace = option('namespace', '/notes');

function oneJoin() {
  return new Promise((resolve, reject) => {
    const socket = io(url + namespace, { transports: [transport], reconnection: false, forceNew: true });
    const fail = (err) => { socket.close(); reject(err); };
    socket.on('connect_error', fail);
    socket.on('connect', () => {
      const t0 = process.hrtime.bigint();
      socket.timeout(300000).emit('join', { note }, (err, ack) => {
        const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
        socket.close();
        if (err) return reject(err);
        if (!ack || ack.ok !== true) return reject(new Error(`join refused: ${JSON.stringify(ack).slice(0, 200)}`));
        resolve({ seconds, strokes: (ack.strokes || []).length });
      });
    });
  });
}

(async () => {
  const out = { seconds: [], strokes: [], failures: 0 };
  for (let i = 0; i < joins; i++) {
    try {
      const got = await oneJoin();
      out.seconds.push(got.seconds);
      out.strokes.push(got.strokes);
    } catch (err) {
      out.failures += 1;
      out.error = String(err && err.message || err).slice(0, 300);
    }
  }
  process.stdout.write(JSON.stringify(out) + '\n');
})();
