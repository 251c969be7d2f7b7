// Pure parts of the phone listener page: the page address, the caption state and its reducer,
// the link's state (refusals, retry delays) and the `listen` message. Data in, state out: no
// DOM, no storage, no socket, nothing at import time. Languages: listener-languages.js; what
// the page shows: listener-view-model.js.

import {
  finalFromMessage, isSegment, normalizeLang, roomFromSegment, stringOrNull, voiceFromMessage,
} from "./protocol.js";

/** How many finals stay on the phone (the newest emphasized, older ones dimmer). */
export const MAX_LINES = 6;

/** Close codes of a refused token (docs: contract "Role tokens") and a refused origin. */
export const REFUSED_CODES = Object.freeze({
  4010: "token_missing",
  4011: "token_wrong",
  4012: "origin_refused",
});

/** Wait between attempts after a refusal: slow, the link will not fix itself every second. */
export const REFUSED_RETRY_MS = 60000;

/**
 * Read the page address: the room from the path `/listen/{room}` (or, failing that, a `room`
 * query parameter, for `/static/listen.html?room=main`), the access `token` and an optional
 * initial `lang`.
 * @param {string} pathname e.g. `location.pathname`
 * @param {string} search e.g. `location.search`
 * @returns {{room: string | null, token: string | null, lang: string | null}}
 */
export function parseAddress(pathname, search) {
  const params = new URLSearchParams(search ?? "");
  const match = /^\/listen\/([^/]+)\/?$/.exec(String(pathname));
  const room = match ? roomFromSegment(match[1]) : roomFromSegment(params.get("room") ?? "");
  const token = params.get("token");
  const lang = params.has("lang") ? normalizeLang(params.get("lang")) : null;
  return { room, token: token ? token : null, lang };
}

// ---------------------------------------------------------------------------------------------
// State

/**
 * @typedef {{segment: number, text: string, lang: string | null,
 *   translations: Record<string, string>}} Final
 * @typedef {{languages: string[], speech: boolean, synthesizer: string,
 *   source_lang: string | null, translator: string | null, offline: boolean,
 *   audio: string | null}} Status
 * @typedef {{room: string | null, connection: "connecting" | "open" | "reconnecting",
 *   refused: {code: number, kind: string, reason: string} | null, retryMs: number | null,
 *   status: Status | null, lang: string | null,
 *   listening: {lang: string, audio: boolean, reason: string | null} | null,
 *   finals: Final[], partial: {segment: number, text: string} | null, lastFinal: number,
 *   error: string | null, voice: Voice | null}} State
 * @typedef {{lang: string, engine: string, name: string, standingInFor: string | null,
 *   silent: boolean}} Voice who speaks the chosen language now (`silent`: nobody can)
 */

/**
 * A fresh state: nothing known, not connected yet.
 * @param {string | null} room
 * @returns {State}
 */
export function initialState(room) {
  return {
    room,
    connection: "connecting",
    refused: null,
    retryMs: null,
    status: null,
    lang: null,
    listening: null,
    finals: [],
    partial: null,
    lastFinal: -1,
    error: null,
    voice: null,
  };
}

function applyStatus(state, msg) {
  const source = stringOrNull(msg.source_lang);
  let languages = Array.isArray(msg.languages)
    ? msg.languages.filter((code) => typeof code === "string" && code !== "") : [];
  if (languages.length === 0 && source !== null) {
    // An older server without `languages`: the source, then the targets.
    const targets = Array.isArray(msg.targets) ? msg.targets.filter((t) => typeof t === "string")
      : [];
    languages = [source, ...targets];
  }
  languages = [...new Set(languages)];
  const status = {
    languages,
    speech: msg.speech === true,
    synthesizer: stringOrNull(msg.synthesizer) ?? "none",
    source_lang: source,
    translator: stringOrNull(msg.translator),
    offline: msg.offline === true,
    audio: stringOrNull(msg.audio),
  };
  return { ...state, status };
}

function applyFinal(state, msg) {
  const final = finalFromMessage(msg, stringOrNull);
  if (final === null) return state;
  const others = state.finals.filter((f) => f.segment !== final.segment);
  const finals = [...others, final].sort((a, b) => a.segment - b.segment).slice(-MAX_LINES);
  const partial = state.partial !== null && state.partial.segment > final.segment
    ? state.partial : null;
  return { ...state, finals, partial, lastFinal: Math.max(state.lastFinal, final.segment) };
}

