/*
 * Unit tests of clients/js/gateway.js with Node's built-in runner:
 *
 *   node --test clients/js/test/
 *
 * No network and no real time: a fake WebSocket class (injected through the
 * `WebSocket` option) plays the server, and a fake clock (injected through
 * setTimeout/clearTimeout/now) decides when timers fire, so backoff and token
 * expiry are checked to the millisecond and the whole file runs in well
 * under a second.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GatewayClient, GatewayError, backoffDelay, closePolicy, decodeJwtExp }
	from '../gateway.js';

/* --- fakes ---------------------------------------------------------------- */

/* Timers that fire only when the test moves the clock. */
class FakeClock {
	constructor(start = 1_700_000_000_000)
	{
		this.t = start;
		this.timers = new Map();
		this.seq = 0;
		this.now = () => this.t;
		this.setTimeout = (fn, ms) => {
			const id = ++this.seq;
			this.timers.set(id, { at: this.t + Math.max(0, ms), fn, ms });
			return id;
		};
		this.clearTimeout = (id) => { this.timers.delete(id); };
	}

	/* Delays of the timers now pending, in the order they were set. */
	pending()
	{
		return [...this.timers.values()].map((t) => t.ms);
	}

	/* Move the clock by `ms`, firing due timers in time order. */
	async tick(ms)
	{
		const end = this.t + ms;
		for (;;) {
			let next = null;
			for (const [id, tm] of this.timers)
				if (tm.at <= end && (!next || tm.at < next[1].at))
					next = [id, tm];
			if (!next)
				break;
			this.timers.delete(next[0]);
			this.t = next[1].at;
			next[1].fn();
			await flush();
		}
		this.t = end;
		await flush();
	}
}

/* Let promise callbacks (getToken, connect) run. */
function flush()
{
	return new Promise((resolve) => setImmediate(resolve));
}

/* A WebSocket whose server side the test drives. Every instance is kept. */
function fakeWebSocketClass()
{
	class FakeWebSocket {
		constructor(url, protocols)
		{
			this.url = url;
			this.protocols = protocols;
			this.readyState = 0;
			this.sent = [];
			this.closedWith = null;
			FakeWebSocket.all.push(this);
		}

		send(text)
		{
			if (this.readyState !== 1)
				throw new Error('send on a socket that is not open');
			this.sent.push(JSON.parse(text));
		}

		/* Like a browser: the close event follows a little later. */
		close(code, reason)
		{
			this.closedWith = { code, reason };
			this.readyState = 2;
			queueMicrotask(() => this.serverClose(code ?? 1005, reason ?? ''));
		}

		/* Server side. */
		accept(welcome = {})
		{
			this.readyState = 1;
			this.onopen?.({});
			this.frame({ type: 'welcome', connection_id: 'n1.1', user: 'alice',
				lobby: 'chess', node: 'node-1', heartbeat_interval: 20,
				max_message_size: 65536, ...welcome });
		}

		frame(obj)
		{
			this.onmessage?.({ data: typeof obj === 'string' ? obj : JSON.stringify(obj) });
		}

		serverClose(code, reason = '')
		{
			if (this.readyState === 3)
				return;
			this.readyState = 3;
			this.onclose?.({ code, reason, wasClean: code !== 1006 });
		}
	}
	FakeWebSocket.all = [];
	return FakeWebSocket;
}

/* An unsigned JWT with the given claims: the client never checks signatures. */
function jwt(claims)
{
	const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
	return `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64(claims)}.c2ln`;
}

