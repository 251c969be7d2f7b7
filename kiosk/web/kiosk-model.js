// Pure parts of the kiosk page: URL options, the caption state reducer, and what the screen
// says (notices, alarms). Data in, state and strings out: no DOM, no socket, nothing at
// import time. The DOM side is kiosk-view.js.

import {
  finalFromMessage, isSegment, langOrNull, normalizeLang, roomFromSegment, stringOrNull,
} from "./protocol.js";
import { REFUSED_CODES } from "./listener-model.js";

/** Defaults of the kiosk URL parameters (docs/protocol.md, "Kiosk URL parameters"). */
export const DEFAULT_OPTIONS = Object.freeze({
  langs: Object.freeze([]),
  partials: true,
  size: 1,
  lines: 6,
  qr: true,
  token: null,
});

/** At most this many translation languages are shown under the source text. */
export const MAX_LANGS = 2;

/** At most this many partial captions (distinct segments) are kept at once. */
export const MAX_PARTIALS = 2;

const KNOWN_PARAMS = new Set(["lang", "partials", "size", "lines", "qr", "token"]);

function parseLangs(values, warn) {
  const langs = [];
  for (const part of values.join(",").split(",")) {
    if (part.trim() === "") continue;
    const code = normalizeLang(part);
    if (code === null) warn(`[kiosk] lang: "${part}" is not a language code (like "it" or "pt-BR"), ignored`);
    else if (!langs.includes(code)) langs.push(code);
  }
  if (langs.length > MAX_LANGS) {
    warn(`[kiosk] lang: at most ${MAX_LANGS} languages, ignoring ${langs.slice(MAX_LANGS).join(",")}`);
  }
  return langs.slice(0, MAX_LANGS);
}

/** A 0/1 (or false/true) parameter, e.g. `partials` or `qr`. */
function parseFlag(name, raw, warn) {
  if (raw === "1" || raw === "true") return true;
  if (raw === "0" || raw === "false") return false;
  warn(`[kiosk] ${name}: "${raw}" is not 0 or 1, using ${DEFAULT_OPTIONS[name] ? 1 : 0}`);
  return DEFAULT_OPTIONS[name];
}

function parseSize(raw, warn) {
  const value = raw.trim() === "" ? NaN : Number(raw);
  if (Number.isFinite(value) && value >= 0.5 && value <= 3) return value;
  warn(`[kiosk] size: "${raw}" is not a number from 0.5 to 3, using ${DEFAULT_OPTIONS.size}`);
  return DEFAULT_OPTIONS.size;
}

function parseLines(raw, warn) {
  const value = /^\s*\d{1,3}\s*$/.test(raw) ? Number(raw) : NaN;
  if (value >= 1 && value <= 20) return value;
  warn(`[kiosk] lines: "${raw}" is not a whole number from 1 to 20, using ${DEFAULT_OPTIONS.lines}`);
  return DEFAULT_OPTIONS.lines;
}

/**
 * Parse the kiosk URL parameters. Invalid values fall back to their default and are reported
 * through `warn` (console.warn by default); unknown parameters are reported too. `qr=0` hides
 * the corner QR code; `token` is the access token the page passes on (captions socket, QR).
 * @param {string | URLSearchParams} search e.g. `location.search` ("?lang=it,de&size=1.5")
 * @param {{warn?: (message: string) => void}} [hooks]
 * @returns {{langs: string[], partials: boolean, size: number, lines: number, qr: boolean,
 *   token: string | null}}
 */
export function parseOptions(search, { warn = (m) => console.warn(m) } = {}) {
  const params = search instanceof URLSearchParams ? search : new URLSearchParams(search ?? "");
  const options = { ...DEFAULT_OPTIONS, langs: [] };
  for (const name of new Set(params.keys())) {
    if (!KNOWN_PARAMS.has(name)) warn(`[kiosk] unknown URL parameter "${name}" ignored`);
  }
  if (params.has("lang")) options.langs = parseLangs(params.getAll("lang"), warn);
  if (params.has("partials")) options.partials = parseFlag("partials", params.get("partials"), warn);
  if (params.has("size")) options.size = parseSize(params.get("size"), warn);
  if (params.has("lines")) options.lines = parseLines(params.get("lines"), warn);
  if (params.has("qr")) options.qr = parseFlag("qr", params.get("qr"), warn);
  if (params.get("token")) options.token = params.get("token");
  return options;
}

/**
 * The room name of a kiosk path (`/kiosk/{room}`, optional trailing slash), or null when the
 * path has no valid room name (docs/protocol.md: 1–32 of a-z 0-9 - _, no upper case).
 * @param {string} pathname e.g. `location.pathname`
 * @returns {string | null}
 */
export function roomFromPath(pathname) {
  const match = /^\/kiosk\/([^/]+)\/?$/.exec(String(pathname));
  return match ? roomFromSegment(match[1]) : null;
}

