/*
 * gateway.js — the browser and Node client of the WebSocket gateway.
 *
 * One dependency-free ES module. It owns one logical connection to one lobby:
 * it opens the WebSocket with the token as a subprotocol (never in the URL),
 * answers the server's health pings, turns server frames into events,
 * reconnects with exponential backoff and full jitter when the close code
 * says a retry can help, fetches a fresh token when the old one expired or is
 * about to, and surfaces every close that a retry cannot fix as a typed
 * GatewayError. docs/client.md is the user's guide; docs/protocol.md is the
 * wire protocol this file speaks.
 *
 * Exports: GatewayClient, GatewayError, CLOSE_POLICY, closePolicy(),
 * decodeJwtExp(), backoffDelay().
 *
 * The connection is a small state machine with named states and one
 * transition function (setState):
 *
 *   closed ──connect()──▶ connecting ──welcome──▶ open
 *                             │                    │ retryable close, 4006,
 *                             │                    │ token refresh, idle socket
 *                             ▼                    ▼
 *                          closed ◀──fatal── reconnecting ──welcome──▶ open
 *
 * Every socket gets its own handlers; an event from a socket that is no
 * longer the current one is ignored, so a late close of a dropped socket can
 * never disturb its successor.
 *
 * Resume (servers with --history-size): the client remembers where it is in
 * its lobby -- the epoch from the welcome and the offset of the last message
 * -- and every reconnect asks for what it missed (?since=OFFSET&epoch=E).
 * The server replays it before anything live, or says recovered: false
 * (the history no longer has it): the `open` event's welcome tells which.
 * With `storage` (sessionStorage, say) the position survives a page reload.
 */

/* WebSocket.readyState values; an injected constructor may lack the statics. */
const WS_OPEN = 1;

/* Lobby names the gateway accepts (docs/protocol.md); others close with 4000. */
const LOBBY_RE = /^[A-Za-z0-9_.:-]{1,64}$/;

/* setTimeout's delay is a signed 32-bit count of milliseconds. */
const MAX_TIMER_MS = 0x7fffffff;

/*
 * What each close code means to the client: retry it or give up.
 *
 *   'retry'   reconnect with backoff (network loss, node going away, ...)
 *   'token'   fetch a fresh token, then reconnect at once (needs getToken)
 *   'fatal'   surface a GatewayError and stay closed: retrying cannot help
 *             (bad credentials, capacity, policy, abuse) or would fight the
 *             server (replaced, kicked, rate limited)
 *
 * 4002 carries three reasons; only `unavailable` (Redis unreachable, a
 * transient cluster fault) is worth retrying, the capacity reasons are not.
 * A code not in this table is fatal unless it is a 1xxx transport code.
 */
export const CLOSE_POLICY = Object.freeze({
	1000: 'fatal',   /* normal: the server does not close normally unasked */
	1001: 'retry',   /* going_away: node shutting down */
	1005: 'retry',   /* no status: the socket just ended */
	1006: 'retry',   /* abnormal: network loss, handshake failure */
	1008: 'fatal',   /* rate_limited */
	1009: 'fatal',   /* message_too_big: a client bug */
	1011: 'retry',   /* internal_error */
	1012: 'retry',   /* service restart */
	1013: 'retry',   /* try again later */
	1014: 'retry',   /* bad gateway */
	4000: 'fatal',   /* bad_lobby */
	4001: 'fatal',   /* unauthorized */
	4002: 'fatal',   /* server_full / lobby_full; unavailable: see above */
	4003: 'fatal',   /* already_connected */
	4004: 'fatal',   /* replaced: the newer connection lives */
	4005: 'retry',   /* stale: our pongs did not arrive */
	4006: 'token',   /* token_expired */
	4007: 'retry',   /* slow_consumer */
	4008: 'fatal',   /* protocol_abuse */
	4009: 'fatal',   /* kicked */
});

/**
 * The policy for one close: 'retry', 'token' or 'fatal'.
 * @param {number} code
 * @param {string} reason
 */
