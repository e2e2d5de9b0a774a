/*
 * The dashboard in a real browser against a real cluster (node --test; run
 * through tests/browser/run.sh).
 *
 * Starts the `make run` topology (deploy/run-local.sh on free ports: Redis,
 * gateway nodes, haproxy), opens the dashboard twice in Debian's chromium
 * (headless, driven by playwright-core; never a downloaded browser), each
 * page served by and connected to a different node, joins one lobby with two
 * users and checks what each page shows: the other's presence_join, the
 * member list, broadcasts both ways, a direct message, the overview counting
 * both connections, a third page through haproxy, and the presence_leave
 * when one leaves. Screenshots land in tests/artifacts/.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { ROOT, startCluster } from './topology.mjs';

const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const ARTIFACTS = join(ROOT, 'tests/artifacts');
const WAIT = { timeout: 15000 };

let topo, browser;

/* DEBUG_STEPS=1 prints each step with a timestamp (where does time go?). */
const step = (...what) => process.env.DEBUG_STEPS && console.log(new Date().toISOString(), ...what);
const pages = [];        /* { page, errors } */
const lobby = `browser-${process.pid}`;

before(async () => {
	assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: apt-get install -y chromium`);
	step('starting the cluster');
	topo = await startCluster();
	step('cluster up; launching chromium');
	browser = await chromium.launch({
		executablePath: CHROMIUM,
		args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
			'--disable-background-networking', '--disable-component-update', '--disable-sync'],
	});
});

after(async () => {
	step('closing chromium');
	await browser?.close();
	step('stopping the cluster');
	await topo?.stop();
	step('stopped');
});

/* Open the dashboard at `base` as `user` and join the lobby. */
async function openAndJoin(base, user)
{
	const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
	const errors = [];
	page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
	page.on('console', (m) => { if (m.type() === 'error') errors.push(`console: ${m.text()}`); });
	pages.push({ page, errors });
	step('open', base, user);
	await page.goto(`${base}/?user=${user}&lobby=${lobby}`);
	step('join');
	await page.click('#join');
	await page.waitForSelector('#state[data-state="open"]', WAIT);
	step('joined');
	return page;
}

/* Wait until list `id` of `page` has an item matching `sel` whose text holds `text`. */
function item(page, id, sel, text)
{
	step('wait for', id, sel, text);
	return page.locator(`#${id} li${sel}`, { hasText: text }).first().waitFor(WAIT);
}

test('two pages on different nodes see each other', async () => {
	const alice = await openAndJoin(topo.nodes[0], 'alice');
	const bob = await openAndJoin(topo.nodes[1], 'bob');

	/* Served by, and connected to, two different nodes. */
	const [nodeA, nodeB] = [await alice.textContent('#conn-node'), await bob.textContent('#conn-node')];
	assert.ok(nodeA && nodeB && nodeA !== '–', `nodes: ${nodeA}, ${nodeB}`);
	assert.notEqual(nodeA, nodeB, 'the two pages are on different nodes');
	assert.equal(await alice.textContent('#served-by'), nodeA);

	/* Presence: alice saw bob arrive; both member lists hold both users. */
	await item(alice, 'events', '[data-kind="presence_join"]', 'bob joined');
	for (const page of [alice, bob])
		for (const u of ['alice', 'bob'])
			await page.waitForSelector(`#members li[data-user="${u}"]`, WAIT);
	assert.equal(await bob.textContent('#member-count'), '2');

	/* Broadcasts both ways (the message crosses nodes through Redis). */
	await alice.fill('#broadcast-text', 'hello from alice');
	await alice.click('#broadcast-send');
	await item(bob, 'messages', '[data-kind="message"][data-from="alice"]', 'hello from alice');
	await item(alice, 'messages', '[data-from="alice"]', 'hello from alice'); /* echo */
	await bob.fill('#broadcast-text', '{"move":"e4"}');
	await bob.click('#broadcast-send');
	await item(alice, 'messages', '[data-kind="message"][data-from="bob"]', '{"move":"e4"}');

	/* A direct message, from node to node. */
	await bob.fill('#direct-to', 'alice');
	await bob.fill('#direct-text', 'psst');
	await bob.click('#direct-send');
	await item(alice, 'messages', '[data-kind="direct"][data-from="bob"]', 'psst');
	assert.equal(await bob.locator('#messages li[data-kind="direct"]').count(), 0,
		'a direct goes to its target only');
});

test('the overview shows the cluster and both connections', async () => {
	const { page } = pages[0];
	/*
	 * /cluster is a snapshot: the total comes from the admission count, the
	 * per-node numbers from each node's lease, renewed every few seconds.
	 */
	const seen = await page.waitForFunction(() => {
		const num = (el) => Number(el.textContent.replace(/\D/g, ''));
		const conns = [...document.querySelectorAll('#nodes-body tr')].map((tr) => num(tr.children[2]));
		return num(document.getElementById('total')) >= 2
			&& conns.filter((c) => c >= 1).length >= 2 && { conns };
	}, null, { timeout: 20000 }).then((h) => h.jsonValue());
	assert.ok(seen.conns.length >= 2, `node rows: ${seen.conns}`);
	assert.equal(await page.getAttribute('#overview-status', 'data-ok'), 'true');
	assert.match(await page.textContent('#mode'), /cluster/);

	mkdirSync(ARTIFACTS, { recursive: true });
	await page.screenshot({ path: join(ARTIFACTS, 'dashboard.png'), fullPage: true });
	await pages[1].page.screenshot({ path: join(ARTIFACTS, 'dashboard-peer.png'), fullPage: true });
});

test('a page through haproxy joins the same lobby', async () => {
	const [alice] = pages.map((p) => p.page);
	const carol = await openAndJoin(topo.lb, 'carol');
	const node = await carol.textContent('#conn-node');
	assert.match(node, /^node-[123]$/);
	await item(alice, 'events', '[data-kind="presence_join"]', 'carol joined');
	await carol.waitForSelector('#members li[data-user="alice"]', WAIT);
	await alice.fill('#broadcast-text', 'hi carol');
	await alice.click('#broadcast-send');
	await item(carol, 'messages', '[data-from="alice"]', 'hi carol');
});

test('leaving is seen by the other page', async () => {
	const [alice, bob] = pages.map((p) => p.page);
	await bob.click('#leave');
	await bob.waitForSelector('#state[data-state="closed"]', WAIT);
	await item(alice, 'events', '[data-kind="presence_leave"]', 'bob left');
	await alice.waitForSelector('#members li[data-user="bob"]', { ...WAIT, state: 'detached' });
});

test('no script errors on either page', () => {
	assert.deepEqual(pages.flatMap((p) => p.errors), []);
});