/**
 * The address of the room's QR code (the phone page's link), with the kiosk's own token.
 * @param {string} room
 * @param {string | null} token
 * @returns {string}
 */
export function qrImageUrl(room, token) {
  const query = token ? `?${new URLSearchParams({ token })}` : "";
  return `/rooms/${encodeURIComponent(room)}/qr.svg${query}`;
}

// ---------------------------------------------------------------------------------------------
// State

/**
 * @typedef {{segment: number, text: string, lang: string | null,
 *   translations: Record<string, string>}} Final
 * @typedef {{segment: number, text: string, lang: string | null,
 *   words: {text: string, stable: boolean}[] | null}} Partial
 * @typedef {{translator: string | null, audio: string | null, targets: string[] | null,
 *   source_lang: string | null, engine: string | null,
 *   signal: {noSignal: boolean, clipping: boolean} | null, offline: boolean,
 *   behind: boolean}} Status
 * @typedef {{room: string | null, connection: "connecting" | "open" | "reconnecting",
 *   finals: Final[], partials: Partial[], lastFinal: number, status: Status | null,
 *   refused: {code: number, kind: string, reason: string} | null}} State
 */

/**
 * A fresh state: no captions, not connected yet.
 * @param {string | null} [room]
 * @returns {State}
 */
export function initialState(room = null) {
  return {
    room, connection: "connecting", finals: [], partials: [], lastFinal: -1, status: null,
    refused: null,
  };
}

function sameFinal(a, b) {
  if (a.text !== b.text || a.lang !== b.lang) return false;
  const keysA = Object.keys(a.translations);
  const keysB = Object.keys(b.translations);
  return keysA.length === keysB.length && keysA.every((k) => a.translations[k] === b.translations[k]);
}

function applyFinal(state, msg, options) {
  const final = finalFromMessage(msg);
  if (final === null) return state;
  const existing = state.finals.find((f) => f.segment === final.segment);
  const dropsPartials = state.partials.some((p) => p.segment <= final.segment);
  if (existing && sameFinal(existing, final) && !dropsPartials) return state;
  const others = state.finals.filter((f) => f.segment !== final.segment);
  const finals = [...others, final].sort((a, b) => a.segment - b.segment).slice(-options.lines);
  return {
    ...state,
    finals,
    // A final replaces the partial of its segment; older segments are finished as well.
    partials: state.partials.filter((p) => p.segment > final.segment),
    lastFinal: Math.max(state.lastFinal, final.segment),
  };
}

function applyPartial(state, msg, options) {
  if (!options.partials || !isSegment(msg.segment) || typeof msg.text !== "string") return state;
  if (msg.segment <= state.lastFinal) return state; // late partial of a finished segment
  const others = state.partials.filter((p) => p.segment !== msg.segment);
  if (msg.text.trim() === "") {
    // An empty guess clears the segment's partial (its final may never come: empty finals
    // are not sent).
    return others.length === state.partials.length ? state : { ...state, partials: others };
  }
  const partial = {
    segment: msg.segment, text: msg.text, lang: langOrNull(msg.lang), words: wordsOrNull(msg.words),
  };
  const partials = [...others, partial].sort((a, b) => a.segment - b.segment).slice(-MAX_PARTIALS);
  return { ...state, partials };
}

/** The screen's view of the node's signal report: just the two alarms it shows. */
function signalOrNull(value) {
  if (value === null || typeof value !== "object") return null;
  return { noSignal: value.no_signal === true, clipping: value.clipping === true };
}

/**
 * The discreet signal alarm for the status corner: "no signal" (a muted mixer), "clipping"
 * (too loud), or "" when all is well or nothing is known.
 * @param {Status | null} status
 * @returns {string}
 */
export function signalAlarm(status) {
  const signal = status?.signal ?? null;
  if (signal === null) return "";
  if (signal.noSignal) return "no signal";
  if (signal.clipping) return "clipping";
  return "";
}

/** Per-word stability of a partial, when the engine gives it; null otherwise. */
export function wordsOrNull(value) {
  if (!Array.isArray(value) || value.length === 0) return null;
  const words = value.filter((w) => w && typeof w.text === "string")
    .map((w) => ({ text: w.text, stable: w.stable === true }));
  return words.length === value.length ? words : null;
}

function applyStatus(state, msg) {
  const targets = Array.isArray(msg.targets)
    ? msg.targets.filter((t) => typeof t === "string")
    : null;
  const status = {
    translator: stringOrNull(msg.translator),
    audio: stringOrNull(msg.audio),
    targets,
    source_lang: stringOrNull(msg.source_lang),
    engine: stringOrNull(msg.engine),
    signal: signalOrNull(msg.signal),
    offline: msg.offline === true,
    behind: msg.behind === true,
  };
  return { ...state, status };
}

