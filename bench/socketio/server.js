'use strict';
// bench/socketio/server.js — the Socket.IO side of bench/compare.
//
// One Socket.IO 4.8 node of a cluster joined through @socket.io/redis-adapter
// (the `redis` npm client, one publisher and one subscriber connection), doing
// what a gateway node does for the comparison and nothing more:
//
//   - a client connects with auth {token: JWT} (HS256, claim sub = user id,
//     the same tokens the gateway takes) and query ?lobby=NAME; a missing or
//     bad token is refused by the middleware;
//   - the socket joins room LOBBY;
//   - `broadcast` DATA from a member becomes `message` {lobby, from, data} to
//     every other member of the room on every node (socket.to(room): the
//     sender excluded, as the gateway does without `echo`).
//
// Usage: node server.js --host H --port P --redis redis://H:P --jwt-secret S
//        [--node-id NAME]
// Prints "ready NODE-ID" on stdout once it listens and both Redis
// connections are up; exits on SIGTERM/SIGINT after closing them.

const http = require('http');
const crypto = require('crypto');
const { Server } = require('socket.io');
const { createAdapter } = require('@socket.io/redis-adapter');
const { createClient } = require('redis');

function parseArgs(argv) {
  const o = { host: '127.0.0.1', port: 0, redis: '', jwtSecret: '', nodeId: 'sio' };
  for (let i = 0; i < argv.length; i += 2) {
    const k = argv[i], v = argv[i + 1];
    if (v === undefined) throw new Error(`${k}: missing value`);
    switch (k) {
      case '--host': o.host = v; break;
      case '--port': o.port = Number(v); break;
      case '--redis': o.redis = v; break;
      case '--jwt-secret': o.jwtSecret = v; break;
      case '--node-id': o.nodeId = v; break;
      default: throw new Error(`unknown option ${k}`);
    }
  }
  if (!o.port || !o.redis || !o.jwtSecret) throw new Error('--port, --redis and --jwt-secret are required');
  return o;
}

// HS256 verification with node's crypto: the gateway checks a token on every
// connect, so this server does too (no extra package, constant-time compare).
// Returns the user id (sub) or null: unreadable means refused.
function verifyJwt(token, secret) {
  if (typeof token !== 'string') return null;
  const parts = token.split('.');
  if (parts.length !== 3) return null;
  let header, claims;
  try {
    header = JSON.parse(Buffer.from(parts[0], 'base64url').toString());
    claims = JSON.parse(Buffer.from(parts[1], 'base64url').toString());
  } catch (e) {
    return null;
  }
  if (!header || header.alg !== 'HS256') return null;
  const want = crypto.createHmac('sha256', secret).update(`${parts[0]}.${parts[1]}`).digest();
  const got = Buffer.from(parts[2], 'base64url');
  if (got.length !== want.length || !crypto.timingSafeEqual(got, want)) return null;
  if (!claims || typeof claims.sub !== 'string' || claims.sub.length < 1 || claims.sub.length > 128) return null;
  if (typeof claims.exp === 'number' && claims.exp * 1000 < Date.now()) return null;
  return claims.sub;
}

const LOBBY_RE = /^[A-Za-z0-9_.:-]{1,64}$/;

async function main() {
  const opt = parseArgs(process.argv.slice(2));
  const pub = createClient({ url: opt.redis });
  const sub = pub.duplicate();
  pub.on('error', (e) => console.error(`redis pub: ${e.message}`));
  sub.on('error', (e) => console.error(`redis sub: ${e.message}`));
  await Promise.all([pub.connect(), sub.connect()]);

  const httpServer = http.createServer((req, res) => {
    if (req.url === '/healthz') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"status":"ok"}');
      return;
    }
    res.writeHead(404);
    res.end();
  });
  const io = new Server(httpServer, {
    adapter: createAdapter(pub, sub),
    serveClient: false,
    // Both systems speak plain WebSocket to the benchmark clients.
    transports: ['websocket'],
  });

  io.use((socket, next) => {
    const user = verifyJwt(socket.handshake.auth && socket.handshake.auth.token, opt.jwtSecret);
    const lobby = socket.handshake.query.lobby;
    if (!user) return next(new Error('unauthorized'));
    if (typeof lobby !== 'string' || !LOBBY_RE.test(lobby)) return next(new Error('bad_lobby'));
    socket.data.user = user;
    socket.data.lobby = lobby;
    next();
  });

  io.on('connection', (socket) => {
    const { user, lobby } = socket.data;
    socket.join(lobby);
    socket.on('broadcast', (data) => {
      socket.to(lobby).emit('message', { lobby, from: user, data });
    });
  });

  await new Promise((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen(opt.port, opt.host, resolve);
  });
  process.stdout.write(`ready ${opt.nodeId}\n`);

  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    // Bounded: whatever hangs, the process is gone within 3 s.
    setTimeout(() => process.exit(0), 3000).unref();
    io.close(() => {
      Promise.allSettled([pub.quit(), sub.quit()]).then(() => process.exit(0));
    });
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((e) => {
  console.error(`socketio server: ${e.message}`);
  process.exit(1);
});
