/*
 * gateway.d.ts — TypeScript declarations for gateway.js, the browser and
 * Node client of the WebSocket gateway. docs/client.md is the guide;
 * docs/protocol.md the wire protocol.
 */

/** Any JSON value: what `data` carries in broadcasts and directs. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** The client's connection state. */
export type GatewayState = 'connecting' | 'open' | 'reconnecting' | 'closed';

/* --- server frames ---------------------------------------------------------- */

export interface WelcomeFrame {
	type: 'welcome';
	connection_id: string;
	user: string;
	lobby: string;
	/** The node that serves this connection. */
	node: string;
	/** Seconds between the server's health pings. */
	heartbeat_interval: number;
	/** Largest message, in bytes, the server accepts from this client. */
	max_message_size: number;
	/** History on (--history-size): the lobby's epoch. */
	epoch?: string;
	/** History on: the lobby's offset now (its last message). */
	offset?: number;
	/**
	 * History on: true when this connection resumed and everything missed
	 * follows (replayed before anything live); false when the history could
	 * not give it (the application should re-sync from its backend).
	 */
	recovered?: boolean;
}

/** Where a client is in its lobby's history (see GatewayClient.position). */
export interface GatewayPosition {
	epoch: string;
	offset: number;
}

export interface MessageFrame<D = Json> {
	type: 'message';
	/** The lobby, or "*" for a cluster-wide broadcast from the server API. */
	lobby: string;
	from: string;
	data: D;
	/** History on: the message's offset in its lobby (gap-free, increasing). */
	offset?: number;
}

export interface DirectFrame<D = Json> {
	type: 'direct';
	from: string;
	data: D;
}

export interface PresenceFrame {
	type: 'presence';
	lobby: string;
	count: number;
	/** Each user once, in no particular order. */
	users: string[];
}

export interface PresenceJoinFrame {
	type: 'presence_join';
	lobby: string;
	user: string;
	connection_id: string;
}

export interface PresenceLeaveFrame {
	type: 'presence_leave';
	lobby: string;
	user: string;
	connection_id: string;
	/** "closed", or a close reason: "stale", "replaced", "kicked", ... */
	reason: string;
}

/** Lobby messages from other nodes were lost (`missed` of them; 0: unknown). */
export interface GapFrame {
	type: 'gap';
	lobby: string;
	missed: number;
}

export interface ErrorFrame {
	type: 'error';
	code: 'bad_json' | 'bad_message' | 'unknown_type' | 'binary_not_supported'
		| 'rate_limited' | 'user_offline' | 'unavailable' | string;
	message: string;
}

export interface HealthPingFrame {
	type: 'health_ping';
	/** The server's wall clock, in milliseconds. */
	timestamp: number;
}

export type ServerFrame = WelcomeFrame | MessageFrame | DirectFrame | PresenceFrame
	| PresenceJoinFrame | PresenceLeaveFrame | GapFrame | ErrorFrame | HealthPingFrame;

/* --- errors ------------------------------------------------------------------ */

/** Codes of errors the client raises itself (source "client"). */
export type ClientErrorCode = 'not_open' | 'message_too_big' | 'token_unavailable'
	| 'timeout' | 'closed' | 'reconnect_failed' | 'bad_url';

/**
 * Every error the client reports: through the `error` event, a rejected
 * promise or a throw.
 *
 * - source "close": the connection closed; `code` is the WebSocket close code
 *   (4001, 4002, 1006, ...) and `reason` the close reason ("lobby_full", ...).
 * - source "server": an `error` frame; `code` is its code ("rate_limited",
 *   "user_offline", ...), `reason` its message, `frame` the frame itself. The
 *   connection stays open.
 * - source "client": raised by the client; `code` is a ClientErrorCode.
 */
export class GatewayError extends Error {
	readonly name: 'GatewayError';
	readonly code: number | ClientErrorCode | ErrorFrame['code'];
	readonly reason: string;
	readonly source: 'close' | 'server' | 'client';
	/** Trying the same thing again later can succeed. */
	readonly retryable: boolean;
	/** The client gave up: it is now in state "closed" and will not reconnect. */
	readonly fatal: boolean;
	/** The server's error frame (source "server" only). */
	readonly frame?: ErrorFrame;
	constructor(init: {
		code: GatewayError['code']; reason?: string; source: GatewayError['source'];
		retryable?: boolean; fatal?: boolean; frame?: ErrorFrame; cause?: unknown;
	});
}

/* --- the client ---------------------------------------------------------------- */

/** A WebSocket constructor: the browser's, Node 22's global one, or e.g. `ws`. */
export interface WebSocketLike {
	readonly readyState: number;
	onopen: ((ev: any) => void) | null;
	onmessage: ((ev: { data: any }) => void) | null;
	onerror: ((ev: any) => void) | null;
	onclose: ((ev: { code: number; reason: string }) => void) | null;
	send(data: string): void;
	close(code?: number, reason?: string): void;
}
export type WebSocketConstructor = new (url: string, protocols: string[]) => WebSocketLike;

export interface ReconnectOptions {
	/** First wait before reconnecting, in ms (default 500). */
	baseMs?: number;
	/** Longest wait, in ms (default 30000). */
	maxMs?: number;
	/** 0..1: the wait is drawn from [cap * (1 - jitter), cap]; 1 (default) is full jitter. */
	jitter?: number;
	/** Consecutive failed attempts before giving up (default Infinity). */
	maxAttempts?: number;
}