export function closePolicy(code, reason)
{
	if (code === 4002 && reason === 'unavailable')
		return 'retry';
	if (Object.prototype.hasOwnProperty.call(CLOSE_POLICY, code))
		return CLOSE_POLICY[code];
	return code >= 1000 && code < 2000 && code !== 1002 && code !== 1003 &&
		code !== 1007 && code !== 1010 ? 'retry' : 'fatal';
}

/**
 * An error the client reports through the `error` event, a rejected promise
 * or a throw. `source` tells where it came from:
 *
 *   'close'   the server (or the network) closed the connection; `code` is
 *             the close code (4001, 1006, ...), `reason` the close reason
 *   'server'  the server sent an `error` frame; `code` is its code string
 *             ("rate_limited", "user_offline", ...), `reason` its message,
 *             `frame` the whole frame; the connection stays open
 *   'client'  the client itself: `code` is one of "not_open",
 *             "message_too_big", "token_unavailable", "timeout", "closed",
 *             "reconnect_failed"
 *
 * `retryable` says whether trying again later can succeed; `fatal` that the
 * client has given up and is now in state `closed`.
 */
export class GatewayError extends Error {
	constructor({ code, reason = '', source, retryable = false, fatal = false,
		frame, cause })
	{
		super(`gateway ${source} error ${code}${reason ? `: ${reason}` : ''}`,
			cause === undefined ? undefined : { cause });
		this.name = 'GatewayError';
		this.code = code;
		this.reason = reason;
		this.source = source;
		this.retryable = retryable;
		this.fatal = fatal;
		if (frame !== undefined)
			this.frame = frame;
	}
}

/* Server error codes after which the same request may succeed later. */
const RETRYABLE_SERVER_ERRORS = new Set(['rate_limited', 'unavailable']);

/**
 * The `exp` claim of a JWT in seconds since the epoch, or null when the token
 * has none or is not a JWT. The signature is not checked: the client only
 * needs to know when to ask for a new token.
 * @param {string} token
 */
export function decodeJwtExp(token)
{
	try {
		const part = String(token).split('.')[1];
		let b64 = part.replace(/-/g, '+').replace(/_/g, '/');
		b64 += '='.repeat((4 - b64.length % 4) % 4);
		const bytes = Uint8Array.from(atob(b64), (ch) => ch.charCodeAt(0));
		const exp = JSON.parse(new TextDecoder().decode(bytes)).exp;
		return typeof exp === 'number' && Number.isFinite(exp) ? exp : null;
	} catch {
		return null;
	}
}

/**
 * The wait before reconnect attempt `attempt` (0 for the first):
 * cap = min(maxMs, baseMs * 2^attempt), then with jitter j in [0, 1] a
 * uniform draw from [cap * (1 - j), cap]. j = 1 is "full jitter", which
 * spreads a crowd of clients that lost the same node evenly over the window
 * instead of letting them return in waves.
 * @param {number} attempt
 * @param {{baseMs: number, maxMs: number, jitter: number}} opts
 * @param {() => number} random  a draw from [0, 1)
 */
export function backoffDelay(attempt, { baseMs, maxMs, jitter }, random)
{
	const cap = Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 30));
	return Math.round(cap * (1 - jitter * random()));
}

/* Text of a WebSocket message event: browsers give strings for text frames,
 * some Node libraries give Buffers or ArrayBuffers. */
function frameText(data)
{
	if (typeof data === 'string')
		return data;
	if (data instanceof ArrayBuffer || ArrayBuffer.isView(data))
		return new TextDecoder().decode(data);
	return String(data);
}

/* Called once per frame type; anything else is reported as a `frame` only. */
const FRAME_EVENTS = new Set(['message', 'direct', 'presence_join',
	'presence_leave', 'gap']);

/* The path of a ws:// URL (/ws/LOBBY): what a stored position is filed under. */
function lobbyPath(url)
{
	try {
		return new URL(url).pathname;
	} catch {
		return url;
	}
}