/* A client wired to fakes; `random` fixed at 0.5 unless given. */
function setup(opts = {})
{
	const clock = new FakeClock();
	const WS = fakeWebSocketClass();
	const client = new GatewayClient({
		url: 'ws://gw.test:8080/', lobby: 'chess', token: 'T0',
		WebSocket: WS, setTimeout: clock.setTimeout, clearTimeout: clock.clearTimeout,
		now: clock.now, random: () => 0.5, ...opts,
	});
	const events = [];
	for (const ev of ['open', 'message', 'direct', 'presence', 'presence_join',
		'presence_leave', 'gap', 'error', 'state', 'close'])
		client.on(ev, (arg) => events.push([ev, arg]));
	const last = () => WS.all[WS.all.length - 1];
	const named = (name) => events.filter((e) => e[0] === name).map((e) => e[1]);
	return { clock, WS, client, events, last, named };
}

/* --- connecting ------------------------------------------------------------ */

test('the token travels as a subprotocol, never in the URL', async () => {
	const { client, last } = setup({ token: 'abc.def.ghi' });
	client.connect();
	await flush();
	assert.equal(last().url, 'ws://gw.test:8080/ws/chess');
	assert.ok(!last().url.includes('token'));
	assert.deepEqual(last().protocols, ['gateway', 'bearer.abc.def.ghi']);
});

test('welcome opens the client and resolves connect()', async () => {
	const { client, last, named } = setup();
	const p = client.connect();
	await flush();
	assert.equal(client.state, 'connecting');
	last().accept({ node: 'node-2' });
	const welcome = await p;
	assert.equal(welcome.node, 'node-2');
	assert.equal(client.state, 'open');
	assert.equal(client.welcome.connection_id, 'n1.1');
	assert.deepEqual(named('state'), ['connecting', 'open']);
	assert.equal(named('open').length, 1);
	assert.equal(await client.connect(), welcome, 'connect() when open resolves at once');
});

test('bad options are refused up front', () => {
	const WS = fakeWebSocketClass();
	assert.throws(() => new GatewayClient({ lobby: 'x', token: 't', WebSocket: WS }), TypeError);
	assert.throws(() => new GatewayClient({ url: 'ws://h', lobby: 'a/b', token: 't', WebSocket: WS }),
		TypeError);
	assert.throws(() => new GatewayClient({ url: 'ws://h', lobby: 'x', WebSocket: WS }), TypeError);
	assert.throws(() => new GatewayClient({ url: 'ws://h', lobby: 'x', token: 't',
		WebSocket: 'nope' }), TypeError);
});

/* --- frames ---------------------------------------------------------------- */

test('health_ping is answered with health_pong echoing the timestamp', async () => {
	const { client, last, named } = setup();
	client.connect();
	await flush();
	last().accept();
	last().frame({ type: 'health_ping', timestamp: 1763880000123 });
	assert.deepEqual(last().sent, [{ type: 'health_pong', timestamp: 1763880000123 }]);
	assert.equal(named('message').length, 0);
});

test('server frames become events', async () => {
	const { client, last, named } = setup();
	client.connect();
	await flush();
	const ws = last();
	ws.accept();
	ws.frame({ type: 'message', lobby: 'chess', from: 'bob', data: { move: 'e4' } });
	ws.frame({ type: 'direct', from: 'bob', data: 'psst' });
	ws.frame({ type: 'presence_join', lobby: 'chess', user: 'bob', connection_id: 'n2.7' });
	ws.frame({ type: 'presence_leave', lobby: 'chess', user: 'bob', connection_id: 'n2.7',
		reason: 'closed' });
	ws.frame({ type: 'gap', lobby: 'chess', missed: 3 });
	ws.frame({ type: 'error', code: 'user_offline', message: 'no such user is connected' });
	ws.frame('not json');
	ws.frame({ no: 'type' });

	assert.deepEqual(named('message'), [{ type: 'message', lobby: 'chess', from: 'bob',
		data: { move: 'e4' } }]);
	assert.equal(named('direct')[0].data, 'psst');
	assert.equal(named('presence_join')[0].user, 'bob');
	assert.equal(named('presence_leave')[0].reason, 'closed');
	assert.equal(named('gap')[0].missed, 3);
	const [err] = named('error');
	assert.ok(err instanceof GatewayError);
	assert.equal(err.source, 'server');
	assert.equal(err.code, 'user_offline');
	assert.equal(err.reason, 'no such user is connected');
	assert.equal(err.retryable, false);
	assert.equal(err.fatal, false);
	assert.equal(client.state, 'open', 'an error frame leaves the connection open');
});

