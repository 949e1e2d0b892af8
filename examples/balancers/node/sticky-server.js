#!/usr/bin/env node
// A small cookie balancer of the kind many Node.js guides build: it pins a client to a server
// INDEX with a cookie it sets itself (sticky_server=<index>), not to the session. The session id's
// route means nothing to it, so behind it Tether must run in shared mode (or take sessions over in
// sticky mode). Plain `http` module, no npm dependencies.
//
//   node sticky-server.js <listen-port> <host:port> [<host:port> ...]
//   node sticky-server.js 8080 127.0.0.1:8081 127.0.0.1:8082
//
// - A client without a valid sticky_server cookie gets the next server in turn (round robin).
// - When the client's server refuses the connection (or does not accept it within 2 s), that server
//   is left alone for DOWN_MS, the request goes to the next server, and the answer re-sets the
//   cookie to the server that answered. Every server is tried at most once per request.
// - A request already sent to a server that then dies is NOT resent (it may have been processed):
//   the client gets a 502.
// Tested by examples/failover-tests (NoAffinity*IT), file as is.
'use strict';

const http = require('http');

const cookieName = 'sticky_server';
const DOWN_MS = 3000;
const CONNECT_TIMEOUT_MS = 2000;

const args = process.argv.slice(2);
if (args.length < 2 || !/^\d+$/.test(args[0])) {
  console.error('usage: node sticky-server.js <listen-port> <host:port> [<host:port> ...]');
  process.exit(2);
}
const listenPort = Number(args[0]);
const servers = args.slice(1).map((hp, index) => {
  const colon = hp.lastIndexOf(':');
  if (colon < 1) {
    console.error(`not host:port: ${hp}`);
    process.exit(2);
  }
  return { index, host: hp.slice(0, colon), port: Number(hp.slice(colon + 1)), downUntil: 0 };
});
const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
let next = 0;

function stickyIndex(cookieHeader) {
  const m = /(?:^|;\s*)sticky_server=(\d+)/.exec(cookieHeader || '');
  const i = m ? Number(m[1]) : -1;
  return i >= 0 && i < servers.length ? i : -1;
}

function nextUp(exclude) {
  const now = Date.now();
  for (let n = 0; n < servers.length; n++) {
    const s = servers[next++ % servers.length];
    if (!exclude.has(s.index) && s.downUntil <= now) {
      return s;
    }
  }
  // every server is marked down: try one not tried yet anyway
  return servers.find((s) => !exclude.has(s.index));
}

function isConnectFailure(err) {
  return ['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'CONNECT_TIMEOUT'].includes(err.code);
}

function forward(req, res, body, server, tried, pinned) {
  tried.add(server.index);
  const headers = { ...req.headers, 'x-forwarded-for': req.socket.remoteAddress };
  let connected = false;
  const upstream = http.request({
    host: server.host, port: server.port, method: req.method, path: req.url, headers, agent,
  }, (answer) => {
    const out = { ...answer.headers };
    if (pinned !== server.index) {
      const cookies = [].concat(out['set-cookie'] || []);
      cookies.push(`${cookieName}=${server.index}; Path=/; HttpOnly`);
      out['set-cookie'] = cookies;
    }
    res.writeHead(answer.statusCode, answer.statusMessage, out);
    answer.pipe(res);
    answer.on('error', () => res.destroy());
  });
  upstream.on('socket', (socket) => {
    if (!socket.connecting) {
      connected = true; // a kept-alive connection
      return;
    }
    const timer = setTimeout(() => upstream.destroy(Object.assign(new Error('connect timeout'), { code: 'CONNECT_TIMEOUT' })),
      CONNECT_TIMEOUT_MS);
    socket.once('connect', () => { connected = true; clearTimeout(timer); });
    socket.once('close', () => clearTimeout(timer));
  });
  upstream.on('error', (err) => {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    // A kept-alive connection the server closed before this request reached it counts as refused too:
    // nothing was processed (ECONNRESET with no byte of the answer on a reused socket is ambiguous, so only
    // a failure to connect is retried).
    if (!connected && isConnectFailure(err)) {
      server.downUntil = Date.now() + DOWN_MS;
      console.log(`server ${server.index} (${server.host}:${server.port}) down: ${err.code}`);
      const other = nextUp(tried);
      if (other) {
        forward(req, res, body, other, tried, pinned);
        return;
      }
    }
    res.writeHead(502, { 'content-type': 'text/plain' });
    res.end(`bad gateway: server ${server.index}: ${err.code || err.message}\n`);
  });
  upstream.end(body);
}

const balancer = http.createServer((req, res) => {
  const chunks = [];
  // The whole body first, so that a refused request can be sent to another server.
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks);
    const pinned = stickyIndex(req.headers.cookie);
    const pinnedServer = pinned >= 0 && servers[pinned].downUntil <= Date.now() ? servers[pinned] : null;
    const server = pinnedServer || nextUp(new Set());
    forward(req, res, body, server, new Set(), pinned);
  });
});
balancer.keepAliveTimeout = 60000;
balancer.listen(listenPort, '127.0.0.1', () => {
  console.log(`sticky-server listening on 127.0.0.1:${listenPort}, servers ${servers.map((s) => `${s.host}:${s.port}`).join(' ')}`);
});
for (const sig of ['SIGTERM', 'SIGINT']) {
  process.on(sig, () => process.exit(0));
}