export interface GatewayClientOptions {
	/** The gateway's base URL, e.g. "wss://chat.example.com" (no path). */
	url: string;
	/**
	 * The lobby: 1..64 of A-Z a-z 0-9 _ - . :  The client connects to
	 * `${url}/ws/${lobby}`. Leave it out to use `url` as the full URL.
	 */
	lobby?: string;
	/** A fixed token (JWT). Give this or getToken. */
	token?: string;
	/**
	 * Returns a token. Called for the first connection, after a 4006
	 * token_expired close, and `refreshSkewS` before the current token's
	 * `exp`; reconnects reuse the token while it is fresh.
	 */
	getToken?: () => string | Promise<string>;
	/** The WebSocket constructor; default globalThis.WebSocket (Node < 22 has none). */
	WebSocket?: WebSocketConstructor;
	/** Reconnect policy, or false to never reconnect (default: on). */
	reconnect?: ReconnectOptions | false;
	/** Seconds before `exp` at which the token is renewed (default 30; needs getToken). */
	refreshSkewS?: number;
	/** presence() gives up after this many ms (default 5000). */
	presenceTimeoutMs?: number;
	/**
	 * A socket that receives nothing for this many heartbeat intervals is
	 * taken for dead and replaced (default 2.5; 0 disables the watchdog).
	 */
	idleTimeoutFactor?: number;
	/** Where exceptions thrown by listeners go (default: rethrown from a microtask). */
	reportError?: (err: unknown) => void;
	/**
	 * Resume after a reconnect (default true): remember the lobby's epoch and
	 * the last message's offset, and reconnect with ?since=&epoch= so that a
	 * server with history replays what was missed. false: never ask.
	 */
	resume?: boolean;
	/** A position to resume from on the first connect (one saved earlier). */
	position?: GatewayPosition;
	/**
	 * Where to keep the position across page loads (sessionStorage, say):
	 * read when the client is created, written on every message.
	 */
	storage?: { getItem(key: string): string | null; setItem(key: string, value: string): void;
		removeItem(key: string): void };
	/** Testing hooks: timers, clock (ms) and random source. */
	setTimeout?: (fn: () => void, ms: number) => unknown;
	clearTimeout?: (id: any) => void;
	now?: () => number;
	random?: () => number;
}

export interface CloseInfo {
	code: number;
	reason: string;
	/** The client will reconnect (after a backoff delay, or at once for 4006). */
	willReconnect: boolean;
}

/** Event name → listener signature. */
export interface GatewayEvents {
	/** Admitted (after every (re)connect): the welcome frame. */
	open: (welcome: WelcomeFrame) => void;
	message: (frame: MessageFrame) => void;
	direct: (frame: DirectFrame) => void;
	/** Every presence reply, including those that answer presence(). */
	presence: (frame: PresenceFrame) => void;
	presence_join: (frame: PresenceJoinFrame) => void;
	presence_leave: (frame: PresenceLeaveFrame) => void;
	gap: (frame: GapFrame) => void;
	/** Server error frames, fatal closes and client-side failures. */
	error: (err: GatewayError) => void;
	state: (state: GatewayState, previous: GatewayState) => void;
	/** Each socket close, retryable or not. */
	close: (info: CloseInfo) => void;
	/** Every server frame, before its own event (for logging). */
	frame: (frame: ServerFrame) => void;
}

export class GatewayClient {
	constructor(opts: GatewayClientOptions);
	/** The URL the client connects to (never holds the token). */
	readonly url: string;
	readonly state: GatewayState;
	/** The last welcome frame, or null before the first. */
	readonly welcome: WelcomeFrame | null;
	/**
	 * Where the client is in its lobby's history (servers with history), or
	 * null. The next reconnect resumes from here.
	 */
	readonly position: GatewayPosition | null;
	/** Forget the position: the next connection starts at the lobby's present. */
	resetPosition(): void;

	/**
	 * Start connecting. Resolves with the welcome frame once admitted (at once
	 * if open); rejects with a GatewayError when the client gives up (fatal
	 * close, close(), maxAttempts). Retryable failures do not reject.
	 */
	connect(): Promise<WelcomeFrame>;
	/** Close for good (until the next connect()); pending promises reject with "closed". */
	close(code?: number, reason?: string): void;

	/**
	 * Send to every member of the lobby (and to the sender with echo).
	 * @throws GatewayError "not_open" unless open, "message_too_big" past the server's limit.
	 */
	broadcast(data: Json, opts?: { echo?: boolean }): void;
	/** Send to every connection of user `to`; an `error` "user_offline" follows if none. */
	direct(to: string, data: Json): void;
	/** The lobby's members. Rejects with "not_open", "timeout", or the close that cut it. */
	presence(opts?: { timeoutMs?: number }): Promise<PresenceFrame>;

	on<K extends keyof GatewayEvents>(event: K, fn: GatewayEvents[K]): this;
	once<K extends keyof GatewayEvents>(event: K, fn: GatewayEvents[K]): this;
	off<K extends keyof GatewayEvents>(event: K, fn: GatewayEvents[K]): this;
}

/** How the client treats a close code: "retry", "token" (renew, then retry) or "fatal". */
export function closePolicy(code: number, reason: string): 'retry' | 'token' | 'fatal';
export const CLOSE_POLICY: Readonly<Record<number, 'retry' | 'token' | 'fatal'>>;
/** The `exp` claim of a JWT (seconds), unverified; null if absent or not a JWT. */
export function decodeJwtExp(token: string): number | null;
/** The backoff wait in ms before attempt `attempt` (0-based). */
export function backoffDelay(attempt: number,
	opts: { baseMs: number; maxMs: number; jitter: number }, random: () => number): number;