test('on/off/once manage listeners', async () => {
	const { client, last } = setup();
	client.connect();
	await flush();
	last().accept();
	const seen = [];
	const a = (m) => seen.push(['a', m.data]);
	const b = (m) => seen.push(['b', m.data]);
	client.on('message', a).once('message', b);
	last().frame({ type: 'message', data: 1 });
	client.off('message', a);
	last().frame({ type: 'message', data: 2 });
	assert.deepEqual(seen, [['a', 1], ['b', 1]]);
});

/* --- sending --------------------------------------------------------------- */

test('broadcast and direct send protocol frames', async () => {
	const { client, last } = setup();
	client.connect();
	await flush();
	last().accept();
	client.broadcast({ move: 'e4' });
	client.broadcast('hi', { echo: true });
	client.direct('bob', [1, 2]);
	assert.deepEqual(last().sent, [
		{ type: 'broadcast', data: { move: 'e4' } },
		{ type: 'broadcast', data: 'hi', echo: true },
		{ type: 'direct', to: 'bob', data: [1, 2] },
	]);
	assert.throws(() => client.broadcast(undefined), TypeError);
	assert.throws(() => client.direct('', 1), TypeError);
});

test('sending before welcome or past max_message_size throws a GatewayError', async () => {
	const { client, last } = setup();
	assert.throws(() => client.broadcast(1), (e) => e instanceof GatewayError && e.code === 'not_open');
	client.connect();
	await flush();
	assert.throws(() => client.broadcast(1), (e) => e.code === 'not_open');
	last().accept({ max_message_size: 64 });
	assert.throws(() => client.broadcast('x'.repeat(100)),
		(e) => e instanceof GatewayError && e.code === 'message_too_big');
	assert.deepEqual(last().sent, [], 'nothing reached the socket');
});

test('presence() resolves with the replies in request order', async () => {
	const { client, last } = setup();
	client.connect();
	await flush();
	last().accept();
	const p1 = client.presence();
	const p2 = client.presence();
	assert.deepEqual(last().sent, [{ type: 'presence' }, { type: 'presence' }]);
	last().frame({ type: 'presence', lobby: 'chess', count: 1, users: ['alice'] });
	last().frame({ type: 'presence', lobby: 'chess', count: 2, users: ['alice', 'bob'] });
	assert.deepEqual((await p1).users, ['alice']);
	assert.deepEqual((await p2).users, ['alice', 'bob']);
});

test('presence() rejects on timeout, on close and when not open', async () => {
	const { client, clock, last } = setup({ presenceTimeoutMs: 1000 });
	await assert.rejects(client.presence(), (e) => e.code === 'not_open');
	client.connect();
	await flush();
	last().accept();
	const timedOut = assert.rejects(client.presence(),
		(e) => e instanceof GatewayError && e.code === 'timeout');
	await clock.tick(999);
	assert.equal(clock.pending().length, 2, 'still waiting (and the idle watchdog)');
	await clock.tick(1);
	await timedOut;
	const cut = client.presence();
	last().serverClose(1006);
	await assert.rejects(cut, (e) => e.code === 1006 && e.retryable);
});

/* --- reconnecting ---------------------------------------------------------- */

