/*
 * app.js — the dashboard's behaviour, in two independent parts:
 *
 *   overview   polls GET /cluster and GET /stats (same origin) every 2 s and
 *              renders the cluster: nodes, connections, capacity, lobbies,
 *              and message rates computed from counter deltas between polls.
 *              Every field may be missing (older nodes, standalone mode):
 *              a missing value shows as "–", never as an exception.
 *   demo       a lobby client on GatewayClient: "Join" fetches a dev token
 *              from GET /dev/token?user=U (gateway --dev-tokens) and connects
 *              to ws(s)://<this host>/ws/<lobby>; presence, broadcasts and
 *              direct messages are shown live.
 *
 * Everything user- or server-supplied reaches the page through textContent,
 * never innerHTML.
 */
import { GatewayClient } from '/client/gateway.js';

const POLL_MS = 2000;
const LOG_MAX = 200;      /* entries kept in the message and event logs */

const $ = (id) => document.getElementById(id);

/* --- formatting ------------------------------------------------------------ */

const isNum = (v) => typeof v === 'number' && Number.isFinite(v);
const fmtInt = (v) => (isNum(v) ? Math.round(v).toLocaleString('en') : '–');
const fmtRate = (v) => (isNum(v) ? (v < 10 ? v.toFixed(1) : Math.round(v).toLocaleString('en')) : '–');
const fmtPct = (v) => (isNum(v) ? `${v < 10 ? v.toFixed(2) : v.toFixed(1)} %` : '–');

/* Epoch timestamps may come in seconds or milliseconds. */
const toMs = (v) => (isNum(v) ? (v > 1e11 ? v : v * 1000) : null);

function fmtDuration(ms)
{
	if (!isNum(ms))
		return '–';
	const s = Math.max(0, Math.floor(ms / 1000));
	if (s < 60)
		return `${s} s`;
	if (s < 3600)
		return `${Math.floor(s / 60)} m ${s % 60} s`;
	if (s < 86400)
		return `${Math.floor(s / 3600)} h ${Math.floor(s % 3600 / 60)} m`;
	return `${Math.floor(s / 86400)} d ${Math.floor(s % 86400 / 3600)} h`;
}

/* `load` is a fraction of the node's capacity; show it as a percentage. */
const fmtLoad = (v) => (isNum(v) ? fmtPct(v <= 1 ? v * 100 : v) : '–');

/* --- overview ------------------------------------------------------------- */

/*
 * Rates: messages_in/out are counters. The rate between two polls is the
 * difference over the time between them; a counter that went down (the node
 * restarted) or a node seen for the first time has no rate yet.
 */
let prevSample = null;    /* { t, counters: Map(node id → {in, out}) } */

function rates(nodes, t)
{
	const counters = new Map();
	const perNode = new Map();
	let sumIn = null, sumOut = null;
	for (const n of nodes) {
		if (n.id === undefined)
			continue;
		counters.set(n.id, { in: n.messages_in, out: n.messages_out });
		const p = prevSample?.counters.get(n.id);
		const dt = prevSample ? (t - prevSample.t) / 1000 : 0;
		const r = { in: null, out: null };
		if (p && dt > 0) {
			if (isNum(n.messages_in) && isNum(p.in) && n.messages_in >= p.in)
				r.in = (n.messages_in - p.in) / dt;
			if (isNum(n.messages_out) && isNum(p.out) && n.messages_out >= p.out)
				r.out = (n.messages_out - p.out) / dt;
		}
		if (r.in !== null)
			sumIn = (sumIn ?? 0) + r.in;
		if (r.out !== null)
			sumOut = (sumOut ?? 0) + r.out;
		perNode.set(n.id, r);
	}
	prevSample = { t, counters };
	return { perNode, in: sumIn, out: sumOut };
}

async function getJson(path)
{
	const r = await fetch(path, { cache: 'no-store', headers: { Accept: 'application/json' } });
	if (!r.ok)
		throw new Error(`${path}: HTTP ${r.status}`);
	return r.json();
}

/* A node list from /stats alone, for a gateway without /cluster. */
function clusterFromStats(s)
{
	return {
		mode: 'standalone', node: s.node, total: s.total, max_connections: s.max,
		capacity_percent: s.capacity_percent, active_lobbies: s.active_lobbies,
		nodes: [{ id: s.node, conns: s.total, messages_in: s.messages_in,
			messages_out: s.messages_out }],
	};
}

function td(text, cls)
{
	const el = document.createElement('td');
	el.textContent = text;
	if (cls)
		el.className = cls;
	return el;
}