/* A position the server gave: an epoch it accepts back, a safe offset. */
const EPOCH_RE = /^[A-Za-z0-9_-]{1,32}$/;
function validPosition(p)
{
	return p && typeof p === 'object' && typeof p.epoch === 'string' &&
		EPOCH_RE.test(p.epoch) && Number.isSafeInteger(p.offset) && p.offset >= 0;
}

export class GatewayClient {
	/**
	 * @param {object} opts  see gateway.d.ts (GatewayClientOptions)
	 */
	constructor(opts = {})
	{
		if (!opts.url)
			throw new TypeError('GatewayClient: `url` is required');
		if (opts.lobby !== undefined && !LOBBY_RE.test(opts.lobby))
			throw new TypeError('GatewayClient: `lobby` must be 1..64 of A-Z a-z 0-9 _ - . :');
		if (!opts.token && typeof opts.getToken !== 'function')
			throw new TypeError('GatewayClient: give `token` or `getToken`');
		const WS = opts.WebSocket ?? globalThis.WebSocket;
		if (typeof WS !== 'function')
			throw new TypeError('GatewayClient: no WebSocket; pass the `WebSocket` option (Node < 22)');

		const base = String(opts.url).replace(/\/+$/, '');
		this.url = opts.lobby === undefined ? base : `${base}/ws/${opts.lobby}`;
		this._WS = WS;
		this._getToken = opts.getToken ?? null;
		this._token = opts.token ?? null;
		this._reconnect = {
			baseMs: 500, maxMs: 30000, jitter: 1, maxAttempts: Infinity,
			...(opts.reconnect ?? {}),
		};
		this._enabled = opts.reconnect !== false;
		this._refreshSkewS = opts.refreshSkewS ?? 30;
		this._presenceTimeoutMs = opts.presenceTimeoutMs ?? 5000;
		this._idleFactor = opts.idleTimeoutFactor ?? 2.5;
		this._setTimeout = opts.setTimeout ?? globalThis.setTimeout.bind(globalThis);
		this._clearTimeout = opts.clearTimeout ?? globalThis.clearTimeout.bind(globalThis);
		this._now = opts.now ?? Date.now;
		this._random = opts.random ?? Math.random;
		this._reportError = opts.reportError ?? ((e) => queueMicrotask(() => { throw e; }));
		this._resume = opts.resume !== false;
		this._storage = opts.storage ?? null;
		/* Per lobby, not per node: any node of the cluster resumes it. */
		this._storageKey = `gateway:position:${lobbyPath(this.url)}`;
		/* {epoch, offset} in the lobby's history, or null (see resume). */
		this.position = null;
		if (this._resume && validPosition(opts.position))
			this.position = { epoch: opts.position.epoch, offset: opts.position.offset };
		else if (this._resume && this._storage)
			this.position = this._loadPosition();

		this.state = 'closed';
		this.welcome = null;     /* the last welcome frame */
		this._ws = null;         /* the current socket */
		this._listeners = new Map();
		this._attempt = 0;       /* failed attempts since the last welcome */
		this._forceToken = false;
		this._timers = { retry: null, refresh: null, idle: null, swap: null };
		this._pending = [];      /* presence requests, oldest first */
		this._connectWaiters = null;
		this._generation = 0;    /* bumped by close() to orphan async work */
	}

	/* --- resume ---------------------------------------------------------- */

	_loadPosition()
	{
		try {
			const p = JSON.parse(this._storage.getItem(this._storageKey));
			return validPosition(p) ? { epoch: p.epoch, offset: p.offset } : null;
		} catch {
			return null;
		}
	}

	_savePosition()
	{
		if (!this._storage)
			return;
		try {
			if (this.position)
				this._storage.setItem(this._storageKey, JSON.stringify(this.position));
			else
				this._storage.removeItem(this._storageKey);
		} catch { /* storage full or denied: resume within this page only */ }
	}

	/* The URL of the next attempt: with since/epoch when there is a position. */
	_attemptUrl()
	{
		const p = this.position;
		if (!this._resume || !p)
			return this.url;
		const sep = this.url.includes('?') ? '&' : '?';
		return `${this.url}${sep}since=${p.offset}&epoch=${encodeURIComponent(p.epoch)}`;
	}

