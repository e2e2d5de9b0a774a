'use strict';
// bench/lib/loadgen.js — the third-party load generator of bench/compare.
//
// One Node process drives N clients of ONE system with that system's stock
// client library: the gateway through `ws` (docs/protocol.md), Socket.IO
// through `socket.io-client` (bench/socketio/server.js). Everything else —
// users, lobbies, pacing, what is counted — is the same code for both, so
// the two figures differ only by the server stack. `--system floor`
// (bench/floor.c, the one-send-per-delivery reference) is driven exactly as
// the gateway, through `ws`.
//
//   client i: user u<i>, lobby cmp-<floor(i / lobby-size)>, node i % nodes
//   (round-robin over the --url list, so every lobby spans every node).
//
// Scenarios:
//   fanout  every lobby gets --rate broadcasts/s, open loop (broadcast m of
//           a lobby is due at t0 + m/rate whatever happened before), sent by
//           its members in turn, each carrying its send time; the other
//           members receive it. Phases: warm-up, measured window, drain.
//           Over the window: the server processes' utime+stime (/proc/PID/stat,
//           --pid) divided by the deliveries received in the window, and the
//           send-to-receive latency of those deliveries.
//   idle    connect N, wait --settle, read the servers' VmRSS: (after −
//           before) / connections.
//
// Prints progress on stderr and one JSON object on stdout. Exit status 0,
// or 1 when not every client connected or a fan-out delivered nothing.
// Every phase is bounded (the connect phase by --connect-timeout), and the
// process exits when the run is over whatever the servers do.

const fs = require('fs');
const crypto = require('crypto');
const { performance } = require('perf_hooks');

const USAGE = `usage: loadgen.js --system gateway|socketio|floor --scenario fanout|idle
  --url URL (repeat: one per node)  --jwt-secret S  --clients N  --lobby-size K
  [--rate R] [--payload B] [--warmup S] [--duration S] [--drain S] [--settle S]
  [--pid PID]... [--redis-pid PID] [--clk-tck HZ] [--inflight N]
  [--connect-timeout S] [--label TEXT]`;

function parseArgs(argv) {
  const o = {
    system: '', scenario: '', urls: [], jwtSecret: '', clients: 0, lobbySize: 0,
    rate: 20, payload: 64, warmup: 5, duration: 10, drain: 2, settle: 3,
    pids: [], redisPid: 0, clkTck: 100, inflight: 100, connectTimeout: 120, label: '',
  };
  const num = (k, v) => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0) throw new Error(`${k}: not a number: ${v}`);
    return n;
  };
  for (let i = 0; i < argv.length; i += 2) {
    const k = argv[i], v = argv[i + 1];
    if (v === undefined) throw new Error(`${k}: missing value`);
    switch (k) {
      case '--system': o.system = v; break;
      case '--scenario': o.scenario = v; break;
      case '--url': o.urls.push(v.replace(/\/+$/, '')); break;
      case '--jwt-secret': o.jwtSecret = v; break;
      case '--clients': o.clients = num(k, v); break;
      case '--lobby-size': o.lobbySize = num(k, v); break;
      case '--rate': o.rate = num(k, v); break;
      case '--payload': o.payload = num(k, v); break;
      case '--warmup': o.warmup = num(k, v); break;
      case '--duration': o.duration = num(k, v); break;
      case '--drain': o.drain = num(k, v); break;
      case '--settle': o.settle = num(k, v); break;
      case '--pid': o.pids.push(num(k, v)); break;
      case '--redis-pid': o.redisPid = num(k, v); break;
      case '--clk-tck': o.clkTck = num(k, v); break;
      case '--inflight': o.inflight = num(k, v); break;
      case '--connect-timeout': o.connectTimeout = num(k, v); break;
      case '--label': o.label = v; break;
      default: throw new Error(`unknown option ${k}\n${USAGE}`);
    }
  }
  if (!['gateway', 'socketio', 'floor'].includes(o.system)) throw new Error(`--system gateway|socketio|floor\n${USAGE}`);
  if (!['fanout', 'idle'].includes(o.scenario)) throw new Error(`--scenario fanout|idle\n${USAGE}`);
  if (!o.urls.length || !o.jwtSecret || !o.clients || !o.lobbySize) throw new Error(USAGE);
  if (o.lobbySize < 2 || o.clients % o.lobbySize) throw new Error('--clients must be a multiple of --lobby-size (>= 2)');
  if (o.scenario === 'fanout' && !(o.rate > 0)) throw new Error('--rate must be > 0');
  o.inflight = Math.max(1, Math.floor(o.inflight));
  return o;
}

