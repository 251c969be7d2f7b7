// The captions WebSocket shared by the kiosk and the phone listener page (docs/protocol.md,
// "Captions: GET /ws/captions/{room}"): connect, route messages, reconnect with backoff,
// detect a dead link with ping/pong.
//
// Nothing happens at import time; `connectCaptions` starts the loop.

import { backoffDelay as reconnectDelay } from "./backoff.js";

/**
 * Delay before reconnect attempt number `attempt` (0 for the first retry after a close): the
 * house backoff of backoff.js (1 s × 1.5, at most 30 s).
 */
export { reconnectDelay };

/** Send a ping this often while open; a link silent for `staleMs` is dropped and redialled. */
export const HEARTBEAT = Object.freeze({ pingMs: 20000, staleMs: 50000 });

/** Message types handed to `onMessage` unless a page asks for others (the kiosk's set). */
export const CAPTION_TYPES = Object.freeze(["status", "partial", "final"]);

/**
 * The captions socket URL for a room, on the page's own host: `ws:` under http, `wss:` under
 * https. Asks for as many backlog finals as the page shows, and for no partials when the page
 * hides them, and passes on the page's access `token` when it has one. `client` (e.g. "kiosk")
 * names the kind of page, so the server's status page can tell whose token it refused.
 * @param {{protocol: string, host: string}} pageLocation e.g. `location`
 * @param {string} room
 * @param {{partials: boolean, lines: number, token?: string | null, client?: string}} options
 * @returns {string}
 */
export function captionsUrl(pageLocation, room, options) {
  const scheme = pageLocation.protocol === "https:" ? "wss:" : "ws:";
  const query = new URLSearchParams({ backlog: String(options.lines) });
  if (!options.partials) query.set("partials", "0");
  if (options.token) query.set("token", options.token);
  if (options.client) query.set("client", options.client);
  return `${scheme}//${pageLocation.host}/ws/captions/${encodeURIComponent(room)}?${query}`;
}

/**
 * Parse one text frame and route it by type. Caption messages (`types`: by default `status`,
 * `partial`, `final`) go to `onMessage`; `pong` only proves the link is alive; `error` is
 * logged unless it is one of `types`; anything else (malformed JSON, no string `type`, an
 * unknown type) is logged loudly and ignored.
 * @param {unknown} data the frame's data
 * @param {(msg: object) => void} onMessage
 * @param {{warn: (...args: unknown[]) => void}} [log]
 * @param {readonly string[]} [types] the message types to hand to `onMessage`
 * @param {string} [page] the page's name in console lines
 */
export function routeFrame(
  data, onMessage, log = console, types = CAPTION_TYPES, page = "captions",
) {
  if (typeof data !== "string") {
    log.warn(`[${page}] binary frame on the captions socket, ignored`);
    return;
  }
  let msg;
  try {
    msg = JSON.parse(data);
  } catch (error) {
    log.warn(`[${page}] malformed JSON on the captions socket, ignored:`, data.slice(0, 200), error);
    return;
  }
  if (msg === null || typeof msg !== "object" || typeof msg.type !== "string") {
    log.warn(`[${page}] message without a string "type", ignored:`, data.slice(0, 200));
    return;
  }
  if (types.includes(msg.type)) {
    onMessage(msg);
    return;
  }
  switch (msg.type) {
    case "pong":
      break;
    case "error":
      log.warn(`[${page}] server error ${msg.code}: ${msg.message}`);
      break;
    default:
      log.warn(`[${page}] UNKNOWN message type "${msg.type}" ignored:`, data.slice(0, 200));
  }
}