	/**
	 * Forget the position: the next connection starts at the lobby's present
	 * (after the application re-synced from its backend, say).
	 */
	resetPosition()
	{
		this.position = null;
		this._savePosition();
	}

	/* --- events ---------------------------------------------------------- */

	/**
	 * Add a listener. Events: open, message, direct, presence,
	 * presence_join, presence_leave, gap, error, state, close, frame.
	 * Returns the client, for chaining.
	 */
	on(event, fn)
	{
		if (!this._listeners.has(event))
			this._listeners.set(event, new Set());
		this._listeners.get(event).add(fn);
		return this;
	}

	/** Remove a listener added with on() or once(). */
	off(event, fn)
	{
		const set = this._listeners.get(event);
		if (set) {
			set.delete(fn);
			for (const f of set)
				if (f._once === fn)
					set.delete(f);
		}
		return this;
	}

	/** Add a listener that runs once. */
	once(event, fn)
	{
		const wrap = (...args) => { this.off(event, wrap); fn(...args); };
		wrap._once = fn;
		return this.on(event, wrap);
	}

	/*
	 * Listeners run in the middle of transitions and may call anything,
	 * close() included. So _emit (and _setState) return false when a
	 * listener closed the client, and the caller then stops at once instead
	 * of arming timers or opening sockets for a client that is gone. A
	 * listener that throws goes to reportError (by default rethrown from a
	 * microtask, where the host reports it as usual) and the rest carry on.
	 */
	_emit(event, ...args)
	{
		const gen = this._generation;
		const set = this._listeners.get(event);
		for (const fn of set ? [...set] : []) {
			try {
				fn(...args);
			} catch (e) {
				this._reportError(e);
			}
		}
		return gen === this._generation;
	}

	/* --- the state machine ----------------------------------------------- */

	/* The one place the state changes; false if a listener closed the client. */
	_setState(next)
	{
		if (this.state === next)
			return true;
		const prev = this.state;
		this.state = next;
		return this._emit('state', next, prev);
	}

	/**
	 * Open the connection. Resolves with the welcome frame once admitted (at
	 * once if already open); rejects with a GatewayError if the client gives
	 * up first (a fatal close, close(), or maxAttempts used up). Retryable
	 * failures do not reject: the client keeps trying. Called while waiting
	 * out a backoff delay, it tries again at once.
	 */
	connect()
	{
		if (this.state === 'open')
			return Promise.resolve(this.welcome);
		if (!this._connectWaiters) {
			const w = {};
			w.promise = new Promise((res, rej) => { w.resolve = res; w.reject = rej; });
			/* Mark it handled: a caller that ignores it must not crash Node. */
			w.promise.catch(() => {});
			this._connectWaiters = w;
		}
		const { promise } = this._connectWaiters; /* a listener may settle it */
		if (this.state === 'closed') {
			this._attempt = 0;
			if (this._setState('connecting'))
				this._open();
		} else if (this._timers.retry !== null) {
			/* Waiting out a backoff: the caller knows better (e.g. `online`). */
			this._clearTimeout(this._timers.retry);
			this._timers.retry = null;
			this._open();
		}
		return promise;
	}

	/**
	 * Close the connection for good (until the next connect()). Pending
	 * presence() calls and a pending connect() reject with code "closed".
	 */
	close(code = 1000, reason = 'normal')
	{
		this._generation++;
		const ws = this._ws;
		this._detach();
		if (ws) {
			try { ws.close(code, reason); } catch { /* already closing */ }
		}
		this._stop(new GatewayError({ code: 'closed', reason: 'closed by the client',
			source: 'client' }));
	}

	/* Clear every timer and forget the socket (without closing it). */
	_detach()
	{
		for (const k of Object.keys(this._timers)) {
			if (this._timers[k] !== null)
				this._clearTimeout(this._timers[k]);
			this._timers[k] = null;
		}
		if (this._ws) {
			const ws = this._ws;
			ws.onopen = ws.onmessage = ws.onclose = null;
			/* Not null: the `ws` package throws on an error nobody listens to. */
			ws.onerror = () => {};
		}
		this._ws = null;
	}

