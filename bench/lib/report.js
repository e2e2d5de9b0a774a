'use strict';
// bench/lib/report.js RESULTS.jsonl — bench/compare's summary.
//
// Reads the JSON lines loadgen.js printed (one per run; `label` is the
// network mode) and prints, per scenario and mode, median [min–max] over the
// runs of each system and the ratio Socket.IO / gateway of the medians (> 1:
// the gateway costs less). When `floor` (bench/floor.c) was run too, its
// column is added and, for the fan-out, each system's CPU per delivery minus
// the floor's (its own work above one send(2) per delivery) and its ratio to
// the floor (medians); Socket.IO ÷ floor is the best ratio against Socket.IO
// that any server could reach on this machine. Failed runs are listed and
// left out of the figures. Exit status 1 when a system that was run has no good run in a
// (scenario, mode), or when a fan-out run fell behind.

const fs = require('fs');

const FANOUT = [
  ['server CPU per delivery, nodes (µs)', (r) => r.server_cpu_us_per_delivery, 2],
  ['  + Redis (µs)', (r) => r.stack_cpu_us_per_delivery, 2],
  ['latency p50 (ms)', (r) => r.latency_ms.p50, 2],
  ['latency p99 (ms)', (r) => r.latency_ms.p99, 2],
  ['deliveries/s in the window', (r) => r.deliveries_per_s, 0],
  ['delivered of expected (%)', (r) => r.delivered_window_pct, 1],
  ['server nodes CPU (% of a core)', (r) => r.server_cpu_pct, 1],
  ['load generator CPU (% of a core)', (r) => r.loadgen_cpu_pct, 1],
  ['generator send lag, max (ms)', (r) => r.sender_max_lag_ms, 0],
  ['machine busy (% of all CPUs)', (r) => r.machine_busy_pct, 1],
];
const IDLE = [
  ['RSS per connection (bytes)', (r) => r.rss_bytes_per_connection, 0],
  ['RSS added, all nodes (MiB)', (r) => r.rss_delta_kb / 1024, 1],
  ['connects/s', (r) => r.connects_per_s, 0],
];
// A fan-out run "kept up" when, by the end of its drain, clients had received
// at least this share of what was broadcast in the window. A run that fell
// behind (the stack, the generator or a starved machine) spreads its work
// over a backlog: its CPU per delivery and latency say little about cost.
const KEPT_UP_PCT = 99;
const keptUp = (r) => r.scenario !== 'fanout' || r.delivered_window_pct >= KEPT_UP_PCT;

// Metrics whose ratio is printed (costs: Socket.IO / gateway).
const RATIO = new Set(['server CPU per delivery, nodes (µs)', '  + Redis (µs)', 'latency p50 (ms)',
  'latency p99 (ms)', 'RSS per connection (bytes)']);

function median(v) {
  const s = [...v].sort((a, b) => a - b);
  const n = s.length;
  return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}
function fmt(x, d) {
  if (x === null || x === undefined || !Number.isFinite(x)) return '–';
  return x.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });
}
function cell(vals, d) {
  const v = vals.filter((x) => x !== null && x !== undefined && Number.isFinite(x));
  if (!v.length) return '–';
  if (v.length === 1) return fmt(v[0], d);
  return `${fmt(median(v), d)} [${fmt(Math.min(...v), d)}–${fmt(Math.max(...v), d)}]`;
}

const SYSTEMS = ['socketio', 'gateway', 'floor'];
const NAME = { socketio: 'Socket.IO 4.8 + redis-adapter', gateway: 'gateway', floor: 'floor (bench/floor.c)' };