test('backoffDelay doubles up to maxMs with full jitter', () => {
	const o = { baseMs: 100, maxMs: 1000, jitter: 1 };
	assert.deepEqual([0, 1, 2, 3, 4, 5].map((n) => backoffDelay(n, o, () => 0)),
		[100, 200, 400, 800, 1000, 1000]);
	assert.deepEqual([0, 1, 2].map((n) => backoffDelay(n, o, () => 0.5)), [50, 100, 200]);
	assert.equal(backoffDelay(3, o, () => 0.999999), 0);
	assert.equal(backoffDelay(2, { ...o, jitter: 0 }, () => 0.7), 400);
	assert.equal(backoffDelay(2, { ...o, jitter: 0.5 }, () => 1), 200);
	assert.equal(backoffDelay(1e6, o, () => 0), 1000, 'huge attempts do not overflow');
});

test('network loss (1006) reconnects with exponential backoff and jitter', async () => {
	const { client, clock, WS, last, named } = setup({ reconnect: { baseMs: 100, maxMs: 1000 } });
	client.connect();
	await flush();
	last().accept();
	const waits = [];
	for (let i = 0; i < 5; i++) {
		const n = WS.all.length;
		last().serverClose(1006);
		assert.equal(client.state, 'reconnecting');
		[waits[i]] = clock.pending();
		await clock.tick(waits[i] - 1);
		assert.equal(WS.all.length, n, 'not before the delay');
		await clock.tick(1);
		assert.equal(WS.all.length, n + 1, 'a new socket once the delay passed');
	}
	/* random() = 0.5: half of 100, 200, 400, 800, 1000 (capped). */
	assert.deepEqual(waits, [50, 100, 200, 400, 500]);
	last().accept();
	assert.equal(client.state, 'open');
	last().serverClose(1006);
	assert.deepEqual(clock.pending(), [50], 'a welcome resets the backoff');
	assert.ok(named('close').every((c) => c.willReconnect));
	assert.equal(named('error').length, 0, 'retryable closes are not errors');
});

test('1001 going_away, 4005, 4007, 1011 and 4002 unavailable reconnect', async () => {
	for (const [code, reason] of [[1001, 'going_away'], [4005, 'stale'],
		[4007, 'slow_consumer'], [1011, 'internal_error'], [4002, 'unavailable']]) {
		const { client, clock, WS, last } = setup();
		client.connect();
		await flush();
		last().accept();
		last().serverClose(code, reason);
		assert.equal(client.state, 'reconnecting', `${code} ${reason}`);
		await clock.tick(30000);
		assert.equal(WS.all.length, 2, `${code} ${reason} opened a new socket`);
		assert.deepEqual(WS.all[1].protocols, ['gateway', 'bearer.T0']);
	}
});

test('4001, 4002 capacity and the other fatal closes never reconnect', async () => {
	for (const [code, reason] of [[4001, 'unauthorized'], [4002, 'lobby_full'],
		[4002, 'server_full'], [4003, 'already_connected'], [4004, 'replaced'],
		[4008, 'protocol_abuse'], [4009, 'kicked'], [1008, 'rate_limited'],
		[1009, 'message_too_big'], [4000, 'bad_lobby']]) {
		const { client, clock, WS, last, named } = setup();
		const p = client.connect();
		await flush();
		if (code !== 4001)
			last().accept();
		last().serverClose(code, reason);
		assert.equal(client.state, 'closed', `${code} ${reason}`);
		const [err] = named('error');
		assert.ok(err instanceof GatewayError, `${code} ${reason} is a GatewayError`);
		assert.deepEqual([err.code, err.reason, err.source, err.retryable, err.fatal],
			[code, reason, 'close', false, true]);
		assert.equal(named('close')[0].willReconnect, false);
		await clock.tick(120000);
		assert.equal(WS.all.length, 1, `${code} ${reason} did not reconnect`);
		assert.deepEqual(clock.pending(), [], 'no timer left behind');
		if (code === 4001)
			await assert.rejects(p, (e) => e.code === 4001);
	}
});