function applyPartial(state, msg) {
  if (!isSegment(msg.segment) || typeof msg.text !== "string") return state;
  if (msg.segment <= state.lastFinal) return state;
  if (msg.text.trim() === "") {
    return state.partial?.segment === msg.segment ? { ...state, partial: null } : state;
  }
  return { ...state, partial: { segment: msg.segment, text: msg.text } };
}

function applyListening(state, msg) {
  if (typeof msg.lang !== "string") return state;
  const listening = {
    lang: msg.lang,
    audio: msg.audio === true,
    reason: stringOrNull(msg.reason),
  };
  // The page's own choice stays: an answer to an older `listen` must not switch it back.
  return { ...state, listening, error: null };
}

/** The voice of a `speech` (or `speech_end`) message in the chosen language. */
function applySpeech(state, msg) {
  const heard = voiceFromMessage(msg);
  if (heard === null || state.lang === null || msg.lang !== state.lang) return state;
  // A sentence nobody could speak: the cloud voice is down and the local one lacks the language.
  const silent = msg.type === "speech_end" && msg.ok === false && heard.standingInFor !== null
    && heard.name === "";
  const voice = { lang: msg.lang, ...heard, silent };
  const same = state.voice !== null
    && Object.keys(voice).every((key) => state.voice[key] === voice[key]);
  return same ? state : { ...state, voice };
}

function applyError(state, msg) {
  const message = stringOrNull(msg.message) ?? stringOrNull(msg.code) ?? "error";
  return { ...state, error: message };
}

/**
 * Apply one server message to the state and return the new state (the old one unchanged; an
 * ignored message returns the same object). Of `speech` and `speech_end` only the voice is
 * kept (who speaks, shown to the listener); their audio is the sound player's business.
 * @param {State} state
 * @param {any} msg a parsed JSON message
 * @returns {State}
 */
export function reduce(state, msg) {
  if (msg === null || typeof msg !== "object") return state;
  switch (msg.type) {
    case "status":
      return applyStatus(state, msg);
    case "final":
      return applyFinal(state, msg);
    case "partial":
      return applyPartial(state, msg);
    case "listening":
      return applyListening(state, msg);
    case "error":
      return applyError(state, msg);
    case "speech":
    case "speech_end":
      return applySpeech(state, msg);
    default:
      return state;
  }
}

/**
 * Record the socket's state. A refusal (close 4010/4011/4012) is kept until the next open; the
 * partial is dropped when the link goes down.
 * @param {State} state
 * @param {"connecting" | "open" | "reconnecting"} connection
 * @param {{code?: number | null, reason?: string, delayMs?: number}} [info]
 * @returns {State}
 */
export function withConnection(state, connection, info = {}) {
  const kind = REFUSED_CODES[info.code ?? 0];
  const refused = connection === "open" ? null
    : kind !== undefined ? { code: info.code, kind, reason: info.reason ?? "" } : state.refused;
  const retryMs = connection === "reconnecting" ? (info.delayMs ?? null) : null;
  const partial = connection === "open" ? state.partial : null;
  return { ...state, connection, refused, retryMs, partial };
}

/**
 * Choose the language to follow (the page then tells the server with `listenMessage`).
 * @param {State} state
 * @param {string | null} lang
 * @returns {State}
 */
export function withLanguage(state, lang) {
  if (state.lang === lang) return state;
  return { ...state, lang, error: null, voice: null };
}

/**
 * Wait before redialling: slow after a refusal, the usual backoff otherwise.
 * @param {number} attempt
 * @param {{code: number | null}} close
 * @param {(attempt: number) => number} backoff
 * @returns {number} milliseconds
 */
export function retryDelayFor(attempt, close, backoff) {
  if (REFUSED_CODES[close?.code ?? 0] !== undefined) {
    return Math.max(REFUSED_RETRY_MS, backoff(attempt));
  }
  return backoff(attempt);
}

/**
 * The `listen` message telling the server what this phone wants, or null before a language
 * is chosen.
 * @param {string | null} lang
 * @param {boolean} audio whether sound is on (enabled and not muted)
 * @returns {{type: "listen", lang: string, audio: boolean} | null}
 */
export function listenMessage(lang, audio) {
  return lang ? { type: "listen", lang, audio } : null;
}