function main() {
  const file = process.argv[2];
  if (!file) { console.error('usage: report.js RESULTS.jsonl'); process.exit(2); }
  const rows = fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
  const groups = new Map();
  for (const r of rows) {
    const k = `${r.scenario}\t${r.label}`;
    if (!groups.has(k)) groups.set(k, []);
    groups.get(k).push(r);
  }
  let rc = 0;
  for (const [k, rs] of groups) {
    const [scenario, mode] = k.split('\t');
    const first = rs[0];
    const title = scenario === 'fanout'
      ? `Scenario A (fan-out): ${first.clients} clients, ${first.clients / (first.lobby_size || 1)} lobbies × ${first.lobby_size}, ${first.rate} msg/s per lobby, ${first.nodes} nodes + Redis`
      : `Scenario B (idle): ${first.clients} clients, ${first.clients / (first.lobby_size || 1)} lobbies × ${first.lobby_size}, ${first.nodes} nodes + Redis`;
    const good = {};
    for (const sys of SYSTEMS) good[sys] = rs.filter((r) => r.system === sys && r.ok);
    const shown = SYSTEMS.filter((sys) => rs.some((r) => r.system === sys));
    const floorNote = shown.includes('floor') ? ' (floor: 1 process on 3 ports, no Redis)' : '';
    console.log(`\n== ${title}${floorNote}; network: ${mode}; runs: ${shown.map((sys) => `${NAME[sys]} ${good[sys].length}`).join(', ')} (median [min–max])`);
    for (const r of rs.filter((x) => !x.ok)) console.log(`   FAILED run (${r.system}): ${r.error}`);
    // Every system that was run needs at least one good run.
    for (const sys of shown) if (!good[sys].length) rc = 1;
    const metrics = scenario === 'fanout' ? FANOUT : IDLE;
    const w0 = Math.max(...metrics.map((m) => m[0].length), 'own work: minus the floor (µs)'.length) + 2;
    const line = (a, cells, ratio) => console.log(`  ${a.padEnd(w0)}${cells.map((c) => c.padEnd(32)).join('')}${ratio}`);
    const both = shown.includes('socketio') && shown.includes('gateway');
    line('', shown.map((sys) => NAME[sys]), both ? 'ratio SIO/gw' : '');
    const ratios = [];
    for (const [name, get, d] of metrics) {
      const sv = good.socketio.map(get), gv = good.gateway.map(get);
      let ratio = '';
      if (both && RATIO.has(name) && sv.length && gv.length) {
        const q = median(sv) / median(gv);
        ratio = Number.isFinite(q) ? `${q.toFixed(2)}×` : '';
        if (ratio) ratios.push(`${name.trim()} ${ratio}`);
      }
      line(name, shown.map((sys) => cell(good[sys].map(get), d)), ratio);
    }
    // The floor: what one send(2) per delivery costs here, and each
    // system's distance from it (medians of CPU per delivery, nodes).
    let floorLine = '';
    if (scenario === 'fanout' && good.floor.length) {
      const med = (sys) => (good[sys].length ? median(good[sys].map((r) => r.server_cpu_us_per_delivery)) : NaN);
      const f = med('floor');
      line('own work: minus the floor (µs)', shown.map((sys) => fmt(med(sys) - f, 2)), '');
      line('ratio to the floor', shown.map((sys) => (Number.isFinite(med(sys)) ? `${(med(sys) / f).toFixed(2)}×` : '–')), '');
      const parts = [`floor ${f.toFixed(2)} µs`];
      for (const sys of shown.filter((x) => x !== 'floor' && good[x].length)) {
        parts.push(`${sys} ${med(sys).toFixed(2)} µs = floor + ${(med(sys) - f).toFixed(2)} (${(med(sys) / f).toFixed(2)}× the floor)`);
      }
      if (good.socketio.length) parts.push(`best possible ratio against Socket.IO (SIO ÷ floor) ${(med('socketio') / f).toFixed(2)}×`);
      floorLine = parts.join('; ');
    }
    const drops = rs.reduce((a, r) => a + (r.dropped_after_connect || 0), 0);
    if (drops) console.log(`  connections dropped after admission: ${drops}`);
    const behind = shown.map((sys) => [sys, good[sys].filter((r) => !keptUp(r)).length]).filter((x) => x[1]);
    let caveat = '';
    if (behind.length) {
      const what = behind.map(([sys, n]) => `${sys} ${n} of ${good[sys].length}`).join(', ');
      console.log(`  WARNING: runs that fell behind (< ${KEPT_UP_PCT}% of the window's broadcasts delivered by the end of the drain): ${what}`);
      caveat = ' (NOT COMPARABLE: a run fell behind; see the warning)';
      rc = 1;
    }
    if (floorLine) console.log(`FLOOR ${scenario} ${mode}: ${floorLine}${caveat}`);
    if (both) console.log(`RATIO ${scenario} ${mode}: ${ratios.join('; ') || 'n/a'}${caveat}`);
  }
  process.exit(rc);
}

main();