test('after 4001, a new connect() asks getToken for a new token', async () => {
	let n = 0;
	const { client, last } = setup({ token: undefined, getToken: async () => `tok${++n}` });
	client.connect().catch(() => {});
	await flush();
	last().serverClose(4001, 'unauthorized');
	assert.equal(client.state, 'closed');
	client.connect();
	await flush();
	assert.deepEqual(last().protocols, ['gateway', 'bearer.tok2']);
});

test('connect() while waiting out a backoff retries at once', async () => {
	const { client, clock, WS, last } = setup({ reconnect: { baseMs: 10000 } });
	client.connect();
	await flush();
	last().accept();
	last().serverClose(1006);
	assert.equal(WS.all.length, 1);
	client.connect();
	await flush();
	assert.equal(WS.all.length, 2, 'no wait');
	assert.deepEqual(clock.pending(), [], 'the backoff timer is gone');
});

test('closePolicy sorts codes', () => {
	assert.equal(closePolicy(4002, 'lobby_full'), 'fatal');
	assert.equal(closePolicy(4002, 'unavailable'), 'retry');
	assert.equal(closePolicy(4006, 'token_expired'), 'token');
	assert.equal(closePolicy(1012, ''), 'retry');
	assert.equal(closePolicy(1002, ''), 'fatal');
	assert.equal(closePolicy(4321, 'new'), 'fatal');
});

test('maxAttempts gives up with a fatal reconnect_failed', async () => {
	const { client, clock, WS, last, named } = setup({ reconnect: { baseMs: 10, maxAttempts: 2 } });
	const p = client.connect();
	await flush();
	last().serverClose(1006);
	await clock.tick(1000);
	last().serverClose(1006);
	await clock.tick(1000);
	last().serverClose(1006);
	assert.equal(WS.all.length, 3);
	assert.equal(client.state, 'closed');
	assert.equal(named('error')[0].code, 'reconnect_failed');
	await assert.rejects(p, (e) => e.code === 'reconnect_failed');
});

test('reconnect: false turns every close into a final one', async () => {
	const { client, clock, WS, last, named } = setup({ reconnect: false });
	client.connect();
	await flush();
	last().accept();
	last().serverClose(1006);
	await clock.tick(60000);
	assert.equal(WS.all.length, 1);
	assert.equal(client.state, 'closed');
	assert.deepEqual([named('error')[0].code, named('error')[0].retryable], [1006, true]);
});

test('close() stops for good, and connect() starts again', async () => {
	const { client, clock, WS, last, named } = setup();
	client.connect();
	await flush();
	last().accept();
	client.close();
	assert.deepEqual(last().closedWith, { code: 1000, reason: 'normal' });
	assert.equal(client.state, 'closed');
	await clock.tick(60000);
	assert.equal(WS.all.length, 1);
	assert.equal(named('error').length, 0, 'closing is not an error');

	/* close() while waiting to reconnect cancels the attempt. */
	const again = client.connect();
	await flush();
	last().serverClose(1006);
	client.close();
	await assert.rejects(again, (e) => e.code === 'closed');
	await clock.tick(60000);
	assert.equal(WS.all.length, 2);
	assert.deepEqual(clock.pending(), []);
});

test('a socket silent for 2.5 heartbeats is dropped and replaced', async () => {
	const { client, clock, WS, last } = setup();
	client.connect();
	await flush();
	last().accept({ heartbeat_interval: 2 });
	await clock.tick(4000);
	last().frame({ type: 'health_ping', timestamp: 1 }); /* re-arms the watchdog */
	await clock.tick(4999);
	assert.equal(client.state, 'open');
	await clock.tick(1);
	assert.equal(client.state, 'reconnecting');
	assert.ok(WS.all[0].closedWith, 'the silent socket was closed');
	await clock.tick(1000);
	assert.equal(WS.all.length, 2);
});

/* --- tokens ---------------------------------------------------------------- */

