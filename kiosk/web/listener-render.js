// Pure parts of the phone listener page: the page address, saved preferences, the caption
// state reducer, and the view model the page draws.
//
// Nothing here touches a DOM global, storage or a socket at import time, and nothing but
// `render` touches a DOM at all (only the root it is given). Text from the wire is written
// with `textContent`, never `innerHTML`.

import {
  finalFromMessage,
  isSegment,
  normalizeLang,
  stringOrNull,
  translationFor,
} from "./protocol.js";

/** How many finals stay on the phone (the newest emphasized, older ones dimmer). */
export const MAX_LINES = 6;

/** Themes the page offers, in the order of its buttons. */
export const THEMES = Object.freeze(["dark", "light", "contrast"]);

/** Text size steps (multipliers of the base caption size); the default is index 1. */
export const SIZES = Object.freeze([0.85, 1, 1.2, 1.45, 1.75]);

/** localStorage key holding the page's preferences (theme, size, language). */
export const PREFS_KEY = "room-captions.listener";

/** Close codes of a refused token (docs: contract "Role tokens") and a refused origin. */
export const REFUSED_CODES = Object.freeze({
  4010: "token_missing",
  4011: "token_wrong",
  4012: "origin_refused",
});

/** Wait between attempts after a refusal: slow, the link will not fix itself every second. */
export const REFUSED_RETRY_MS = 60000;

const ROOM_RE = /^[a-z0-9][a-z0-9_-]{0,31}$/;

function validRoom(raw) {
  if (typeof raw !== "string") return null;
  let room;
  try {
    room = decodeURIComponent(raw);
  } catch {
    return null;
  }
  return ROOM_RE.test(room) ? room : null;
}

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
  const room = match ? validRoom(match[1]) : validRoom(params.get("room") ?? "");
  const token = params.get("token");
  const lang = params.has("lang") ? normalizeLang(params.get("lang")) : null;
  return { room, token: token ? token : null, lang };
}

// ---------------------------------------------------------------------------------------------
// Preferences

/**
 * @typedef {{theme: "dark" | "light" | "contrast", size: number, lang: string | null}} Prefs
 */

/**
 * The default preferences: a theme following the phone's setting, the middle text size.
 * @param {boolean} [prefersLight] the `prefers-color-scheme: light` media query
 * @returns {Prefs}
 */
export function defaultPrefs(prefersLight = false) {
  return { theme: prefersLight ? "light" : "dark", size: 1, lang: null };
}

/**
 * Preferences from saved JSON (what `savePrefs` wrote); anything invalid keeps its default.
 * @param {string | null} saved
 * @param {Prefs} defaults
 * @returns {Prefs}
 */
export function parsePrefs(saved, defaults) {
  const prefs = { ...defaults };
  if (typeof saved !== "string") return prefs;
  let data;
  try {
    data = JSON.parse(saved);
  } catch {
    return prefs;
  }
  if (data === null || typeof data !== "object") return prefs;
  if (THEMES.includes(data.theme)) prefs.theme = data.theme;
  if (Number.isInteger(data.size) && data.size >= 0 && data.size < SIZES.length) {
    prefs.size = data.size;
  }
  if (typeof data.lang === "string" && normalizeLang(data.lang) !== null) {
    prefs.lang = normalizeLang(data.lang);
  }
  return prefs;
}

/**
 * Read the preferences from a Storage (localStorage); a storage that throws (private mode,
 * blocked cookies) gives the defaults.
 * @param {{getItem: (key: string) => string | null} | null} storage
 * @param {Prefs} defaults
 * @returns {Prefs}
 */
export function loadPrefs(storage, defaults) {
  try {
    return parsePrefs(storage?.getItem(PREFS_KEY) ?? null, defaults);
  } catch {
    return { ...defaults };
  }
}

/**
 * Save the preferences; returns false when the storage refused.
 * @param {{setItem: (key: string, value: string) => void} | null} storage
 * @param {Prefs} prefs
 * @returns {boolean}
 */
