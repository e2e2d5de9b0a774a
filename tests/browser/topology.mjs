/*
 * topology.mjs — starts and stops a real local cluster for the browser test.
 *
 * The cluster is the `make run` one: deploy/run-local.sh started with a
 * private run directory (GW_RUN_DIR) and a free block of ports
 * (GW_BASE_PORT and friends), so the test never touches a cluster a
 * developer has running.
 *
 * The binary comes from ${GW_BUILD:-build}/bin, like run-local.sh; it embeds
 * the dashboard and the client at build time, so build first (make).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '../..');
export const HOST = '127.0.0.1';
export const SECRET = 'browser-test-secret-0123456789abcdef-xyz';

/* Is `port` free on HOST? */
function portFree(port)
{
	return new Promise((res) => {
		const s = createServer();
		s.once('error', () => res(false));
		s.listen(port, HOST, () => s.close(() => res(true)));
	});
}

/* The first of `n` consecutive free ports, from a random start. */
export async function freePortBlock(n)
{
	for (let tries = 0; tries < 50; tries++) {
		const base = 20000 + Math.floor(Math.random() * 35000 / 10) * 10;
		let ok = true;
		for (let p = base; p < base + n && ok; p++)
			ok = await portFree(p);
		if (ok)
			return base;
	}
	throw new Error(`no block of ${n} free ports`);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/* Poll `fn` until it returns a truthy value; fail with `what` and the last value. */
export async function waitFor(fn, { timeoutMs = 15000, intervalMs = 100, what = 'condition',
	abort = () => null } = {})
{
	const deadline = Date.now() + timeoutMs;
	let last;
	for (;;) {
		const why = abort();
		if (why)
			throw new Error(`${what}: ${why}`);
		try {
			last = await fn();
			if (last)
				return last;
		} catch (e) {
			last = e;
		}
		if (Date.now() > deadline)
			throw new Error(`${what}: not true within ${timeoutMs} ms (last: ${last?.message ?? JSON.stringify(last)})`);
		await sleep(intervalMs);
	}
}

export async function getJson(url)
{
	const r = await fetch(url, { cache: 'no-store' });
	if (!r.ok)
		throw new Error(`${url}: HTTP ${r.status}`);
	return r.json();
}

/*
 * A started cluster: `nodes` are the gateway nodes' base URLs
 * (http://HOST:PORT, WebSocket and HTTP on one port), `lb` haproxy's, `dir`
 * the run directory with every log. stop() ends it all.
 */
class Topology {
	constructor(proc, dir)
	{
		this.proc = proc;
		this.dir = dir;
		this.nodes = [];
		this.lb = null;
		this.output = '';
		const keep = (d) => { this.output = (this.output + d).slice(-20000); };
		proc.stdout.on('data', keep);
		proc.stderr.on('data', keep);
		this.status = null;      /* exit code or signal, once exited */
		this.exited = new Promise((res) => proc.once('exit', (code, sig) => {
			this.status = code ?? sig;
			res(this.status);
		}));
	}

	/*
	 * run-local.sh stops its children itself, in order, on SIGTERM (they run
	 * in their own sessions, so a signal to our process group would not
	 * reach them). If it hangs, SIGKILL: its children get SIGTERM from the
	 * kernel (setpriv --pdeathsig).
	 */
	async stop({ keepDir = false } = {})
	{
		const kill = (sig) => { try { this.proc.kill(sig); } catch { /* gone */ } };
		kill('SIGTERM');
		let timer;
		const stopped = await Promise.race([this.exited.then(() => true),
			new Promise((res) => { timer = setTimeout(res, 20000, false); })]);
		clearTimeout(timer); /* a pending timer would keep node alive */
		if (!stopped) {
			kill('SIGKILL');
			await this.exited;
		}
		if (!keepDir)
			rmSync(this.dir, { recursive: true, force: true });
		return stopped;
	}
}

/*
 * Start deploy/run-local.sh (redis, three nodes, haproxy) in a private run
 * directory on a free block of 20 ports:
 *
 *   BASE       haproxy          BASE+5   redis
 *   BASE+1..3  node-1..3        BASE+6   haproxy stats
 *   BASE+11..13 admin listeners
 *
 * and wait for its "cluster ready" line (every node up behind haproxy).
 * `extraEnv` reaches the nodes (GW_HISTORY_SIZE, say: every option has its
 * variable).
 */
export async function startCluster(extraEnv = {})
{
	const dir = mkdtempSync(join(tmpdir(), 'gw-browser-'));
	const base = await freePortBlock(20);
	const env = {
		...process.env,
		GW_RUN_DIR: dir,
		GW_BASE_PORT: String(base),
		GW_ADMIN_BASE_PORT: String(base + 10),
		GW_REDIS_PORT: String(base + 5),
		GW_LB_STATS_PORT: String(base + 6),
		GW_JWT_SECRET: SECRET,
		GW_SHUTDOWN_TIMEOUT: '2',
		...extraEnv,
	};
	/* If this process dies, the script gets SIGTERM and stops the cluster. */
	const script = join(ROOT, 'deploy/run-local.sh');
	const [cmd, args] = existsSync('/usr/bin/setpriv')
		? ['/usr/bin/setpriv', ['--pdeathsig', 'TERM', '--', script]] : [script, []];
	const proc = spawn(cmd, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
	const topo = new Topology(proc, dir);
	topo.nodes = [1, 2, 3].map((i) => `http://${HOST}:${base + i}`);
	topo.lb = `http://${HOST}:${base}`;
	try {
		const abort = () => (topo.status === null ? null : `run-local.sh exited (${topo.status})`);
		await waitFor(() => topo.output.includes('cluster ready'),
			{ timeoutMs: 60000, what: 'run-local.sh: "cluster ready"', abort });
		/* /cluster is a snapshot; wait until it lists every node. */
		await waitFor(async () => (await getJson(`${topo.lb}/cluster`)).nodes?.length >= 3,
			{ timeoutMs: 20000, what: '/cluster lists 3 nodes', abort });
	} catch (e) {
		e.message += `\n--- run-local.sh output ---\n${topo.output.slice(-4000)}`;
		await topo.stop({ keepDir: true });
		e.message += `\n(logs kept in ${dir}/logs)`;
		throw e;
	}
	return topo;
}