test('decodeJwtExp reads exp without verifying', () => {
	assert.equal(decodeJwtExp(jwt({ sub: 'a', exp: 1763880000 })), 1763880000);
	assert.equal(decodeJwtExp(jwt({ sub: 'a' })), null);
	assert.equal(decodeJwtExp(jwt({ sub: 'ü', exp: 5 })), 5, 'UTF-8 payloads decode');
	assert.equal(decodeJwtExp('garbage'), null);
	assert.equal(decodeJwtExp(''), null);
});

test('getToken supplies the token, which reconnects reuse while fresh', async () => {
	let n = 0;
	const { client, clock, WS, last } = setup({ token: undefined,
		getToken: async () => `tok${++n}` });
	client.connect();
	await flush();
	assert.deepEqual(last().protocols, ['gateway', 'bearer.tok1']);
	last().accept();
	last().serverClose(1006);
	await clock.tick(1000);
	assert.equal(WS.all.length, 2);
	assert.equal(n, 1, 'a token without exp stays good');
	assert.deepEqual(last().protocols, ['gateway', 'bearer.tok1']);
});

test('4006 token_expired: new token, immediate reconnect', async () => {
	let n = 0;
	const { client, WS, last, named } = setup({ token: undefined,
		getToken: async () => `tok${++n}` });
	client.connect();
	await flush();
	last().accept();
	last().serverClose(4006, 'token_expired');
	assert.equal(client.state, 'reconnecting');
	await flush();
	assert.equal(n, 2);
	assert.equal(WS.all.length, 2, 'reconnected without waiting for a timer');
	assert.deepEqual(last().protocols, ['gateway', 'bearer.tok2']);
	last().accept();
	assert.equal(client.state, 'open');
	assert.equal(named('error').length, 0);
	/* A token that keeps expiring backs off instead of spinning. */
	last().serverClose(4006, 'token_expired');
	await flush();
	last().serverClose(4006, 'token_expired');
	await flush();
	assert.equal(WS.all.length, 3, 'the second 4006 in a row waits');
});

test('4006 with a fixed token is fatal', async () => {
	const { client, last, named } = setup();
	client.connect();
	await flush();
	last().accept();
	last().serverClose(4006, 'token_expired');
	assert.equal(client.state, 'closed');
	assert.equal(named('error')[0].code, 4006);
});

test('the token is refreshed refreshSkewS before exp by reconnecting', async () => {
	const { clock } = setup();
	const nowS = () => Math.floor(clock.now() / 1000);
	let n = 0;
	const tokens = [];
	const { client, WS, last, named } = setup({ token: undefined, refreshSkewS: 30,
		idleTimeoutFactor: 0, /* no pings in this test: no watchdog either */
		getToken: async () => { const t = jwt({ sub: 'alice', exp: nowS() + 120, n: ++n }); tokens.push(t); return t; },
		setTimeout: clock.setTimeout, clearTimeout: clock.clearTimeout, now: clock.now });
	client.connect();
	await flush();
	last().accept();
	assert.equal(n, 1);
	await clock.tick(89_000);
	assert.equal(n, 1, 'not yet');
	await clock.tick(1000);
	assert.equal(n, 2, 'fetched 30 s before exp');
	assert.deepEqual(WS.all[0].closedWith, { code: 1000, reason: 'token_refresh' });
	assert.equal(WS.all.length, 2, 'new socket after the old one closed');
	assert.deepEqual(last().protocols, ['gateway', `bearer.${tokens[1]}`]);
	last().accept();
	assert.deepEqual(named('state'), ['connecting', 'open', 'reconnecting', 'open']);
	assert.equal(named('error').length, 0);
	await clock.tick(90_000);
	assert.equal(n, 3, 'and again for the next token');
});