function renderOverview(c, stats, t)
{
	const nodes = Array.isArray(c.nodes) ? c.nodes.filter((n) => n && typeof n === 'object') : [];
	const r = rates(nodes, t);
	const total = isNum(c.total) ? c.total
		: nodes.reduce((a, n) => a + (isNum(n.conns) ? n.conns : 0), 0);
	const cap = isNum(c.capacity_percent) ? c.capacity_percent
		: (isNum(c.max_connections) && c.max_connections > 0 ? 100 * total / c.max_connections : null);

	$('mode').textContent = c.mode ?? '–';
	$('node-count').textContent = fmtInt(nodes.length);
	$('total').textContent = fmtInt(total);
	$('max').textContent = fmtInt(c.max_connections);
	$('capacity').textContent = fmtPct(cap);
	$('capacity-bar').style.width = `${Math.min(100, Math.max(0, cap ?? 0))}%`;
	$('capacity-bar').className = cap >= 90 ? 'hot' : cap >= 70 ? 'warm' : '';
	$('lobbies').textContent = fmtInt(c.active_lobbies);
	$('rate-in').textContent = fmtRate(r.in);
	$('rate-out').textContent = fmtRate(r.out);

	const here = stats?.node ?? c.node;
	const mine = demo.client?.welcome?.node;
	const rows = [...nodes].sort((a, b) => String(a.id).localeCompare(String(b.id))).map((n) => {
		const tr = document.createElement('tr');
		const nr = r.perNode.get(n.id) ?? {};
		const name = td(n.id ?? '?');
		for (const [cond, tag, title] of [[n.id === here, 'page', 'serves this page'],
			[n.id === mine, 'demo', 'serves the demo connection']]) {
			if (!cond)
				continue;
			const b = document.createElement('span');
			b.className = `tag ${tag}`;
			b.textContent = tag;
			b.title = title;
			name.append(' ', b);
		}
		tr.dataset.node = n.id ?? '';
		tr.append(name, td(n.addr ?? '–'), td(fmtInt(n.conns), 'num'), td(fmtLoad(n.load), 'num'),
			td(fmtRate(nr.in), 'num'), td(fmtRate(nr.out), 'num'),
			td(fmtDuration(toMs(n.started) === null ? null : t - toMs(n.started)), 'num'),
			td(toMs(n.heartbeat) === null ? '–' : `${fmtDuration(t - toMs(n.heartbeat))} ago`, 'num'));
		return tr;
	});
	$('nodes-body').replaceChildren(...rows);

	if (stats && typeof stats === 'object') {
		$('served-by').textContent = stats.node ?? '?';
		const items = [];
		for (const [k, v] of Object.entries(stats)) {
			if (v !== null && typeof v === 'object')
				continue;
			const dt = document.createElement('dt');
			const dd = document.createElement('dd');
			dt.textContent = k;
			dd.textContent = typeof v === 'number' && !Number.isInteger(v) ? v.toFixed(2) : String(v);
			items.push(dt, dd);
		}
		$('stats').replaceChildren(...items);
	}
}

async function poll()
{
	const t = Date.now();
	const [cluster, stats] = await Promise.allSettled([getJson('/cluster'), getJson('/stats')]);
	const st = $('overview-status');
	try {
		if (cluster.status === 'rejected' && stats.status === 'rejected')
			throw cluster.reason;
		const s = stats.status === 'fulfilled' ? stats.value : null;
		const c = cluster.status === 'fulfilled' ? cluster.value : clusterFromStats(s);
		renderOverview(c ?? {}, s, t);
		st.textContent = `updated ${new Date(t).toLocaleTimeString()}`;
		st.dataset.ok = 'true';
	} catch (e) {
		st.textContent = `unreachable: ${e.message ?? e}`;
		st.dataset.ok = 'false';
	}
	setTimeout(poll, POLL_MS);
}

/* --- demo lobby client ------------------------------------------------------ */

const demo = { client: null, user: '', membersTimer: null };

function append(listId, text, attrs = {})
{
	const list = $(listId);
	const li = document.createElement('li');
	const time = document.createElement('time');
	time.textContent = new Date().toLocaleTimeString();
	li.append(time, ' ', text);
	for (const [k, v] of Object.entries(attrs))
		li.dataset[k] = v;
	list.append(li);
	while (list.children.length > LOG_MAX)
		list.firstElementChild.remove();
	list.scrollTop = list.scrollHeight;
}

const event = (text, kind) => append('events', text, { kind });
const show = (v) => (typeof v === 'string' ? v : JSON.stringify(v));

/* What the user typed: JSON when it parses as JSON, the text otherwise. */
function parseData(text)
{
	try {
		return JSON.parse(text);
	} catch {
		return text;
	}
}

async function devToken(user)
{
	const r = await fetch(`/dev/token?user=${encodeURIComponent(user)}`, { cache: 'no-store' });
	if (!r.ok) {
		const hint = r.status === 404 ? ' (start the gateway with --dev-tokens)' : '';
		const e = new Error(`/dev/token: HTTP ${r.status}${hint}`);
		e.status = r.status;
		throw e;
	}
	const { token } = await r.json();
	return token;
}

function setConnected(open)
{
	for (const id of ['broadcast-text', 'broadcast-echo', 'broadcast-send', 'direct-to',
		'direct-text', 'direct-send', 'refresh-members'])
		$(id).disabled = !open;
}