	/* Enter `closed`: fail whatever waits, then tell the listeners. */
	_stop(err)
	{
		this._failPending(err);
		if (this._connectWaiters) {
			this._connectWaiters.reject(err);
			this._connectWaiters = null;
		}
		this._setState('closed');
	}

	/* Does the next attempt need a new token? */
	_needsToken()
	{
		if (!this._getToken)
			return false;
		if (!this._token || this._forceToken)
			return true;
		const exp = decodeJwtExp(this._token);
		return exp !== null && exp * 1000 - this._now() < this._refreshSkewS * 1000;
	}

	/* One connection attempt: get a token if needed, then open a socket. */
	async _open()
	{
		const gen = this._generation;
		if (this._needsToken()) {
			let token;
			try {
				token = await this._getToken();
				if (typeof token !== 'string' || !token)
					throw new TypeError('getToken() returned no token');
			} catch (cause) {
				if (gen !== this._generation)
					return;
				if (this._emit('error', new GatewayError({ code: 'token_unavailable',
					reason: String(cause?.message ?? cause), source: 'client',
					retryable: true, cause })))
					this._retry();
				return;
			}
			if (gen !== this._generation)
				return;
			this._token = token;
			this._forceToken = false;
		}

		let ws;
		try {
			ws = new this._WS(this._attemptUrl(), ['gateway', `bearer.${this._token}`]);
		} catch (cause) {
			/* A malformed URL is a bug, not a network fault. */
			this._fatal(new GatewayError({ code: 'bad_url', reason: String(cause?.message ?? cause),
				source: 'client', fatal: true, cause }));
			return;
		}
		this._ws = ws;
		ws.onmessage = (ev) => { if (this._ws === ws) this._onFrame(frameText(ev.data)); };
		ws.onclose = (ev) => { if (this._ws === ws) this._onClose(ev.code ?? 1006, ev.reason ?? ''); };
		/* `error` is always followed by `close`, which carries the code. */
		ws.onerror = () => {};
	}

	_send(obj)
	{
		const ws = this._ws;
		if (this.state !== 'open' || !ws || ws.readyState !== WS_OPEN)
			throw new GatewayError({ code: 'not_open', reason: `the client is ${this.state}`,
				source: 'client', retryable: true });
		const text = JSON.stringify(obj);
		const max = this.welcome?.max_message_size;
		if (max && new TextEncoder().encode(text).length > max)
			throw new GatewayError({ code: 'message_too_big',
				reason: `the message exceeds ${max} bytes`, source: 'client' });
		ws.send(text);
	}

	_onFrame(text)
	{
		let f;
		try {
			f = JSON.parse(text);
		} catch {
			return; /* the server only sends JSON; ignore anything else */
		}
		if (!f || typeof f !== 'object' || typeof f.type !== 'string')
			return;
		this._armIdle();
		if (!this._emit('frame', f))
			return;

		switch (f.type) {
		case 'welcome':
			this._onWelcome(f);
			break;
		case 'health_ping':
			try {
				this._send({ type: 'health_pong', timestamp: f.timestamp });
			} catch { /* closing: the server will see the close instead */ }
			break;
		case 'presence': {
			const p = this._pending.shift();
			if (p) {
				this._clearTimeout(p.timer);
				p.resolve(f);
			}
			this._emit('presence', f);
			break;
		}
		case 'error':
			this._emit('error', new GatewayError({ code: f.code ?? 'unknown',
				reason: f.message ?? '', source: 'server', frame: f,
				retryable: RETRYABLE_SERVER_ERRORS.has(f.code) }));
			break;
		case 'message':
			/* Before the listeners: one that closes still leaves us here. */
			if (this._resume && this.position && Number.isSafeInteger(f.offset) &&
			    f.lobby === this.welcome?.lobby) {
				this.position.offset = f.offset;
				this._savePosition();
			}
			this._emit('message', f);
			break;
		default:
			if (FRAME_EVENTS.has(f.type))
				this._emit(f.type, f);
		}
	}

