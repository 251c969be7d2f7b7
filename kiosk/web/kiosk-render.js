// Pure parts of the kiosk page: URL options, the caption state reducer, and rendering.
//
// Nothing here touches a DOM global or a socket at import time. `render` only uses the
// container it is given (and that container's ownerDocument), and writes text from the wire
// with `textContent`, never `innerHTML`.

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

const ROOM_RE = /^[a-z0-9][a-z0-9_-]{0,31}$/;
const LANG_RE = /^[a-z]{2,3}(?:-(?:[A-Z]{2}|[0-9]{3}))?$/;
const KNOWN_PARAMS = new Set(["lang", "partials", "size", "lines", "qr", "token"]);

/**
 * Normalise a language code's case (`IT-it` -> `it-IT`) and check it is `xx` or `xx-YY`.
 * @param {string} raw
 * @returns {string | null} the code, or null if it is not a language code
 */
export function normalizeLang(raw) {
  const [language, region, ...rest] = String(raw).trim().split("-");
  if (rest.length > 0 || !language) return null;
  const code = region === undefined ? language.toLowerCase()
    : `${language.toLowerCase()}-${region.toUpperCase()}`;
  return LANG_RE.test(code) ? code : null;
}

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

function parsePartials(raw, warn) {
  if (raw === "1" || raw === "true") return true;
  if (raw === "0" || raw === "false") return false;
  warn(`[kiosk] partials: "${raw}" is not 0 or 1, using ${DEFAULT_OPTIONS.partials ? 1 : 0}`);
  return DEFAULT_OPTIONS.partials;
}

function parseQr(raw, warn) {
  if (raw === "1" || raw === "true") return true;
  if (raw === "0" || raw === "false") return false;
  warn(`[kiosk] qr: "${raw}" is not 0 or 1, using ${DEFAULT_OPTIONS.qr ? 1 : 0}`);
  return DEFAULT_OPTIONS.qr;
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
  if (params.has("partials")) options.partials = parsePartials(params.get("partials"), warn);
  if (params.has("size")) options.size = parseSize(params.get("size"), warn);
  if (params.has("lines")) options.lines = parseLines(params.get("lines"), warn);
  if (params.has("qr")) options.qr = parseQr(params.get("qr"), warn);
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
  if (!match) return null;
  let room;
  try {
    room = decodeURIComponent(match[1]);
  } catch {
    return null;
  }
  return ROOM_RE.test(room) ? room : null;
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
 *   signal: {noSignal: boolean, clipping: boolean} | null, offline: boolean}} Status
 * @typedef {{room: string | null, connection: "connecting" | "open" | "reconnecting",
 *   finals: Final[], partials: Partial[], lastFinal: number, status: Status | null}} State
 */

/**
 * A fresh state: no captions, not connected yet.
 * @param {string | null} [room]
 * @returns {State}
 */
export function initialState(room = null) {
  return { room, connection: "connecting", finals: [], partials: [], lastFinal: -1, status: null };
}

/** A valid segment id: a non-negative safe integer. */
export const isSegment = (value) => Number.isSafeInteger(value) && value >= 0;
const langOrNull = (value) => (typeof value === "string" ? normalizeLang(value) : null);
/** The value if it is a string, else null. */
export const stringOrNull = (value) => (typeof value === "string" ? value : null);

/** A final's `translations` from the wire: only non-empty strings, never throws. */
function cleanTranslations(raw) {
  const out = {};
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) return out;
  for (const [lang, text] of Object.entries(raw)) {
    if (typeof text === "string" && text.trim() !== "") out[lang] = text;
  }
  return out;
}

function sameFinal(a, b) {
  if (a.text !== b.text || a.lang !== b.lang) return false;
  const keysA = Object.keys(a.translations);
  const keysB = Object.keys(b.translations);
  return keysA.length === keysB.length && keysA.every((k) => a.translations[k] === b.translations[k]);
}

/**
 * A `final` from the wire as {segment, text, lang, translations}, or null when it has no
 * valid segment id or no text. `langOf` reads its language (normalized by default).
 */