test('a failing getToken is reported and retried with backoff', async () => {
	let fail = true;
	const { client, clock, WS, last, named } = setup({ token: undefined,
		reconnect: { baseMs: 100 },
		getToken: async () => { if (fail) throw new Error('503'); return 'ok'; } });
	const p = client.connect();
	await flush();
	assert.equal(WS.all.length, 0);
	const [err] = named('error');
	assert.deepEqual([err.code, err.source, err.retryable, err.fatal],
		['token_unavailable', 'client', true, false]);
	assert.equal(client.state, 'reconnecting');
	fail = false;
	await clock.tick(50);
	assert.equal(WS.all.length, 1);
	last().accept();
	assert.equal((await p).type, 'welcome');
});

test('listeners may close() the client at any point', async () => {
	/* From `open`: no refresh or watchdog timer survives. */
	const exp = Math.floor(Date.now() / 1000) + 3600;
	let s = setup({ token: undefined, getToken: async () => jwt({ exp }) });
	s.client.on('open', () => s.client.close());
	s.client.connect();
	await flush();
	s.last().accept();
	assert.equal(s.client.state, 'closed');
	assert.deepEqual(s.clock.pending(), []);

	/* From `close` on a retryable close: no reconnect timer. */
	s = setup();
	s.client.on('close', () => s.client.close());
	s.client.connect();
	await flush();
	s.last().accept();
	s.last().serverClose(1006);
	assert.equal(s.client.state, 'closed');
	assert.deepEqual(s.clock.pending(), []);

	/* From `error` when getToken fails: no retry timer. */
	s = setup({ token: undefined, getToken: async () => { throw new Error('down'); } });
	s.client.on('error', () => s.client.close());
	s.client.connect().catch(() => {});
	await flush();
	assert.equal(s.client.state, 'closed');
	assert.deepEqual(s.clock.pending(), []);

	/* From `state` while connecting: no socket at all. */
	s = setup();
	s.client.on('state', (st) => { if (st === 'connecting') s.client.close(); });
	s.client.connect().catch(() => {});
	await flush();
	assert.equal(s.WS.all.length, 0);
	assert.equal(s.client.state, 'closed');
});

test('an error listener may connect() again after a fatal close', async () => {
	const { client, WS, last } = setup();
	let again = null;
	client.once('error', () => { again = client.connect(); });
	client.connect().catch(() => {});
	await flush();
	last().serverClose(4002, 'lobby_full');
	assert.equal(client.state, 'connecting');
	await flush();
	assert.equal(WS.all.length, 2);
	last().accept();
	assert.equal((await again).type, 'welcome');
});

test('a throwing listener does not break the client', async () => {
	const errors = [];
	const { client, last } = setup({ reportError: (e) => errors.push(e) });
	client.on('message', () => { throw new Error('listener bug'); });
	client.connect();
	await flush();
	last().accept();
	last().frame({ type: 'message', data: 1 });
	last().frame({ type: 'health_ping', timestamp: 2 });
	assert.equal(errors[0].message, 'listener bug');
	assert.deepEqual(last().sent, [{ type: 'health_pong', timestamp: 2 }]);
	assert.equal(client.state, 'open');
});

/* --- resume (servers with --history-size) ------------------------------------ */

test('a reconnect resumes from the last offset with since and epoch', async () => {
	const { client, clock, last, named } = setup();
	client.connect();
	await flush();
	assert.equal(last().url, 'ws://gw.test:8080/ws/chess', 'no position yet: a plain join');
	last().accept({ epoch: 'e1', offset: 5, recovered: false });
	assert.deepEqual(client.position, { epoch: 'e1', offset: 5 });
	last().frame({ type: 'message', lobby: 'chess', from: 'bob', data: 1, offset: 6 });
	last().frame({ type: 'message', lobby: 'chess', from: 'bob', data: 2, offset: 7 });
	assert.deepEqual(client.position, { epoch: 'e1', offset: 7 });

	last().serverClose(1006);
	await clock.tick(60000);
	assert.equal(last().url, 'ws://gw.test:8080/ws/chess?since=7&epoch=e1');
	/* Recovered: the welcome's offset is the lobby's; the replay moves ours. */
	last().accept({ epoch: 'e1', offset: 9, recovered: true });
	assert.deepEqual(client.position, { epoch: 'e1', offset: 7 });
	last().frame({ type: 'message', lobby: 'chess', from: 'bob', data: 3, offset: 8 });
	assert.deepEqual(client.position, { epoch: 'e1', offset: 8 });
	/* Cut in the middle of the replay: the next resume asks from 8, not 9. */
	last().serverClose(1001, 'going_away');
	await clock.tick(60000);
	assert.equal(last().url, 'ws://gw.test:8080/ws/chess?since=8&epoch=e1');
	last().accept({ epoch: 'e1', offset: 9, recovered: true });
	last().frame({ type: 'message', lobby: 'chess', from: 'bob', data: 4, offset: 9 });
	assert.deepEqual(named('message').map((m) => m.data), [1, 2, 3, 4]);
	assert.deepEqual(client.position, { epoch: 'e1', offset: 9 });
});

