/*
 * Resume across a page reload, in a real browser against a real cluster
 * with lobby history (node --test; run through tests/browser/run.sh).
 *
 * Starts the `make run` topology with GW_HISTORY_SIZE set, opens two pages
 * in Debian's chromium (headless, playwright-core), each importing the
 * client the gateway serves (/client/gateway.js) with sessionStorage as its
 * position store. Bob talks; Carol's page is reloaded; Bob says five more
 * things while the reloaded page has no connection; the new page's client,
 * created from the stored position and connecting to ANOTHER node, gets a
 * welcome with recovered: true and exactly those five messages, in order,
 * then live ones.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { chromium } from 'playwright-core';
import { startCluster } from './topology.mjs';

const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const WAIT = { timeout: 15000 };
const lobby = `resume-${process.pid}`;

let topo, browser;

before(async () => {
	assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: apt-get install -y chromium`);
	topo = await startCluster({ GW_HISTORY_SIZE: '200', GW_HISTORY_TTL: '120' });
	browser = await chromium.launch({
		executablePath: CHROMIUM,
		args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
			'--disable-background-networking', '--disable-component-update', '--disable-sync'],
	});
});

after(async () => {
	await browser?.close();
	await topo?.stop();
});

/*
 * In the page (served by `origin`, so /client/gateway.js and /dev/token are
 * same-origin): a client for `user` on node `wsBase`, its position in
 * sessionStorage, every message kept in window.got.
 */
async function startClient(page, wsBase, user)
{
	return page.evaluate(async ({ wsBase, user, lobby }) => {
		const { GatewayClient } = await import('/client/gateway.js');
		const getToken = async () => {
			const r = await fetch(`/dev/token?user=${encodeURIComponent(user)}`,
				{ cache: 'no-store' });
			return (await r.json()).token;
		};
		window.got = [];
		window.client = new GatewayClient({ url: wsBase, lobby, getToken,
			storage: sessionStorage });
		window.client.on('message', (m) => window.got.push(m));
		const w = await window.client.connect();
		return { welcome: w, position: window.client.position };
	}, { wsBase, user, lobby });
}

const ws = (http) => http.replace(/^http/, 'ws');

async function gotData(page, n)
{
	await page.waitForFunction((k) => window.got.length >= k, n, WAIT);
	return page.evaluate(() => window.got.map((m) => [m.offset, m.data]));
}

test('a reloaded page resumes on another node with exactly what it missed', async () => {
	const [n1, n2, n3] = topo.nodes;
	const carol = await browser.newPage();
	const bob = await browser.newPage();
	const errors = [];
	for (const p of [carol, bob])
		p.on('pageerror', (e) => errors.push(e.message));
	await carol.goto(`${n1}/client/gateway.d.ts`);
	await bob.goto(`${n2}/client/gateway.d.ts`);

	const c1 = await startClient(carol, ws(n1), 'carol');
	assert.equal(typeof c1.welcome.epoch, 'string', 'the cluster keeps history');
	await startClient(bob, ws(n2), 'bob');
	/* Both are in the lobby (so Carol's node has subscribed) before Bob talks. */
	await bob.waitForFunction(async () => (await window.client.presence()).users
		.includes('carol'), null, WAIT);
	await bob.evaluate(() => window.client.broadcast({ n: 0 }));
	const first = await gotData(carol, 1);
	assert.deepEqual(first.map((x) => x[1]), [{ n: 0 }]);

	/* Reload: the page and its socket go; the position stays in storage. */
	await carol.reload();
	const stored = await carol.evaluate((l) => Object.keys(sessionStorage)
		.filter((k) => k === `gateway:position:/ws/${l}`)
		.map((k) => JSON.parse(sessionStorage.getItem(k))), lobby);
	assert.equal(stored.length, 1, 'one stored position');
	assert.equal(stored[0].offset, first[0][0]);

	/* Bob talks while Carol has no connection: wait until the server saw her go. */
	await bob.waitForFunction(async () => {
		const p = await window.client.presence();
		return !p.users.includes('carol');
	}, null, WAIT);
	for (let i = 1; i <= 5; i++)
		await bob.evaluate((k) => window.client.broadcast({ n: k }), i);

	/* The reloaded page resumes, through a third node. */
	const c2 = await startClient(carol, ws(n3), 'carol');
	assert.equal(c2.welcome.recovered, true, JSON.stringify(c2.welcome));
	assert.equal(c2.welcome.node, 'node-3');
	const replay = await gotData(carol, 5);
	assert.deepEqual(replay.map((x) => x[1]), [1, 2, 3, 4, 5].map((n) => ({ n })));
	assert.deepEqual(replay.map((x) => x[0]),
		[1, 2, 3, 4, 5].map((k) => first[0][0] + k));

	/* Then live, once. */
	await bob.evaluate(() => window.client.broadcast({ n: 6 }));
	const all = await gotData(carol, 6);
	assert.deepEqual(all.map((x) => x[1].n), [1, 2, 3, 4, 5, 6]);
	await new Promise((r) => setTimeout(r, 300)); /* a window for duplicates */
	assert.equal(await carol.evaluate(() => window.got.length), 6);
	assert.deepEqual(errors, []);
});