const log = (msg) => process.stderr.write(`loadgen: ${msg}\n`);

// --- server-side readings (/proc) ------------------------------------------

// utime + stime of one process, all its threads, in clock ticks.
function procTicks(pid) {
  const s = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
  return Number(f[11]) + Number(f[12]); // fields 14 and 15 of stat(5)
}
function procRssKb(pid) {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`pid ${pid}: no VmRSS (exited?)`);
  return Number(m[1]);
}
// The whole machine from /proc/stat's first line: [busy, softirq, total].
function machineTicks() {
  const f = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const total = f.slice(0, 8).reduce((a, b) => a + b, 0); // guest is inside user
  const idle = f[3] + f[4];
  return [total - idle, f[6], total];
}
const sum = (a) => a.reduce((x, y) => x + y, 0);

// --- tokens ----------------------------------------------------------------

function jwt(sub, secret) {
  const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const head = b64({ alg: 'HS256', typ: 'JWT' });
  const body = b64({ sub, iat: Math.floor(Date.now() / 1000), exp: Math.floor(Date.now() / 1000) + 3600 });
  const sig = crypto.createHmac('sha256', secret).update(`${head}.${body}`).digest('base64url');
  return `${head}.${body}.${sig}`;
}

// --- the two client adapters ---------------------------------------------
//
// open(i, url, lobby, user, token, ev) starts one connection and returns
// {send(data), close()}; it calls ev.up() once admitted (gateway: `welcome`;
// Socket.IO: `connect`), ev.msg(data) for every lobby message, ev.down(why)
// when it fails or closes. Only the library's own API is used.

function gatewayAdapter() {
  const WebSocket = require('ws');
  return (url, lobby, user, token, ev) => {
    const ws = new WebSocket(`${url}/ws/${lobby}?token=${token}`, { perMessageDeflate: false });
    ws.on('message', (buf, isBinary) => {
      if (isBinary) return;
      const m = JSON.parse(buf.toString());
      switch (m.type) {
        case 'message': ev.msg(m.data); break;
        case 'welcome': ev.up(); break;
        case 'health_ping': ws.send(JSON.stringify({ type: 'health_pong', timestamp: m.timestamp })); break;
        default: break; // presence events, gaps: not part of the figures
      }
    });
    ws.on('close', (code, reason) => ev.down(`close ${code} ${reason}`));
    ws.on('error', (e) => ev.down(e.message));
    return {
      send: (data) => ws.send(JSON.stringify({ type: 'broadcast', data })),
      close: () => ws.terminate(),
    };
  };
}

function socketioAdapter() {
  const { io } = require('socket.io-client');
  return (url, lobby, user, token, ev) => {
    const s = io(url, {
      transports: ['websocket'], forceNew: true, reconnection: false,
      auth: { token }, query: { lobby }, timeout: 30000,
    });
    s.on('connect', () => ev.up());
    s.on('message', (m) => ev.msg(m.data));
    s.on('connect_error', (e) => ev.down(e.message));
    s.on('disconnect', (why) => ev.down(why));
    return {
      send: (data) => s.emit('broadcast', data),
      close: () => s.disconnect(),
    };
  };
}

// --- connecting --------------------------------------------------------------

// Opens opt.clients connections, at most opt.inflight handshakes at a time.
// Resolves with {clients, connectS, failed, firstError} once every one is up
// or has failed, or when --connect-timeout passes.
function connectAll(opt, open, onMsg) {
  const clients = new Array(opt.clients);
  let next = 0, up = 0, failed = 0, inflight = 0, firstError = '';
  const t0 = performance.now();
  return new Promise((resolve) => {
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      clearInterval(progress);
      resolve({ clients, connectS: (performance.now() - t0) / 1000, failed, firstError, up });
    };
    const timer = setTimeout(() => {
      firstError = firstError || `connect timeout after ${opt.connectTimeout} s`;
      failed += opt.clients - up - failed;
      finish();
    }, opt.connectTimeout * 1000);
    const progress = setInterval(() => log(`connecting: ${up} up, ${failed} failed of ${opt.clients}`), 2000);
    const pump = () => {
      while (inflight < opt.inflight && next < opt.clients) {
        const i = next++;
        const lobbyIdx = Math.floor(i / opt.lobbySize);
        const user = `u${i}`;
        const c = { i, lobbyIdx, up: false, down: false, conn: null };
        clients[i] = c;
        inflight++;
        c.conn = open(opt.urls[i % opt.urls.length], `cmp-${lobbyIdx}`, user, jwt(user, opt.jwtSecret), {
          up: () => {
            if (c.up || c.down) return;
            c.up = true; up++; inflight--;
            if (up + failed === opt.clients) finish(); else pump();
          },
          msg: onMsg,
          down: (why) => {
            if (c.down) return;
            c.down = true;
            if (!c.up) {
              inflight--; failed++;
              firstError = firstError || `client ${i}: ${why}`;
              if (up + failed === opt.clients) finish(); else pump();
            } else if (!stopping) {
              lost++;
              lostWhy = lostWhy || `client ${i}: ${why}`;
            }
          },
        });
      }
    };
    pump();
  });
}