	_onWelcome(f)
	{
		this.welcome = f;
		/*
		 * History on: a recovered resume keeps our offset (the replay that
		 * follows moves it); otherwise we start at the lobby's present. No
		 * epoch: the server keeps no history, there is nothing to resume.
		 */
		if (this._resume) {
			const p = { epoch: f.epoch, offset: f.offset };
			if (!validPosition(p))
				this.position = null;
			else if (!(f.recovered === true && this.position?.epoch === f.epoch))
				this.position = p;
			this._savePosition();
		}
		this._attempt = 0;
		if (this._connectWaiters) {
			this._connectWaiters.resolve(f);
			this._connectWaiters = null;
		}
		if (!this._setState('open'))
			return;
		this._scheduleRefresh();
		this._armIdle();
		this._emit('open', f);
	}

	_onClose(code, reason)
	{
		this._detach();
		let policy = closePolicy(code, reason);
		if (policy === 'token' && !this._getToken)
			policy = 'fatal'; /* a fixed token cannot be renewed */
		const willReconnect = policy !== 'fatal' && this._enabled;
		if (!this._emit('close', { code, reason, willReconnect }))
			return;
		if (code === 4001)
			this._forceToken = true; /* a later connect() must not reuse it */
		if (policy === 'fatal' || !this._enabled) {
			this._fatal(new GatewayError({ code, reason, source: 'close',
				retryable: policy !== 'fatal', fatal: true }));
			return;
		}
		this._failPending(new GatewayError({ code, reason, source: 'close',
			retryable: true }));
		if (policy === 'token') {
			this._forceToken = true;
			/* At once the first time; a token that keeps expiring backs off. */
			if (this._attempt === 0) {
				this._attempt = 1;
				if (this._setState('reconnecting'))
					this._open();
				return;
			}
		}
		this._retry();
	}

	/*
	 * A close retrying cannot fix: stay closed, then report it (in this
	 * order, so an `error` listener may call connect() to start afresh).
	 */
	_fatal(err)
	{
		this._detach();
		this._stop(err);
		this._emit('error', err);
	}

	/* Schedule the next attempt, or give up after maxAttempts. */
	_retry()
	{
		if (this._attempt >= this._reconnect.maxAttempts) {
			this._fatal(new GatewayError({ code: 'reconnect_failed',
				reason: `gave up after ${this._attempt} attempts`, source: 'client',
				retryable: true, fatal: true }));
			return;
		}
		const delay = backoffDelay(this._attempt++, this._reconnect, this._random);
		if (!this._setState('reconnecting'))
			return;
		this._timers.retry = this._setTimeout(() => {
			this._timers.retry = null;
			this._open();
		}, delay);
	}

	/*
	 * The server checks `exp` only every heartbeat, then closes with 4006;
	 * reconnecting a little before that avoids both the close and messages
	 * lost in between. The token is fetched first, so a failing getToken
	 * leaves the working connection alone (it is retried in a while).
	 */
	_scheduleRefresh()
	{
		if (!this._getToken)
			return;
		const exp = decodeJwtExp(this._token);
		if (exp === null)
			return;
		const left = exp * 1000 - this._now();
		let delay = left - this._refreshSkewS * 1000;
		if (delay < 1000)
			delay = Math.max(1000, left / 2); /* a token shorter-lived than the skew */
		this._timers.refresh = this._setTimeout(() => {
			this._timers.refresh = null;
			if (delay > MAX_TIMER_MS)
				this._scheduleRefresh();
			else
				this._refresh();
		}, Math.min(delay, MAX_TIMER_MS));
	}