/**
 * Apply one server message to the state and return the new state (the old one is not
 * modified; an ignored message returns the same object). Finals are kept sorted by segment id,
 * de-duplicated by segment (a backlog re-sent after a reconnect adds nothing) and capped to the
 * last `options.lines`; a partial replaces the previous partial of its segment; a final removes
 * the partials of its segment and of older segments.
 * @param {State} state
 * @param {any} msg a parsed JSON message (docs/protocol.md, "Captions")
 * @param {{partials: boolean, lines: number}} options
 * @returns {State}
 */
export function reduce(state, msg, options) {
  if (msg === null || typeof msg !== "object") return state;
  switch (msg.type) {
    case "final":
      return applyFinal(state, msg, options);
    case "partial":
      return applyPartial(state, msg, options);
    case "status":
      return applyStatus(state, msg);
    default:
      return state;
  }
}

/**
 * Record the socket's state. Leaving "open" drops the partials (they are stale and their final
 * comes back in the backlog) but keeps the finals on screen. A refusal (close 4010/4011/4012,
 * in `info` from the socket) is kept until the next open: the screen then says the token was
 * refused instead of only "Reconnecting…".
 * @param {State} state
 * @param {"connecting" | "open" | "reconnecting"} connection
 * @param {{code: number | null, reason?: string} | undefined} [info]
 * @returns {State}
 */
export function withConnection(state, connection, info = undefined) {
  const kind = REFUSED_CODES[info?.code ?? 0];
  const refused = connection === "open" ? null
    : kind !== undefined ? { code: info.code, kind, reason: info.reason ?? "" }
    : (state.refused ?? null);
  if (state.connection === connection && refused === (state.refused ?? null)) return state;
  const partials = connection === "open" ? state.partials : [];
  return { ...state, connection, partials, refused };
}

/** Wait between attempts after a refusal: the token will not change by itself every second,
 * but a rotated server may accept it again soon. */
export const REFUSED_RETRY_MS = 15000;

/**
 * Wait before redialling: at least `REFUSED_RETRY_MS` after a refusal, the backoff otherwise.
 * @param {number} attempt
 * @param {{code: number | null} | undefined} close
 * @param {(attempt: number) => number} backoff
 * @returns {number}
 */
export function kioskRetryDelay(attempt, close, backoff) {
  const refused = REFUSED_CODES[close?.code ?? 0] !== undefined;
  return refused ? Math.max(REFUSED_RETRY_MS, backoff(attempt)) : backoff(attempt);
}

const REFUSAL_DETAIL = {
  token_missing: "The kiosk has no access token, and this room's server needs one",
  token_wrong: "The room's server does not accept this kiosk's access token",
  origin_refused: "The room's server refuses pages from this address",
};

/**
 * What the monitor says while the server refuses the kiosk, or null when it does not:
 * a headline, a detail line and a hint for whoever looks after the room.
 * @param {State} state
 * @returns {{title: string, detail: string, hint: string} | null}
 */
export function refusalText(state) {
  if (state.refused === null || state.refused === undefined || state.connection === "open") {
    return null;
  }
  const { code, kind } = state.refused;
  return {
    title: "Captions unavailable: access refused",
    detail: `${REFUSAL_DETAIL[kind] ?? "The room's server refused this screen"} (${code}).`,
    hint: kind === "origin_refused"
      ? "Check the server's allowed_origins for this screen's address."
      : "The token may have been changed: run the playbook with --tags secrets for this room.",
  };
}

/**
 * How a requested translation language can be shown, from the latest `status`:
 * "offline" (no translator at all), "unconfigured" (the room does not translate into it) or
 * "ok" (show it per line, with a discreet marker where a line lacks it).
 * @param {Status | null} status
 * @param {string} lang
 * @returns {"ok" | "offline" | "unconfigured"}
 */
export function langAvailability(status, lang) {
  if (status === null) return "ok";
  if (status.translator === "none") return "offline";
  if (status.targets !== null && status.targets.length > 0) {
    const base = lang.split("-")[0];
    const served = status.targets.some((t) => t === lang || t.split("-")[0].toLowerCase() === base);
    if (!served) return "unconfigured";
  }
  return "ok";
}

/**
 * The one-line notice shown at the bottom, or "" for none.
 * @param {State} state
 * @param {{langs: string[]}} options
 * @returns {string}
 */
export function noticeText(state, options) {
  const modes = options.langs.map((lang) => [lang, langAvailability(state.status, lang)]);
  if (modes.some(([, mode]) => mode === "offline")) {
    return "Translation unavailable offline — showing original";
  }
  const missing = modes.filter(([, mode]) => mode === "unconfigured").map(([l]) => l.toUpperCase());
  if (missing.length > 0) {
    return `No ${missing.join(" / ")} translation in this room — showing original`;
  }
  return "";
}