let stopping = false; // set before we close clients ourselves
let lost = 0, lostWhy = ''; // connections that dropped after being admitted

function closeAll(clients) {
  stopping = true;
  for (const c of clients) if (c && c.conn) { try { c.conn.close(); } catch (e) { /* already gone */ } }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function percentile(sorted, p) {
  if (!sorted.length) return null;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}

// --- scenarios ---------------------------------------------------------------

async function runFanout(opt, open) {
  const K = opt.lobbySize, lobbies = opt.clients / K;
  const pad = 'x'.repeat(Math.max(0, opt.payload - 40)); // data ≈ payload bytes of JSON
  let win0 = Infinity, win1 = Infinity; // measured window, performance.now() ms
  // recvWin: received in the window (the CPU figure's divisor);
  // recvOfWin: received by the end of the drain of those SENT in the
  // window (exact loss: expected_window - recvOfWin).
  let recvAll = 0, recvWin = 0, recvOfWin = 0, sentAll = 0, sentWin = 0;
  let lat = new Float64Array(1 << 16), nlat = 0;
  const onMsg = (d) => {
    const now = performance.now();
    recvAll++;
    if (d.t >= win0 && d.t < win1) recvOfWin++;
    if (now >= win0 && now < win1) {
      recvWin++;
      if (nlat === lat.length) { const b = new Float64Array(lat.length * 2); b.set(lat); lat = b; }
      lat[nlat++] = now - d.t;
    }
  };

  const cr = await connectAll(opt, open, onMsg);
  log(`${cr.up} connected in ${cr.connectS.toFixed(1)} s, ${cr.failed} failed`);
  if (cr.failed) return { ok: false, error: `connect: ${cr.firstError}`, connected: cr.up, failed: cr.failed, clients: cr.clients };
  await sleep(500);

  // Open-loop pacing: lobby l's broadcast m is due at t0 + (l/L + m)/rate.
  const period = 1000 / opt.rate;
  const t0 = performance.now() + 50;
  const stopAt = t0 + (opt.warmup + opt.duration) * 1000;
  win0 = t0 + opt.warmup * 1000;
  win1 = stopAt;
  const nextDue = Array.from({ length: lobbies }, (_, l) => t0 + (l / lobbies) * period);
  const seq = new Array(lobbies).fill(0);
  let maxLag = 0;
  let before = null, after = null;

  await new Promise((resolve) => {
    const tick = () => {
      const now = performance.now();
      if (before === null && now >= win0) before = snapshot(opt);
      if (now >= stopAt) {
        after = snapshot(opt);
        clearInterval(iv);
        clearInterval(progress);
        resolve();
        return;
      }
      for (let l = 0; l < lobbies; l++) {
        while (nextDue[l] <= now && nextDue[l] < stopAt) {
          const m = seq[l]++;
          const sender = cr.clients[l * K + (m % K)];
          maxLag = Math.max(maxLag, now - nextDue[l]);
          // The send time is when it is due (open loop): a generator that
          // falls behind shows as latency, not as a lower rate.
          sender.conn.send({ t: nextDue[l], n: m, p: pad });
          sentAll++;
          if (nextDue[l] >= win0) sentWin++;
          nextDue[l] += period;
        }
      }
    };
    const iv = setInterval(tick, 2);
    const progress = setInterval(() => log(`fanout: sent ${sentAll}, received ${recvAll}`), 2000);
  });
  // A fixed drain: late deliveries still count in the total, not the window.
  await sleep(opt.drain * 1000);
  lat = lat.subarray(0, nlat).sort();
  const winS = (win1 - win0) / 1000;
  const cpuTicks = sum(opt.pids.map((p, k) => after.pid[k] - before.pid[k]));
  const cpuS = cpuTicks / opt.clkTck;
  const redisS = opt.redisPid ? (after.redis - before.redis) / opt.clkTck : null;
  const m = after.machine.map((v, k) => v - before.machine[k]);
  const expectedWin = sentWin * (K - 1);
  return {
    ok: recvWin > 0,
    error: recvWin > 0 ? '' : 'no deliveries in the measured window',
    connected: cr.up, connect_s: cr.connectS, clients: cr.clients,
    lobbies, lobby_size: K, rate: opt.rate, payload: opt.payload,
    warmup_s: opt.warmup, window_s: winS,
    sent_total: sentAll, sent_window: sentWin,
    received_total: recvAll, received_window: recvWin,
    expected_total: sentAll * (K - 1), expected_window: expectedWin,
    received_of_window: recvOfWin,
    delivered_window_pct: expectedWin ? (100 * recvOfWin) / expectedWin : null,
    deliveries_per_s: recvWin / winS,
    server_cpu_s: cpuS,
    server_cpu_pct: (100 * cpuS) / winS,
    server_cpu_us_per_delivery: recvWin ? (1e6 * cpuS) / recvWin : null,
    per_node_cpu_s: opt.pids.map((p, k) => (after.pid[k] - before.pid[k]) / opt.clkTck),
    redis_cpu_s: redisS,
    stack_cpu_us_per_delivery: recvWin && redisS !== null ? (1e6 * (cpuS + redisS)) / recvWin : null,
    loadgen_cpu_pct: (100 * ((after.self.user + after.self.system) - (before.self.user + before.self.system)) / 1e6) / winS,
    machine_busy_pct: m[2] ? (100 * m[0]) / m[2] : null,
    machine_softirq_pct: m[2] ? (100 * m[1]) / m[2] : null,
    sender_max_lag_ms: maxLag,
    latency_ms: { p50: percentile(lat, 0.5), p99: percentile(lat, 0.99), p999: percentile(lat, 0.999), max: nlat ? lat[nlat - 1] : null },
  };
}

function snapshot(opt) {
  return {
    pid: opt.pids.map(procTicks),
    redis: opt.redisPid ? procTicks(opt.redisPid) : 0,
    machine: machineTicks(),
    self: process.cpuUsage(),
  };
}

async function runIdle(opt, open) {
  const rssBefore = opt.pids.map(procRssKb);
  let msgs = 0;
  const cr = await connectAll(opt, open, () => { msgs++; });
  log(`${cr.up} connected in ${cr.connectS.toFixed(1)} s, ${cr.failed} failed; settling ${opt.settle} s`);
  if (cr.failed) return { ok: false, error: `connect: ${cr.firstError}`, connected: cr.up, failed: cr.failed, clients: cr.clients };
  await sleep(opt.settle * 1000);
  const rssAfter = opt.pids.map(procRssKb);
  const deltaKb = sum(rssAfter) - sum(rssBefore);
  return {
    ok: true, error: '', connected: cr.up, connect_s: cr.connectS, clients: cr.clients,
    lobbies: opt.clients / opt.lobbySize, lobby_size: opt.lobbySize,
    connects_per_s: cr.up / cr.connectS,
    rss_before_kb: rssBefore, rss_after_kb: rssAfter,
    rss_delta_kb: deltaKb,
    rss_bytes_per_connection: (deltaKb * 1024) / cr.up,
  };
}

async function main() {
  const opt = parseArgs(process.argv.slice(2));
  // bench/floor.c speaks the gateway's protocol: the same `ws` client.
  const open = opt.system === 'socketio' ? socketioAdapter() : gatewayAdapter();
  // Hard stop: whatever the servers do, this process ends.
  const budget = opt.connectTimeout + opt.warmup + opt.duration + opt.drain + opt.settle + 30;
  setTimeout(() => { log(`run exceeded ${budget} s; giving up`); process.exit(1); }, budget * 1000).unref();

  const res = opt.scenario === 'fanout' ? await runFanout(opt, open) : await runIdle(opt, open);
  const clients = res.clients;
  delete res.clients;
  res.dropped_after_connect = lost;
  if (lost) res.dropped_why = lostWhy;
  closeAll(clients);
  const out = { system: opt.system, scenario: opt.scenario, label: opt.label, clients: opt.clients, nodes: opt.urls.length, ...res };
  process.stdout.write(`${JSON.stringify(out)}\n`);
  // Let the closes reach the wire, then leave (socket.io-client keeps timers).
  setTimeout(() => process.exit(res.ok ? 0 : 1), 300);
}

main().catch((e) => {
  log(e.message);
  process.exit(2);
});