	async _refresh()
	{
		const gen = this._generation;
		const ws = this._ws;
		let token;
		try {
			token = await this._getToken();
			if (typeof token !== 'string' || !token)
				throw new TypeError('getToken() returned no token');
		} catch (cause) {
			if (gen !== this._generation || ws !== this._ws)
				return;
			if (!this._emit('error', new GatewayError({ code: 'token_unavailable',
				reason: String(cause?.message ?? cause), source: 'client',
				retryable: true, cause })))
				return;
			this._timers.refresh = this._setTimeout(() => {
				this._timers.refresh = null;
				this._refresh();
			}, 5000);
			return;
		}
		if (gen !== this._generation || ws !== this._ws || this.state !== 'open')
			return;
		this._token = token;
		this._forceToken = false;
		this._swap(ws, 'token_refresh');
	}

	/*
	 * Replace the current socket by a new one: close the old one first and
	 * wait for its close (at most 2 s) so that under --user-policy=reject the
	 * server has released the user before the new connection asks to join.
	 */
	_swap(ws, why)
	{
		this._failPending(new GatewayError({ code: 'closed', reason: why,
			source: 'client', retryable: true }));
		for (const k of ['refresh', 'idle']) {
			if (this._timers[k] !== null)
				this._clearTimeout(this._timers[k]);
			this._timers[k] = null;
		}
		if (!this._setState('reconnecting'))
			return;
		const next = () => {
			if (this._ws !== ws)
				return;
			this._detach();
			this._open();
		};
		ws.onclose = next;
		this._timers.swap = this._setTimeout(next, 2000);
		try { ws.close(1000, why); } catch { next(); }
	}

	/*
	 * The server sends something at least every heartbeat_interval; a socket
	 * silent for idleTimeoutFactor times that is dead even if the OS has not
	 * noticed (a half-open TCP connection can take minutes to fail).
	 */
	_armIdle()
	{
		const hb = this.welcome?.heartbeat_interval;
		if (this.state !== 'open' || !hb || !this._idleFactor)
			return;
		if (this._timers.idle !== null)
			this._clearTimeout(this._timers.idle);
		const ws = this._ws;
		this._timers.idle = this._setTimeout(() => {
			this._timers.idle = null;
			if (this._ws !== ws)
				return;
			try { ws.close(); } catch { /* already closing */ }
			this._onClose(1006, 'idle');
		}, hb * 1000 * this._idleFactor);
	}

	_failPending(err)
	{
		const pending = this._pending;
		this._pending = [];
		for (const p of pending) {
			this._clearTimeout(p.timer);
			p.reject(err);
		}
	}

	/* --- sending --------------------------------------------------------- */

	/**
	 * Send `data` (any JSON value) to every member of the lobby; with
	 * `echo: true` the sender gets it too. Throws a GatewayError `not_open`
	 * unless the state is `open`, `message_too_big` past the server's limit.
	 */
	broadcast(data, { echo = false } = {})
	{
		if (data === undefined)
			throw new TypeError('broadcast: `data` is required');
		this._send(echo ? { type: 'broadcast', data, echo: true } : { type: 'broadcast', data });
	}

	/** Send `data` to every connection of user `to`. */
	direct(to, data)
	{
		if (typeof to !== 'string' || !to)
			throw new TypeError('direct: `to` must be a user id');
		if (data === undefined)
			throw new TypeError('direct: `data` is required');
		this._send({ type: 'direct', to, data });
	}

	/**
	 * Ask for the lobby's members. Resolves with the presence frame
	 * ({type, lobby, count, users}); rejects with a GatewayError on `not_open`,
	 * after `timeoutMs` (code "timeout"), or when the connection closes first.
	 * Replies arrive in request order, so each answers the oldest request.
	 */
	presence({ timeoutMs = this._presenceTimeoutMs } = {})
	{
		return new Promise((resolve, reject) => {
			this._send({ type: 'presence' });
			const p = { resolve, reject, timer: null };
			p.timer = this._setTimeout(() => {
				const i = this._pending.indexOf(p);
				if (i >= 0)
					this._pending.splice(i, 1);
				reject(new GatewayError({ code: 'timeout',
					reason: `no presence reply in ${timeoutMs} ms`, source: 'client',
					retryable: true }));
			}, timeoutMs);
			this._pending.push(p);
		});
	}
}