test('recovered false starts at the lobby present under the new epoch', async () => {
	const { client, clock, last, named } = setup({ position: { epoch: 'old', offset: 40 } });
	client.connect();
	await flush();
	assert.equal(last().url, 'ws://gw.test:8080/ws/chess?since=40&epoch=old');
	last().accept({ epoch: 'new', offset: 2, recovered: false });
	assert.equal(named('open')[0].recovered, false, 'the application learns it must re-sync');
	assert.deepEqual(client.position, { epoch: 'new', offset: 2 });
	last().serverClose(1006);
	await clock.tick(60000);
	assert.equal(last().url, 'ws://gw.test:8080/ws/chess?since=2&epoch=new');
});

test('a server without history gets plain reconnects', async () => {
	const { client, clock, last } = setup();
	client.connect();
	await flush();
	last().accept();
	last().frame({ type: 'message', lobby: 'chess', from: 'bob', data: 1 });
	assert.equal(client.position, null);
	last().serverClose(1006);
	await clock.tick(60000);
	assert.equal(last().url, 'ws://gw.test:8080/ws/chess');
});

test('resume: false never asks, and a bad stored position is ignored', async () => {
	const { client, clock, last } = setup({ resume: false });
	client.connect();
	await flush();
	last().accept({ epoch: 'e1', offset: 5, recovered: false });
	assert.equal(client.position, null);
	last().serverClose(1006);
	await clock.tick(60000);
	assert.equal(last().url, 'ws://gw.test:8080/ws/chess');

	const store = new Map([['gateway:position:/ws/chess',
		'{"epoch":"a b","offset":3}']]);
	const storage = { getItem: (k) => store.get(k) ?? null, setItem: (k, v) => store.set(k, v),
		removeItem: (k) => store.delete(k) };
	const s2 = setup({ storage });
	assert.equal(s2.client.position, null, 'an epoch the server would refuse is not sent');
});

test('the position survives in storage (a page reload)', async () => {
	const store = new Map();
	const storage = { getItem: (k) => store.get(k) ?? null, setItem: (k, v) => store.set(k, v),
		removeItem: (k) => store.delete(k) };
	const a = setup({ storage });
	a.client.connect();
	await flush();
	a.last().accept({ epoch: 'e7', offset: 0, recovered: false });
	a.last().frame({ type: 'message', lobby: 'chess', from: 'bob', data: 1, offset: 1 });
	assert.deepEqual([...store.keys()], ['gateway:position:/ws/chess']);
	/* The page goes away; a new page's client, for another node of the
	 * cluster, starts from the saved position. */
	const b = setup({ storage, url: 'ws://gw2.test:8080' });
	assert.deepEqual(b.client.position, { epoch: 'e7', offset: 1 });
	b.client.connect();
	await flush();
	assert.equal(b.last().url, 'ws://gw2.test:8080/ws/chess?since=1&epoch=e7');
	b.client.resetPosition();
	assert.equal(store.size, 0);
});