function renderMembers(users)
{
	const sorted = [...users].sort();
	$('members').replaceChildren(...sorted.map((u) => {
		const li = document.createElement('li');
		li.textContent = u;
		li.dataset.user = u;
		if (u === demo.user) {
			li.className = 'me';
			li.title = 'you';
		}
		return li;
	}));
	$('member-options').replaceChildren(...sorted.filter((u) => u !== demo.user).map((u) => {
		const o = document.createElement('option');
		o.value = u;
		return o;
	}));
	$('member-count').textContent = String(sorted.length);
}

async function refreshMembers()
{
	const client = demo.client;
	if (!client || client.state !== 'open')
		return;
	try {
		const p = await client.presence();
		if (client === demo.client)
			renderMembers(p.users ?? []);
	} catch (e) {
		event(`presence failed: ${e.reason || e.code}`, 'error');
	}
}

/* Joins and leaves come in bursts; ask for the list once per burst. */
function membersSoon()
{
	clearTimeout(demo.membersTimer);
	demo.membersTimer = setTimeout(refreshMembers, 150);
}

function describeError(e)
{
	if (e.source === 'close')
		return `closed ${e.code} ${e.reason}${e.fatal ? ' (will not reconnect)' : ''}`;
	if (e.source === 'server')
		return `server error ${e.code}: ${e.reason}`;
	return `${e.code}: ${e.reason}`;
}

function join(user, lobby)
{
	leave();
	const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
	const client = new GatewayClient({ url: `${scheme}//${location.host}`, lobby,
		getToken: () => devToken(user) });
	demo.client = client;
	demo.user = user;

	client.on('state', (s) => {
		$('state').textContent = s;
		$('state').dataset.state = s;
		setConnected(s === 'open');
		$('join').disabled = s !== 'closed';
		$('leave').disabled = s === 'closed';
		if (s !== 'open')
			$('conn-node').textContent = '–';
	});
	client.on('open', (w) => {
		$('conn-node').textContent = w.node ?? '?';
		$('conn-id').textContent = w.connection_id ?? '?';
		event(`joined ${w.lobby} as ${w.user} on ${w.node}`, 'open');
		refreshMembers();
	});
	client.on('message', (m) => append('messages', `${m.from}: ${show(m.data)}`,
		{ kind: 'message', from: m.from ?? '' }));
	client.on('direct', (m) => append('messages', `${m.from} → you: ${show(m.data)}`,
		{ kind: 'direct', from: m.from ?? '' }));
	client.on('presence_join', (p) => {
		event(`${p.user} joined (${p.connection_id})`, 'presence_join');
		membersSoon();
	});
	client.on('presence_leave', (p) => {
		event(`${p.user} left: ${p.reason}`, 'presence_leave');
		membersSoon();
	});
	client.on('gap', (g) => event(`gap: ${g.missed || 'some'} messages lost`, 'gap'));
	client.on('close', (c) => {
		if (c.willReconnect)
			event(`connection lost (${c.code} ${c.reason}), reconnecting`, 'close');
	});
	client.on('error', (e) => {
		event(describeError(e), 'error');
		/* The client retries failed token fetches; a 4xx will not heal. */
		const status = e.cause?.status;
		if (e.code === 'token_unavailable' && status >= 400 && status < 500)
			leave();
	});

	client.connect().catch(() => { /* reported through the error event */ });
}

function leave()
{
	if (!demo.client)
		return;
	const c = demo.client;
	c.close();
	demo.client = null;
	$('conn-id').textContent = '–';
	renderMembers([]);
	event('left', 'close');
}

/* Run a send and report its failure in the event log. */
function trySend(fn)
{
	try {
		fn();
		return true;
	} catch (e) {
		event(`not sent: ${e.reason || e.message}`, 'error');
		return false;
	}
}

function setupDemo()
{
	const q = new URLSearchParams(location.search);
	$('user').value = q.get('user') ?? `user-${Math.random().toString(36).slice(2, 6)}`;
	$('lobby').value = q.get('lobby') ?? 'demo';

	$('join-form').addEventListener('submit', (ev) => {
		ev.preventDefault();
		join($('user').value.trim(), $('lobby').value.trim());
	});
	$('leave').addEventListener('click', leave);
	$('refresh-members').addEventListener('click', refreshMembers);
	$('broadcast-form').addEventListener('submit', (ev) => {
		ev.preventDefault();
		const text = $('broadcast-text').value;
		if (text && trySend(() => demo.client.broadcast(parseData(text),
			{ echo: $('broadcast-echo').checked })))
			$('broadcast-text').value = '';
	});
	$('direct-form').addEventListener('submit', (ev) => {
		ev.preventDefault();
		const to = $('direct-to').value.trim();
		const text = $('direct-text').value;
		if (to && text && trySend(() => demo.client.direct(to, parseData(text)))) {
			append('messages', `you → ${to}: ${text}`, { kind: 'sent-direct', from: demo.user });
			$('direct-text').value = '';
		}
	});
	if (q.get('join') === '1')
		join($('user').value.trim(), $('lobby').value.trim());
}

setupDemo();
poll();