/**
 * Keep a captions socket connected until `stop()` is called. Reports each caption message to
 * `onMessage` and each state change to `onConnection`: "connecting" (first dial), "open",
 * "reconnecting" (closed, waiting to redial; the second argument tells the close code, reason
 * and delay). Backoff per `retryDelay` (`reconnectDelay` by default), reset by a successful
 * open.
 *
 * Optional, for pages that do more than show captions (the phone page): `types` (message types
 * for `onMessage`, default `CAPTION_TYPES`), `onBinary` (binary frames, as ArrayBuffers;
 * without it they are logged and ignored), `onOpen(send)` (called on every open, e.g. to say
 * what the page wants), and `retryDelay(attempt, close)` may stretch the wait after a given
 * close code. The returned `send(obj)` sends JSON
 * when the socket is open and returns whether it did.
 * @param {object} config
 * @param {string} config.url from `captionsUrl`
 * @param {(msg: object) => void} config.onMessage
 * @param {(state: "connecting" | "open" | "reconnecting",
 *   info?: {code: number | null, reason: string, delayMs: number}) => void} config.onConnection
 * @param {readonly string[]} [config.types]
 * @param {(data: ArrayBuffer) => void} [config.onBinary]
 * @param {(send: (msg: object) => boolean) => void} [config.onOpen]
 * @param {(attempt: number, close: {code: number | null, reason: string}) => number}
 *   [config.retryDelay]
 * @param {typeof WebSocket} [config.WebSocketImpl]
 * @param {{warn: Function, info: Function}} [config.log]
 * @param {string} [config.page] the page's name in console lines and in the close reason
 * @returns {{stop: () => void, send: (msg: object) => boolean}}
 */
export function connectCaptions({
  url, onMessage, onConnection, types = CAPTION_TYPES, onBinary = null, onOpen = null,
  retryDelay = (attempt) => reconnectDelay(attempt),
  WebSocketImpl = globalThis.WebSocket, log = console, page = "captions",
}) {
  let socket = null;
  let attempt = 0;
  let stopped = false;
  let retryTimer = null;
  let pingTimer = null;
  let lastHeard = 0;

  const clearTimers = () => {
    clearTimeout(retryTimer);
    clearInterval(pingTimer);
    retryTimer = pingTimer = null;
  };

  const detach = () => {
    if (socket === null) return;
    socket.onopen = socket.onmessage = socket.onclose = socket.onerror = null;
    if (socket.readyState <= 1) socket.close(1000, `${page} reconnecting`);
    socket = null;
  };

  const scheduleRetry = (why, code = null, reason = "") => {
    detach();
    clearTimers();
    if (stopped) return;
    const delay = retryDelay(attempt, { code, reason });
    attempt += 1;
    log.info(`[${page}] captions socket closed (${why}); retry ${attempt} in ${delay} ms`);
    onConnection("reconnecting", { code, reason, delayMs: delay });
    retryTimer = setTimeout(dial, delay);
  };

  const send = (msg) => {
    if (socket === null || socket.readyState !== 1) return false;
    socket.send(JSON.stringify(msg));
    return true;
  };

  const heartbeat = () => {
    if (Date.now() - lastHeard > HEARTBEAT.staleMs) {
      scheduleRetry("no message or pong for too long");
      return;
    }
    socket?.send(JSON.stringify({ type: "ping" }));
  };

  function dial() {
    retryTimer = null;
    try {
      socket = new WebSocketImpl(url);
    } catch (error) {
      scheduleRetry(`cannot open: ${error}`);
      return;
    }
    if (onBinary !== null) socket.binaryType = "arraybuffer";
    socket.onopen = () => {
      attempt = 0;
      lastHeard = Date.now();
      pingTimer = setInterval(heartbeat, HEARTBEAT.pingMs);
      log.info(`[${page}] captions socket open: ${url.replace(/([?&]token=)[^&]*/, "$1…")}`);
      onConnection("open");
      onOpen?.(send);
    };
    socket.onmessage = (event) => {
      lastHeard = Date.now();
      if (onBinary !== null && typeof event.data !== "string") onBinary(event.data);
      else routeFrame(event.data, onMessage, log, types, page);
    };
    socket.onclose = (event) => scheduleRetry(
      `code ${event.code} ${event.reason || ""}`.trim(), event.code, event.reason || "",
    );
    socket.onerror = () => {}; // always followed by close, which does the work
  }

  onConnection("connecting");
  dial();
  return {
    stop() {
      stopped = true;
      clearTimers();
      detach();
    },
    send,
  };
}
