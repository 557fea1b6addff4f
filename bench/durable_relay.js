#!/usr/bin/env node
// The durable Node peer: what a JavaScript team would write when every stroke must
// survive a crash. socket.io + better-sqlite3 (WAL, synchronous = NORMAL, as
// collab's default SQLite store): each stroke is inserted with the next per-note
// seq in one transaction; only after its commit is it acked {ok, seq} and then
// broadcast to the rest of the room. `join` {note, since?} reads the note back:
// its strokes (or the ops after `since`) in seq order, in the ack's `strokes`
// (`ops`), as collab's contract says. Same namespace (/notes) and events as collab
// for what the load generator uses: join, stroke (a known id is acked with its
// first seq and `duplicate: true`), leave. Nothing else of the contract.
//
//   node bench/durable_relay.js --port 5003 [--db /tmp/durable.db] [--synchronous NORMAL|FULL|OFF]
//
// better-sqlite3 is synchronous: the commit runs on the event loop, as it would in
// such a team's server (no worker thread, no group commit).
'use strict';

const http = require('http');
const path = require('path');
const os = require('os');
const { Server } = require('socket.io');
const Database = require('better-sqlite3');

const opts = { port: 5003, host: '127.0.0.1', db: path.join(os.tmpdir(), `durable-relay-${process.pid}.db`), synchronous: 'NORMAL' };
for (let i = 2; i < process.argv.length; i++) {
  const key = process.argv[i].replace(/^--/, '');
  if (!(key in opts)) throw new Error(`unknown option ${process.argv[i]}: use --port, --host, --db, --synchronous`);
  opts[key] = key === 'port' ? Number(process.argv[++i]) : process.argv[++i];
}
if (!['NORMAL', 'FULL', 'OFF'].includes(opts.synchronous)) throw new Error('--synchronous must be NORMAL, FULL or OFF');

// -- the store -------------------------------------------------------------------
const db = new Database(opts.db);
db.pragma('journal_mode = WAL');
db.pragma(`synchronous = ${opts.synchronous}`);
db.exec(`
  CREATE TABLE IF NOT EXISTS notes (id TEXT PRIMARY KEY, seq INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;
  CREATE TABLE IF NOT EXISTS strokes (
    note TEXT NOT NULL, seq INTEGER NOT NULL, id TEXT NOT NULL, op TEXT NOT NULL,
    PRIMARY KEY (note, seq)
  );
  CREATE UNIQUE INDEX IF NOT EXISTS strokes_id ON strokes (note, id);
`);
const q = {
  createNote: db.prepare('INSERT OR IGNORE INTO notes (id) VALUES (?)'),
  noteSeq: db.prepare('SELECT seq FROM notes WHERE id = ?').pluck(),
  bumpSeq: db.prepare('UPDATE notes SET seq = seq + 1 WHERE id = ? RETURNING seq').pluck(),
  known: db.prepare('SELECT seq FROM strokes WHERE note = ? AND id = ?').pluck(),
  insert: db.prepare('INSERT INTO strokes (note, seq, id, op) VALUES (?, ?, ?, ?)'),
  since: db.prepare('SELECT op FROM strokes WHERE note = ? AND seq > ? ORDER BY seq').pluck(),
};
// one transaction per stroke: the next seq of the note, the row; returns [op, duplicateSeq]
const storeStroke = db.transaction((note, item, peer) => {
  const dup = q.known.get(note, item.id);
  if (dup !== undefined) return [null, dup];
  const seq = q.bumpSeq.get(note);
  const op = { type: 'stroke', seq, peer, ...item };
  q.insert.run(note, seq, item.id, JSON.stringify(op));
  return [op, null];
});
const openNote = db.transaction((note, since) => {
  q.createNote.run(note);
  return { seq: q.noteSeq.get(note), rows: q.since.all(note, since) };
});

// -- validation (what the load generator sends; collab checks far more) ------------
const NOTE_RE = /^[A-Za-z0-9_-]{1,64}$/;
const error = (code, message) => ({ ok: false, error: { code, message } });
function strokeItem(data) {
  if (typeof data.id !== 'string' || data.id.length < 1 || data.id.length > 64) return null;
  if (!Array.isArray(data.points) || data.points.length < 1 || data.points.length > 5000) return null;
  const item = { tool: 'pen', ...data };
  delete item.note;
  return item;
}

// -- the server ------------------------------------------------------------------
const server = http.createServer((req, res) => {
  if (req.url === '/healthz') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{"ok":true}');
  } else {
    res.writeHead(404);
    res.end();
  }
});
const ioServer = new Server(server, { maxHttpBufferSize: 1e6 });

ioServer.of('/notes').on('connection', (socket) => {
  const reply = (ack, value) => typeof ack === 'function' && ack(value);
  socket.on('join', (data, ack) => {
    const note = data && data.note;
    if (typeof note !== 'string' || !NOTE_RE.test(note)) return reply(ack, error('bad_request', 'note'));
    const since = data.since;
    if (since !== undefined && !(Number.isInteger(since) && since >= 0)) return reply(ack, error('bad_request', 'since'));
    socket.join(note); // synchronous from here to the ack: no stroke commits between the read and the join
    const { seq, rows } = openNote(note, since === undefined ? 0 : since);
    const ackBody = { ok: true, note: { id: note, title: note, epoch: 'durable' }, seq, peer: socket.id, peers: [], role: 'edit' };
    const parse = (list) => list.map((r) => JSON.parse(r));
    if (since === undefined) ackBody.strokes = parse(rows);
    else if (since <= seq) ackBody.ops = parse(rows);
    else Object.assign(ackBody, { strokes: parse(openNote(note, 0).rows), reset: true });
    reply(ack, ackBody);
  });
  socket.on('leave', (data, ack) => {
    const note = data && data.note;
    if (!socket.rooms.has(note)) return reply(ack, error('not_joined', 'join the note first'));
    socket.leave(note);
    reply(ack, { ok: true });
  });
  socket.on('stroke', (data, ack) => {
    const note = data && data.note;
    if (!socket.rooms.has(note)) return reply(ack, error('not_joined', 'join the note first'));
    const item = strokeItem(data);
    if (item === null) return reply(ack, error('bad_request', 'id or points'));
    const [op, dup] = storeStroke(note, item, socket.id); // committed when this returns
    if (op === null) return reply(ack, { ok: true, seq: dup, duplicate: true });
    reply(ack, { ok: true, seq: op.seq });
    socket.to(note).emit('stroke', { note, ...op });
  });
});

server.listen(opts.port, opts.host, () =>
  process.stderr.write(`durable relay: http://${opts.host}:${opts.port}/ (${opts.db}, synchronous=${opts.synchronous})\n`),
);
for (const sig of ['SIGTERM', 'SIGINT']) {
  process.on(sig, () => {
    db.close(); // checkpoints the WAL
    process.exit(0);
  });
}
