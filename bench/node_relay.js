#!/usr/bin/env node
// The Node socket.io relay: what a JavaScript team would write. Same namespace
// (/notes) and events as collab's contract, in memory, nothing validated or
// stored: `join` enters the room and acks; `stroke` numbers the op, broadcasts
// it to the rest of the room and acks {ok: true, seq}.
//
//   node bench/node_relay.js --port 5002 [--parser msgpack]
//
// --parser msgpack: socket.io-msgpack-parser instead of the default JSON parser
// (clients must use it too: the load generator's --parser msgpack).
'use strict';

const http = require('http');
const { Server } = require('socket.io');

let port = 5002;
let host = '127.0.0.1';
let parser = 'json';
for (let i = 2; i < process.argv.length; i++) {
  if (process.argv[i] === '--port') port = Number(process.argv[++i]);
  else if (process.argv[i] === '--host') host = process.argv[++i];
  else if (process.argv[i] === '--parser') parser = process.argv[++i];
}
if (parser !== 'json' && parser !== 'msgpack') throw new Error(`--parser must be json or msgpack, not ${parser}`);

const server = http.createServer((req, res) => {
  if (req.url === '/healthz') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{"ok":true}');
  } else {
    res.writeHead(404);
    res.end();
  }
});
const ioServer = new Server(server, {
  maxHttpBufferSize: 1e6,
  ...(parser === 'msgpack' ? { parser: require('socket.io-msgpack-parser') } : {}),
});
const seqs = new Map();

ioServer.of('/notes').on('connection', (socket) => {
  socket.on('join', (data, ack) => {
    socket.join(data.note);
    if (typeof ack === 'function') ack({ ok: true, seq: seqs.get(data.note) || 0, peer: socket.id, strokes: [] });
  });
  socket.on('stroke', (data, ack) => {
    const seq = (seqs.get(data.note) || 0) + 1;
    seqs.set(data.note, seq);
    socket.to(data.note).emit('stroke', { ...data, type: 'stroke', seq, peer: socket.id });
    if (typeof ack === 'function') ack({ ok: true, seq });
  });
});

server.listen(port, host, () => process.stderr.write(`node relay: http://${host}:${port}/\n`));
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => process.exit(0));