export function finalFromMessage(msg, langOf = langOrNull) {
  if (!isSegment(msg.segment) || typeof msg.text !== "string" || msg.text.trim() === "") {
    return null;
  }
  return {
    segment: msg.segment,
    text: msg.text,
    lang: langOf(msg.lang),
    translations: cleanTranslations(msg.translations),
  };
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
 * comes back in the backlog) but keeps the finals on screen.
 * @param {State} state
 * @param {"connecting" | "open" | "reconnecting"} connection
 * @returns {State}
 */
export function withConnection(state, connection) {
  if (state.connection === connection) return state;
  const partials = connection === "open" ? state.partials : [];
  return { ...state, connection, partials };
}

/**
 * The translation of a final for a requested language: the exact code first, then any code of
 * the same base language (`it` matches `it-IT` and the other way round).
 * @param {Record<string, string>} translations
 * @param {string} lang
 * @returns {string | null}
 */
export function translationFor(translations, lang) {
  if (Object.hasOwn(translations, lang)) return translations[lang];
  const base = lang.split("-")[0];
  const key = Object.keys(translations).find((k) => k.split("-")[0].toLowerCase() === base);
  return key === undefined ? null : translations[key];
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

// ---------------------------------------------------------------------------------------------
// Rendering

/** Content signature of each rendered caption element, so unchanged ones are reused. */
const signatures = new WeakMap();

const AUDIO_LABELS = { flowing: "audio", connected: "silent", absent: "no audio" };
const CONNECTION_LABELS = { connecting: "connecting", open: "live", reconnecting: "offline" };
const BANNER_TEXT = { connecting: "Connecting…", reconnecting: "Reconnecting…" };

function el(doc, tag, className, text) {
  const node = doc.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function part(container, className, tag = "div") {
  let node = container.querySelector(`:scope > .${className}`);
  if (node === null) {
    node = el(container.ownerDocument, tag, className);
    container.append(node);
  }
  return node;
}

/** Create (once) the parts of the page inside the container and return them. */
function skeleton(container) {
  const corner = part(container, "corner", "aside");
  const dot = part(corner, "dot", "span");
  const room = part(corner, "room", "span");
  const conn = part(corner, "conn", "span");
  const mode = part(corner, "mode", "span");
  const alarm = part(corner, "alarm", "span");
  const qr = part(container, "qr", "aside");
  let qrImage = qr.querySelector("img");
  if (qrImage === null) {
    const doc = container.ownerDocument;
    const frame = el(doc, "div", "qr-frame");
    qrImage = el(doc, "img");
    qrImage.alt = "QR code: captions on your phone";
    qrImage.decoding = "async";
    // A code that cannot load (no route, refused token) is hidden, not shown broken.
    qrImage.addEventListener("error", () => { qr.dataset.failed = "1"; });
    qrImage.addEventListener("load", () => { delete qr.dataset.failed; });
    frame.append(qrImage);
    qr.append(frame, el(doc, "p", "qr-label", "Captions on your phone"));
  }
  return {
    qr,
    qrImage,
    mode,
    alarm,
    banner: part(container, "banner"),
    captions: part(container, "captions"),
    empty: part(container, "empty", "p"),
    notice: part(container, "notice", "p"),
    dot,
    room,
    conn,
  };
}

function setText(node, text) {
  if (node.textContent !== text) node.textContent = text;
}

function setShown(node, shown) {
  if (node.hidden === shown) node.hidden = !shown;
}

function sourceNode(doc, text, lang) {
  const node = el(doc, "p", "source", text);
  if (lang) node.lang = lang;
  node.dir = "auto";
  return node;
}

function translationNode(doc, lang, index, text) {
  const node = el(doc, "p", `translation lang-${index}${text === null ? " missing" : ""}`);
  node.dataset.lang = lang;
  const tag = el(doc, "span", "tag", lang.toUpperCase());
  const body = el(doc, "span", "text", text ?? "—");
  if (text !== null) {
    body.lang = lang;
    body.dir = "auto";
  }
  node.append(tag, body);
  return node;
}

function finalNode(doc, final, shownLangs) {
  const node = el(doc, "div", "line final");
  node.dataset.segment = String(final.segment);
  node.append(sourceNode(doc, final.text, final.lang));
  shownLangs.forEach((lang, index) => {
    node.append(translationNode(doc, lang, index, translationFor(final.translations, lang)));
  });
  return node;
}

function partialNode(doc, partial) {
  const node = el(doc, "div", "line partial");
  node.dataset.segment = String(partial.segment);
  const source = sourceNode(doc, partial.text, partial.lang);
  if (partial.words) {
    // Words the engine may still revise are set apart, so readers do not trust them yet.
    source.textContent = "";
    partial.words.forEach((word, index) => {
      if (index > 0) source.append(doc.createTextNode(" "));
      source.append(el(doc, "span", word.stable ? "word stable" : "word unstable", word.text));
    });
  }
  node.append(source);
  return node;
}

/** Build the wanted caption elements, reusing the current ones whose content is unchanged. */
function captionNodes(captions, state, options) {
  const doc = captions.ownerDocument;
  const current = new Map();
  for (const node of captions.children) current.set(node.dataset.key, node);
  const langs = options.langs.filter((l) => langAvailability(state.status, l) === "ok");
  const wanted = [];
  const reuse = (key, signature, build) => {
    const old = current.get(key);
    const node = old !== undefined && signatures.get(old) === signature ? old : build();
    node.dataset.key = key;
    signatures.set(node, signature);
    wanted.push(node);
  };
  state.finals.forEach((final, index) => {
    const signature = JSON.stringify([final.text, final.lang, langs,
      langs.map((l) => translationFor(final.translations, l))]);
    reuse(`f${final.segment}`, signature, () => finalNode(doc, final, langs));
    const age = Math.min(state.finals.length - 1 - index, 3);
    if (wanted.at(-1).dataset.age !== String(age)) wanted.at(-1).dataset.age = String(age);
  });
  for (const partial of state.partials) {
    const signature = JSON.stringify([partial.text, partial.lang, partial.words]);
    reuse(`p${partial.segment}`, signature, () => partialNode(doc, partial));
  }
  return wanted;
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

function emptyText(state) {
  if (state.room === null) return "No valid room in the address (expected /kiosk/<room>)";
  if (state.connection === "open") return "Waiting for the speaker…";
  return "";
}

/**
 * Render the state into `container` (creating its parts on first use). Text from the wire is
 * only ever written with `textContent`.
 * @param {Element} container the page's root element (e.g. `<main id="kiosk">`)
 * @param {State} state
 * @param {{langs: string[], partials: boolean, size: number, lines: number, qr?: boolean,
 *   token?: string | null}} options
 */
export function render(container, state, options) {
  const parts = skeleton(container);
  container.style.setProperty("--size", String(options.size));
  container.dataset.connection = state.connection;
  reconcile(parts.captions, captionNodes(parts.captions, state, options));

  const hasCaptions = state.finals.length > 0 || state.partials.length > 0;
  const empty = hasCaptions ? "" : emptyText(state);
  setText(parts.empty, empty);
  setShown(parts.empty, empty !== "");

  const notice = noticeText(state, options);
  setText(parts.notice, notice);
  setShown(parts.notice, notice !== "");

  const banner = BANNER_TEXT[state.connection] ?? "";
  setText(parts.banner, banner);
  setShown(parts.banner, banner !== "" && state.room !== null);

  setText(parts.room, state.room ?? "—");
  setText(parts.conn, CONNECTION_LABELS[state.connection] ?? state.connection);
  const audio = state.connection === "open" ? (state.status?.audio ?? "unknown") : "unknown";
  parts.dot.dataset.audio = audio;
  parts.dot.title = AUDIO_LABELS[audio] ?? "audio unknown";

  const live = state.connection === "open";
  const offline = live && state.status?.offline === true;
  setText(parts.mode, offline ? "offline captions" : "");
  setShown(parts.mode, offline);
  const alarm = live && audio !== "absent" ? signalAlarm(state.status) : "";
  setText(parts.alarm, alarm);
  setShown(parts.alarm, alarm !== "");
  parts.alarm.dataset.alarm = alarm.replace(" ", "_");

  const showQr = options.qr === true && state.room !== null;
  setShown(parts.qr, showQr);
  container.dataset.qr = showQr ? "1" : "0";
  if (showQr) {
    const src = qrImageUrl(state.room, options.token ?? null);
    if (parts.qrImage.getAttribute("src") !== src) parts.qrImage.setAttribute("src", src);
  }
}
