// The captions WebSocket (docs/protocol.md, "Captions: GET /ws/captions/{room}"): connect,
// route messages, reconnect with backoff, detect a dead link with ping/pong.
//
// Nothing happens at import time; `connectCaptions` starts the loop.

/** First reconnect delay, growth factor and cap (house style: 1 s × 1.5, at most 30 s). */
export const BACKOFF = Object.freeze({ firstMs: 1000, factor: 1.5, maxMs: 30000 });

/** Send a ping this often while open; a link silent for `staleMs` is dropped and redialled. */
export const HEARTBEAT = Object.freeze({ pingMs: 20000, staleMs: 50000 });

/**
 * Delay before reconnect attempt number `attempt` (0 for the first retry after a close).
 * @param {number} attempt
 * @returns {number} milliseconds
 */
export function reconnectDelay(attempt) {
  const delay = BACKOFF.firstMs * BACKOFF.factor ** Math.max(0, attempt);
  return Math.min(Math.round(delay), BACKOFF.maxMs);
}

/**
 * The captions socket URL for a room, on the page's own host: `ws:` under http, `wss:` under
 * https. Asks for as many backlog finals as the page shows, and for no partials when the page
 * hides them.
 * @param {{protocol: string, host: string}} pageLocation e.g. `location`
 * @param {string} room
 * @param {{partials: boolean, lines: number}} options
 * @returns {string}
 */
export function captionsUrl(pageLocation, room, options) {
  const scheme = pageLocation.protocol === "https:" ? "wss:" : "ws:";
  const query = new URLSearchParams({ backlog: String(options.lines) });
  if (!options.partials) query.set("partials", "0");
  return `${scheme}//${pageLocation.host}/ws/captions/${encodeURIComponent(room)}?${query}`;
}

/**
 * Parse one text frame and route it by type. Caption messages (`status`, `partial`, `final`)
 * go to `onMessage`; `pong` only proves the link is alive; anything else (malformed JSON, no
 * string `type`, an unknown type) is logged loudly and ignored.
 * @param {unknown} data the frame's data
 * @param {(msg: object) => void} onMessage
 * @param {{warn: (...args: unknown[]) => void}} [log]
 */
export function routeFrame(data, onMessage, log = console) {
  if (typeof data !== "string") {
    log.warn("[kiosk] binary frame on the captions socket, ignored");
    return;
  }
  let msg;
  try {
    msg = JSON.parse(data);
  } catch (error) {
    log.warn("[kiosk] malformed JSON on the captions socket, ignored:", data.slice(0, 200), error);
    return;
  }
  if (msg === null || typeof msg !== "object" || typeof msg.type !== "string") {
    log.warn("[kiosk] message without a string \"type\", ignored:", data.slice(0, 200));
    return;
  }
  switch (msg.type) {
    case "status":
    case "partial":
    case "final":
      onMessage(msg);
      break;
    case "pong":
      break;
    case "error":
      log.warn(`[kiosk] server error ${msg.code}: ${msg.message}`);
      break;
    default:
      log.warn(`[kiosk] UNKNOWN message type "${msg.type}" ignored:`, data.slice(0, 200));
  }
}

/**
 * Keep a captions socket connected until `stop()` is called. Reports each caption message to
 * `onMessage` and each state change to `onConnection`: "connecting" (first dial), "open",
 * "reconnecting" (closed, waiting to redial). Backoff per `reconnectDelay`, reset by a
 * successful open.
 * @param {object} config
 * @param {string} config.url from `captionsUrl`
 * @param {(msg: object) => void} config.onMessage
 * @param {(state: "connecting" | "open" | "reconnecting") => void} config.onConnection
 * @param {typeof WebSocket} [config.WebSocketImpl]
 * @param {{warn: Function, info: Function}} [config.log]
 * @returns {{stop: () => void}}
 */
export function connectCaptions({
  url, onMessage, onConnection, WebSocketImpl = globalThis.WebSocket, log = console,
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
    if (socket.readyState <= 1) socket.close(1000, "kiosk reconnecting");
    socket = null;
  };

  const scheduleRetry = (why) => {
    detach();
    clearTimers();
    if (stopped) return;
    const delay = reconnectDelay(attempt);
    attempt += 1;
    log.info(`[kiosk] captions socket closed (${why}); retry ${attempt} in ${delay} ms`);
    onConnection("reconnecting");
    retryTimer = setTimeout(dial, delay);
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
    socket.onopen = () => {
      attempt = 0;
      lastHeard = Date.now();
      pingTimer = setInterval(heartbeat, HEARTBEAT.pingMs);
      log.info(`[kiosk] captions socket open: ${url}`);
      onConnection("open");
    };
    socket.onmessage = (event) => {
      lastHeard = Date.now();
      routeFrame(event.data, onMessage, log);
    };
    socket.onclose = (event) => scheduleRetry(`code ${event.code} ${event.reason || ""}`.trim());
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
  };
}