export function savePrefs(storage, prefs) {
  try {
    storage?.setItem(PREFS_KEY, JSON.stringify(prefs));
    return storage !== null && storage !== undefined;
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------------------
// Languages

const baseOf = (code) => String(code).split("-")[0].toLowerCase();

/**
 * The entry of `languages` matching `wanted` exactly, else one of the same base language
 * (`it` matches `it-IT` and the other way round), else null.
 * @param {readonly string[]} languages
 * @param {string | null} wanted
 * @returns {string | null}
 */
export function matchLanguage(languages, wanted) {
  if (!wanted) return null;
  if (languages.includes(wanted)) return wanted;
  return languages.find((code) => baseOf(code) === baseOf(wanted)) ?? null;
}

/**
 * The language to follow once the room's languages are known: the address's `lang`, else the
 * saved choice, else the phone's own languages (translations first), else the source.
 * @param {readonly string[]} languages `status.languages`, the source first
 * @param {{urlLang?: string | null, saved?: string | null, browser?: readonly string[]}} wishes
 * @returns {string | null}
 */
export function pickLanguage(languages, { urlLang = null, saved = null, browser = [] } = {}) {
  if (languages.length === 0) return null;
  for (const wish of [urlLang, saved]) {
    const found = matchLanguage(languages, wish);
    if (found !== null) return found;
  }
  const targets = languages.slice(1);
  for (const wish of browser) {
    const found = matchLanguage(targets, wish) ?? matchLanguage(languages.slice(0, 1), wish);
    if (found !== null) return found;
  }
  return languages[0];
}

/**
 * A language's own name for itself ("italiano" -> "Italiano"), or its code when the browser
 * does not know it.
 * @param {string} code
 * @returns {string}
 */
export function languageName(code) {
  try {
    const name = new Intl.DisplayNames([code], { type: "language" }).of(code);
    if (typeof name === "string" && name !== "" && name !== code) {
      return name.charAt(0).toLocaleUpperCase(code) + name.slice(1);
    }
  } catch {
    // an unknown code: fall through
  }
  return code.toUpperCase();
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
 *   error: string | null}} State
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

function applyError(state, msg) {
  const message = stringOrNull(msg.message) ?? stringOrNull(msg.code) ?? "error";
  return { ...state, error: message };
}

/**
 * Apply one server message to the state and return the new state (the old one unchanged; an
 * ignored message returns the same object). `speech`, `speech_end` and binary audio are the
 * sound player's business, not this state's.
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
  return { ...state, lang, error: null };
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

/** True when `lang` is the room's own language (the first of `status.languages`). */
function isRoomSource(status, lang) {
  return status !== null && status.languages.length > 0 && status.languages[0] === lang;
}

/** True when `final` was spoken in `lang` (with language identification, its own `lang`). */
function spokenIn(final, lang, status) {
  const spoken = final.lang ?? status?.source_lang ?? null;
  return spoken !== null && baseOf(spoken) === baseOf(lang);
}

/**
 * The text of a final in `lang`: the source text for the source language, the translation
 * otherwise, or the source text with `missing: true` when that translation is absent.
 * @param {Final} final
 * @param {string} lang
 * @param {Status | null} status
 * @returns {{text: string, lang: string | null, missing: boolean}}
 */
export function textIn(final, lang, status) {
  if (spokenIn(final, lang, status)) return { text: final.text, lang: final.lang, missing: false };
  const translated = translationFor(final.translations, lang);
  if (translated !== null) return { text: translated, lang, missing: false };
  return { text: final.text, lang: final.lang, missing: true };
}

// ---------------------------------------------------------------------------------------------
// View model

const CONNECTION_LABELS = {
  connecting: "Connecting…",
  open: "Live",
  reconnecting: "Reconnecting…",
};

const REFUSAL_TEXT = {
  token_missing: "This page needs an access code. Scan the room's QR code again.",
  token_wrong: "The access code in this link was refused. Scan the room's QR code again.",
  origin_refused: "This server refused the page's address. Open the link from the room's QR code.",
};

/**
 * @typedef {{enabled: boolean, muted: boolean, supported: boolean}} Sound
 *   enabled: the listener tapped "enable sound" and the audio context runs
 */

function soundView(state, sound) {
  const status = state.status;
  if (status === null) return { mode: "hidden", note: "" };
  if (!status.speech) return { mode: "unavailable", note: "Text only in this room" };
  if (!sound.supported) return { mode: "unavailable", note: "This browser cannot play the sound" };
  if (state.lang !== null && isRoomSource(status, state.lang)) {
    const reason = state.listening?.lang === state.lang && state.listening.reason
      ? state.listening.reason : "Sound is offered for the translations";
    return { mode: "source", note: reason };
  }
  if (!sound.enabled) return { mode: "enable", note: "" };
  if (sound.muted) return { mode: "muted", note: "" };
  const refusedAudio = state.listening !== null && state.listening.lang === state.lang
    && !state.listening.audio && state.listening.reason;
  return { mode: "on", note: refusedAudio ? state.listening.reason : "" };
}

function connectionView(state) {
  if (state.room === null) return { state: "invalid", label: "No room" };
  if (state.refused !== null && state.connection !== "open") {
    return { state: "refused", label: "Access refused" };
  }
  const label = CONNECTION_LABELS[state.connection] ?? state.connection;
  return { state: state.connection, label };
}

function bannerText(state) {
  if (state.room === null) return "No valid room in this address (expected /listen/<room>).";
  if (state.refused !== null && state.connection !== "open") {
    const text = REFUSAL_TEXT[state.refused.kind] ?? "The server refused this page.";
    const retry = state.retryMs ? ` Trying again in ${Math.round(state.retryMs / 1000)} s.` : "";
    return text + retry;
  }
  return "";
}

/**
 * Everything the page shows, computed from the state, the preferences and the sound player's
 * state (no DOM): the language choices, the caption lines (newest last, `age` 0 for the
 * newest), the sound controls and the connection state.
 * @param {State} state
 * @param {Sound} sound
 * @returns {object}
 */
export function viewModel(state, sound) {
  const status = state.status;
  const lang = state.lang;
  const languages = (status?.languages ?? []).map((code, index) => ({
    code,
    name: languageName(code),
    source: index === 0,
    selected: code === lang,
  }));
  const lines = lang === null ? [] : state.finals.map((final, index) => {
    const shown = textIn(final, lang, status);
    const age = state.finals.length - 1 - index;
    return {
      key: `f${final.segment}`,
      segment: final.segment,
      text: shown.text,
      lang: shown.lang,
      missing: shown.missing,
      note: shown.missing ? `original · no ${lang.toUpperCase()} translation` : "",
      age: Math.min(age, 3),
      latest: age === 0,
    };
  });
  const showPartial = state.partial !== null && lang !== null && isRoomSource(status, lang);
  const partial = showPartial ? { key: `p${state.partial.segment}`, text: state.partial.text,
    segment: state.partial.segment } : null;
  const open = state.connection === "open";
  let empty = "";
  if (lines.length === 0 && partial === null) {
    if (state.room === null) empty = "";
    else if (open && status !== null) empty = "Waiting for the speaker…";
    else if (!open && state.refused === null) empty = "Connecting to the room…";
  }
  const notices = [];
  if (state.error) notices.push(state.error);
  if (open && status?.offline) notices.push("Offline captions: the quality may be lower");
  if (open && status?.audio === "absent") notices.push("The room's microphone is not connected");
  return {
    room: state.room,
    connection: connectionView(state),
    banner: bannerText(state),
    languages,
    lang,
    lines,
    partial,
    empty,
    notice: notices.join(" · "),
    sound: soundView(state, sound),
    live: open,
  };
}

// ---------------------------------------------------------------------------------------------
// Rendering

const SOUND_LABELS = {
  enable: "Tap to enable sound",
  on: "Sound on",
  muted: "Sound off",
};

function setText(node, text) {
  if (node.textContent !== text) node.textContent = text;
}

function setShown(node, shown) {
  if (node.hidden === shown) node.hidden = !shown;
}

function setData(node, key, value) {
  if (node.dataset[key] !== value) node.dataset[key] = value;
}

/** Make `parent`'s children exactly `nodes`, moving as few existing nodes as possible. */
function reconcile(parent, nodes) {
  const keep = new Set(nodes);
  for (const child of [...parent.children]) if (!keep.has(child)) child.remove();
  let cursor = parent.firstElementChild;
  for (const node of nodes) {
    if (node === cursor) cursor = cursor.nextElementSibling;
    else parent.insertBefore(node, cursor);
  }
}

function languageButtons(container, languages) {
  const doc = container.ownerDocument;
  const current = new Map([...container.children].map((n) => [n.dataset.code, n]));
  const nodes = languages.map((language) => {
    let button = current.get(language.code);
    if (button === undefined) {
      button = doc.createElement("button");
      button.type = "button";
      button.className = "lang";
      button.dataset.action = "lang";
      button.dataset.code = language.code;
      button.setAttribute("role", "radio");
      const name = doc.createElement("span");
      name.className = "name";
      name.lang = language.code;
      name.textContent = language.name;
      const code = doc.createElement("span");
      code.className = "code";
      code.textContent = language.source ? `${language.code} · original` : language.code;
      button.append(name, code);
    }
    button.setAttribute("aria-checked", String(language.selected));
    button.tabIndex = language.selected ? 0 : -1;
    return button;
  });
  if (nodes.length > 0 && !languages.some((l) => l.selected)) nodes[0].tabIndex = 0;
  reconcile(container, nodes);
}

const signatures = new WeakMap();

function lineNodes(captions, vm) {
  const doc = captions.ownerDocument;
  const current = new Map([...captions.children].map((n) => [n.dataset.key, n]));
  const wanted = [];
  for (const line of vm.lines) {
    const signature = JSON.stringify([line.text, line.lang, line.note]);
    let node = current.get(line.key);
    if (node === undefined || signatures.get(node) !== signature) {
      node = doc.createElement("div");
      node.className = "line final";
      node.dataset.key = line.key;
      node.dataset.segment = String(line.segment);
      const text = doc.createElement("p");
      text.className = "text";
      text.textContent = line.text;
      text.dir = "auto";
      if (line.lang) text.lang = line.lang;
      node.append(text);
      if (line.note) {
        const note = doc.createElement("p");
        note.className = "note";
        note.textContent = line.note;
        node.append(note);
      }
      signatures.set(node, signature);
    }
    setData(node, "age", String(line.age));
    node.classList.toggle("latest", line.latest);
    node.classList.toggle("missing", line.missing);
    wanted.push(node);
  }
  if (vm.partial !== null) {
    let node = current.get(vm.partial.key);
    if (node === undefined) {
      node = doc.createElement("div");
      node.className = "line partial";
      node.dataset.key = vm.partial.key;
      node.dataset.segment = String(vm.partial.segment);
      const text = doc.createElement("p");
      text.className = "text";
      text.dir = "auto";
      node.append(text);
    }
    setText(node.firstElementChild, vm.partial.text);
    wanted.push(node);
  }
  return wanted;
}

/**
 * Draw the view model into the page skeleton under `root` (listen.html's `[data-part]`
 * elements). Only text and attributes change; nodes are reused so focus and taps survive.
 * @param {ParentNode} root
 * @param {ReturnType<typeof viewModel>} vm
 */
export function render(root, vm) {
  const part = (name) => root.querySelector(`[data-part="${name}"]`);
  const app = part("app");
  setData(app, "connection", vm.connection.state);
  setData(app, "sound", vm.sound.mode);
  setText(part("room"), vm.room ?? "—");
  setText(part("conn-label"), vm.connection.label);
  setData(part("conn"), "state", vm.connection.state);

  const banner = part("banner");
  setText(banner, vm.banner);
  setShown(banner, vm.banner !== "");

  const langs = part("langs");
  languageButtons(langs, vm.languages);
  setShown(langs, vm.languages.length > 1);

  const captions = part("captions");
  reconcile(captions, lineNodes(captions, vm));
  const empty = part("empty");
  setText(empty, vm.empty);
  setShown(empty, vm.empty !== "");

  const notice = part("notice");
  setText(notice, vm.notice);
  setShown(notice, vm.notice !== "");

  const soundButton = part("sound-button");
  const mode = vm.sound.mode;
  const hasButton = Object.hasOwn(SOUND_LABELS, mode);
  setShown(soundButton, hasButton);
  if (hasButton) {
    setText(part("sound-label"), SOUND_LABELS[mode]);
    setData(soundButton, "mode", mode);
    if (mode === "enable") soundButton.removeAttribute("aria-pressed");
    else soundButton.setAttribute("aria-pressed", String(mode === "on"));
  }
  const soundNote = part("sound-note");
  setText(soundNote, vm.sound.note);
  setShown(soundNote, vm.sound.note !== "");
  setShown(part("sound"), mode !== "hidden");
}
