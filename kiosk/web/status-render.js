// Pure parts of the status page: token and response handling, the room view model, the
// settings form's request, and DOM-building helpers.
//
// Nothing here touches a DOM global, fetch or storage at import time. DOM helpers only use the
// elements they are given (and their ownerDocument), and write text from the wire with
// `textContent`, never `innerHTML`.

import { normalizeLang } from "./protocol.js";

export { normalizeLang };

/** Poll `/api/status` this often while the server answers. */
export const POLL_MS = 2000;

/** After a failed poll: 1 s × 1.5 per failure, never under POLL_MS, at most 30 s. */
export const BACKOFF = Object.freeze({ firstMs: 1000, factor: 1.5, maxMs: 30000 });

/** Where the admin token is kept for this tab (sessionStorage). */
export const TOKEN_KEY = "room-captions.admin-token";

/** The source-language select's entry that reveals a free text field. */
export const OTHER_LANG = "__other__";

/** The signal meter's scale: -60 dBFS (empty) to 0 dBFS (full). */
export const METER_FLOOR_DB = -60;

/**
 * Delay before the next poll after `failures` failed polls in a row (0: all is well).
 * @param {number} failures
 * @returns {number} milliseconds
 */
export function pollDelay(failures) {
  if (failures <= 0) return POLL_MS;
  const delay = BACKOFF.firstMs * BACKOFF.factor ** (failures - 1);
  return Math.min(Math.max(Math.round(delay), POLL_MS), BACKOFF.maxMs);
}

/**
 * The `token` query parameter of a page URL, or null when absent or empty.
 * @param {string | URLSearchParams} search e.g. `location.search`
 * @returns {string | null}
 */
export function tokenFromSearch(search) {
  const params = search instanceof URLSearchParams ? search : new URLSearchParams(search ?? "");
  const token = (params.get("token") ?? "").trim();
  return token === "" ? null : token;
}

/**
 * The page URL without its `token` parameter (so the secret does not stay in the address bar,
 * the history or a screenshot).
 * @param {string} href e.g. `location.href`
 * @returns {string}
 */
export function withoutToken(href) {
  const url = new URL(href);
  url.searchParams.delete("token");
  return url.pathname + (url.search === "?" ? "" : url.search) + url.hash;
}

/**
 * `path` with `?token=` (or `&token=`) appended when a token is known.
 * @param {string} path
 * @param {string | null} token
 * @returns {string}
 */
export function withToken(path, token) {
  if (!token) return path;
  return `${path}${path.includes("?") ? "&" : "?"}token=${encodeURIComponent(token)}`;
}

/**
 * Headers for fetch(): the token as `Authorization: Bearer`, when there is one.
 * @param {string | null} token
 * @param {Record<string, string>} [extra]
 * @returns {Record<string, string>}
 */
export function authHeaders(token, extra = {}) {
  return token ? { ...extra, Authorization: `Bearer ${token}` } : { ...extra };
}

const messageOf = (body) =>
  body !== null && typeof body === "object" && typeof body.message === "string"
    ? body.message : "";
const errorOf = (body) =>
  body !== null && typeof body === "object" && typeof body.error === "string" ? body.error : "";

/**
 * What an HTTP answer of the server means for the page.
 * - `ok`: use the body;
 * - `token`: the admin token is missing or refused: ask for it, stop polling;
 * - `refused`: refused for another reason (origin): say so, stop polling;
 * - `busy`: too many attempts: retry after `retryAfterS`;
 * - `failed`: anything else (5xx, a body that is not JSON): keep retrying with backoff.
 * @param {number} status HTTP status
 * @param {any} body the parsed JSON body, or null
 * @param {string | null} [retryAfter] the Retry-After header
 * @returns {{kind: "ok" | "token" | "refused" | "busy" | "failed", message: string,
 *   retryAfterS?: number}}
 */
export function classifyAnswer(status, body, retryAfter = null) {
  const detail = messageOf(body);
  const error = errorOf(body);
  if (status >= 200 && status < 300) {
    if (body === null || typeof body !== "object") {
      return { kind: "failed", message: "the server's answer is not JSON" };
    }
    return { kind: "ok", message: "" };
  }
  if (status === 401 || error === "token_missing") {
    return {
      kind: "token",
      message: `This server needs the admin token.${detail ? ` Server: ${detail}` : ""}`,
    };
  }
  if (status === 403 && error !== "origin_refused") {
    return {
      kind: "token",
      message: `The server refused this token${detail ? `: ${detail}` : "."}`,
    };
  }
  if (status === 403) {
    return { kind: "refused", message: `Refused: ${detail || error || "forbidden"}` };
  }
  if (status === 429) {
    const seconds = Number(retryAfter);
    return {
      kind: "busy",
      message: "Too many attempts from this address; waiting before the next one.",
      retryAfterS: Number.isFinite(seconds) && seconds > 0 ? seconds : 5,
    };
  }
  return {
    kind: "failed",
    message: `HTTP ${status}${detail ? `: ${detail}` : error ? `: ${error}` : ""}`,
  };
}

// ---------------------------------------------------------------------------------------------
// Formatting

const pad = (n) => String(n).padStart(2, "0");

/**
 * A wall-clock time as local `HH:MM:SS` (invalid input: "—").
 * @param {string | number | Date | null | undefined} value ISO string, epoch ms or Date
 * @returns {string}
 */
export function clock(value) {
  if (value === null || value === undefined || value === "") return "—";
  const date = value instanceof Date ? value : new Date(value);
  if (Number.isNaN(date.getTime())) return typeof value === "string" ? value : "—";
  return `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
}

/**
 * `-23.5 dBFS`, or "—" for a missing value.
 * @param {number | null | undefined} value
 * @returns {string}
 */
export function dbfs(value) {
  return Number.isFinite(value) ? `${value.toFixed(1)} dBFS` : "—";
}

/**
 * Seconds: `0.84 s`, `12.3 s`, `3 min 20 s`, `2 h 05 min`; "—" for a missing value.
 * @param {number | null | undefined} value
 * @returns {string}
 */
export function seconds(value) {
  if (!Number.isFinite(value)) return "—";
  if (value < 10) return `${value.toFixed(2)} s`;
  if (value < 60) return `${value.toFixed(1)} s`;
  if (value < 3600) return `${Math.floor(value / 60)} min ${pad(Math.floor(value % 60))} s`;
  return `${Math.floor(value / 3600)} h ${pad(Math.floor((value % 3600) / 60))} min`;
}

/**
 * US dollars: `$12.35`, `$0.02`; four decimals below a cent (`$0.0042`).
 * @param {number | null | undefined} value
 * @returns {string}
 */
export function usd(value) {
  if (!Number.isFinite(value)) return "—";
  return value > 0 && value < 0.01 ? `$${value.toFixed(4)}` : `$${value.toFixed(2)}`;
}

/**
 * Where a level sits on the meter, 0–100 (%).
 * @param {number | null | undefined} db
 * @returns {number}
 */
export function meterPercent(db) {
  if (!Number.isFinite(db)) return 0;
  const pct = ((db - METER_FLOOR_DB) / -METER_FLOOR_DB) * 100;
  return Math.round(Math.min(100, Math.max(0, pct)) * 10) / 10;
}

// ---------------------------------------------------------------------------------------------
// View model

const str = (value, fallback = "") => (typeof value === "string" ? value : fallback);
const num = (value) => (typeof value === "number" && Number.isFinite(value) ? value : null);
const strings = (value) =>
  Array.isArray(value) ? value.filter((v) => typeof v === "string") : [];
const isObject = (value) => value !== null && typeof value === "object" && !Array.isArray(value);

function sourceView(raw) {
  if (!isObject(raw)) return null;
  return {
    client: str(raw.client),
    device: str(raw.device),
    remote: str(raw.remote),
    language: str(raw.language),
    session: str(raw.session),
    audioSeconds: num(raw.audio_seconds),
    lastFrameAge: num(raw.last_frame_age_s),
    gaps: Array.isArray(raw.gaps) ? raw.gaps.length : num(raw.gaps) ?? 0,
    droppedS: num(raw.dropped_s) ?? 0,
  };
}

function signalView(raw) {
  if (!isObject(raw)) return null;
  const rms = num(raw.rms_dbfs);
  const peak = num(raw.peak_dbfs);
  return {
    rms,
    peak,
    rmsPercent: meterPercent(rms),
    peakPercent: meterPercent(peak),
    clipping: raw.clipping === true,
    noSignal: raw.no_signal === true,
    silentS: num(raw.silent_s),
  };
}

function latencyView(raw) {
  if (!isObject(raw)) return null;
  return {
    last: num(raw.last_s), p50: num(raw.p50_s), p95: num(raw.p95_s), count: num(raw.count) ?? 0,
  };
}

function listenersView(raw, subscribers) {
  const byLang = isObject(raw) && isObject(raw.by_lang)
    ? Object.entries(raw.by_lang)
      .filter(([, n]) => Number.isFinite(n) && n > 0)
      .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    : [];
  return {
    total: isObject(raw) ? num(raw.total) ?? 0 : num(subscribers) ?? 0,
    audio: isObject(raw) ? num(raw.audio) ?? 0 : 0,
    byLang,
  };
}

function costView(raw) {
  const parts = [];
  const money = isObject(raw) && isObject(raw.usd) ? raw.usd : {};
  for (const [key, label] of [["recognizer", "speech recognition"], ["translate", "translation"],
    ["polly", "voice"]]) {
    const value = num(money[key]);
    if (value !== null && value > 0) parts.push([label, value]);
  }
  return {
    total: num(money.total),
    parts,
    since: isObject(raw) ? str(raw.since) : "",
  };
}

function errorsView(raw, lastError) {
  const errors = (Array.isArray(raw) ? raw : [])
    .filter((e) => isObject(e) && typeof e.message === "string")
    .map((e) => ({ at: str(e.at), message: e.message }));
  errors.reverse(); // the API lists the newest last; the page shows it first
  if (errors.length === 0 && typeof lastError === "string" && lastError !== "") {
    errors.push({ at: "", message: lastError });
  }
  return errors;
}

/**
 * The alarm a card shows about its source's signal: "no_signal" (a muted mixer), "clipping"
 * (too loud), "" when all is well, nothing is known, or there is no source.
 * @param {{source: object | null, signal: {noSignal: boolean, clipping: boolean} | null}} view
 * @returns {"no_signal" | "clipping" | ""}
 */
export function signalAlarm(view) {
  if (view.source === null || view.signal === null) return "";
  if (view.signal.noSignal) return "no_signal";
  if (view.signal.clipping) return "clipping";
  return "";
}

/**
 * The links of a room's card. Pages that need a token get the admin token in their query (the
 * captions socket and exports accept it); the listener link is the server's `listen_url`.
 * @param {string} name
 * @param {string} listenUrl
 * @param {string | null} token
 */
export function roomLinks(name, listenUrl, token) {
  const room = encodeURIComponent(name);
  return {
    kiosk: withToken(`/kiosk/${room}`, token),
    listen: listenUrl || withToken(`/listen/${room}`, token),
    exports: ["txt", "srt", "vtt", "jsonl"].map((fmt) => ({
      label: fmt,
      href: withToken(`/rooms/${room}/transcript.${fmt}`, token),
    })),
    door: withToken(`/static/door.html?room=${room}`, token),
  };
}

/**
 * One room of `/api/status` as the card shows it. Missing or malformed fields get safe
 * defaults, so a partial answer never breaks the page.
 * @param {string} name
 * @param {any} raw the room object of `/api/status`
 * @param {string | null} token
 */
export function roomView(name, raw, token = null) {
  const room = isObject(raw) ? raw : {};
  const source = sourceView(room.source);
  const signal = source === null ? null : signalView(room.source.signal ?? room.signal);
  const sourceLangs = Array.isArray(room.source_langs) ? strings(room.source_langs) : null;
  const listenUrl = str(room.listen_url);
  const view = {
    name,
    audio: str(room.audio, "absent"),
    source,
    signal,
    alarm: "",
    engine: str(room.engine, "?"),
    offline: room.offline === true,
    translator: str(room.translator, "none"),
    speech: room.speech === true,
    synthesizer: str(room.synthesizer, "none"),
    sourceLang: str(room.source_lang),
    languages: strings(room.languages),
    targets: strings(room.targets),
    sourceLangs,
    identification: room.identification === true,
    latency: latencyView(room.latency),
    listeners: listenersView(room.listeners, room.subscribers),
    cost: costView(room.cost),
    finals: num(room.finals) ?? 0,
    errors: errorsView(room.errors, room.last_error),
    switches: (Array.isArray(room.engine_switches) ? room.engine_switches : [])
      .filter(isObject).map((s) => ({ at: s.at, to: str(s.to), reason: str(s.reason) }))
      .reverse(),
    listenUrl,
    links: roomLinks(name, listenUrl, token),
  };
  view.alarm = signalAlarm(view);
  return view;
}

/**
 * The whole answer of `/api/status` as the page shows it (rooms sorted by name).
 * @param {any} body
 * @param {string | null} token
 */
export function statusView(body, token = null) {
  const server = isObject(body) && isObject(body.server) ? body.server : {};
  const rooms = isObject(body) && isObject(body.rooms) ? body.rooms : {};
  return {
    version: str(server.version),
    uptimeS: num(server.uptime_s),
    auth: isObject(server.auth) ? server.auth : {},
    rooms: Object.keys(rooms).sort().map((name) => roomView(name, rooms[name], token)),
  };
}

// ---------------------------------------------------------------------------------------------
// Settings form

/**
 * Parse a comma- (or space-) separated list of language codes. Codes are normalised
 * (`IT-it` -> `it-IT`) and de-duplicated; what is not a code is reported in `bad`.
 * @param {string} text
 * @returns {{codes: string[], bad: string[]}}
 */
export function parseLangList(text) {
  const codes = [];
  const bad = [];
  for (const part of String(text ?? "").split(/[\s,;]+/)) {
    if (part === "") continue;
    const code = normalizeLang(part);
    if (code === null) bad.push(part);
    else if (!codes.includes(code)) codes.push(code);
  }
  return { codes, bad };
}

const sameList = (a, b) => a.length === b.length && a.every((v, i) => v === b[i]);

/**
 * The values a settings form starts from: the room's current settings.
 * @param {{sourceLang: string, languages: string[], targets: string[]}} view
 * @returns {{sourceLang: string, auto: boolean, languages: string, targets: string}}
 */
export function formValues(view) {
  return {
    sourceLang: view.sourceLang,
    auto: view.languages.length > 0,
    languages: view.languages.join(", "),
    targets: view.targets.join(", "),
  };
}

/**
 * The problems of a form's values that the page can see by itself (the server checks again and
 * has the last word): codes that do not look like language codes.
 * @param {{sourceLang: string, auto: boolean, languages: string, targets: string}} values
 * @returns {{field: "source_lang" | "languages" | "targets", message: string}[]}
 */
export function formProblems(values) {
  const problems = [];
  const source = String(values.sourceLang ?? "").trim();
  if (source === "") {
    problems.push({ field: "source_lang", message: "give the spoken language, like it-IT" });
  } else if (normalizeLang(source) === null) {
    problems.push({
      field: "source_lang",
      message: `"${source}" does not look like a language code (like it-IT or de)`,
    });
  }
  for (const [field, text] of [["languages", values.languages], ["targets", values.targets]]) {
    if (field === "languages" && !values.auto) continue;
    const { bad } = parseLangList(text);
    if (bad.length > 0) {
      problems.push({
        field,
        message: `not language codes: ${bad.join(", ")} (use codes like it, de, pt-BR)`,
      });
    }
  }
  return problems;
}

/**
 * The JSON body of `POST /api/rooms/{room}/settings` for a form: only the fields that differ
 * from the room's current settings. Codes are normalised where they can be; a value that is
 * not a code is sent as typed, so the server's own message explains what is wrong.
 * @param {{sourceLang: string, auto: boolean, languages: string, targets: string}} values
 * @param {{sourceLang: string, languages: string[], targets: string[]}} current
 * @returns {Record<string, string | string[]>} empty when nothing changed
 */
export function settingsBody(values, current) {
  const body = {};
  const rawSource = String(values.sourceLang ?? "").trim();
  const source = normalizeLang(rawSource) ?? rawSource;
  if (source !== current.sourceLang) body.source_lang = source;

  const list = (text) => {
    const { codes, bad } = parseLangList(text);
    return [...codes, ...bad];
  };
  const languages = values.auto ? list(values.languages) : [];
  if (!sameList(languages, current.languages)) body.languages = languages;
  const targets = list(values.targets);
  if (!sameList(targets, current.targets)) body.targets = targets;
  return body;
}

/**
 * The line shown next to the form after the server answered.
 * @param {number} status HTTP status
 * @param {any} body parsed JSON or null
 * @returns {{ok: boolean, text: string}}
 */
export function applyResult(status, body) {
  if (status >= 200 && status < 300 && isObject(body)) {
    const languages = strings(body.languages);
    const targets = strings(body.targets);
    const parts = [`source ${str(body.source_lang, "?")}`];
    parts.push(languages.length ? `identifying ${languages.join(", ")}` : "fixed language");
    parts.push(targets.length ? `translating to ${targets.join(", ")}` : "no translation");
    return { ok: true, text: `Applied: ${parts.join(" · ")}` };
  }
  const detail = messageOf(body);
  const code = errorOf(body);
  const head = status === 400 ? "Invalid" : status === 409 ? "Not possible" : `HTTP ${status}`;
  return { ok: false, text: `${head}${code ? ` (${code})` : ""}: ${detail || "no details"}` };
}

// ---------------------------------------------------------------------------------------------
// DOM helpers

/**
 * Create an element with an optional class and text (always via textContent).
 * @param {Document} doc
 * @param {string} tag
 * @param {string} [className]
 * @param {string} [text]
 * @returns {HTMLElement}
 */
export function el(doc, tag, className, text) {
  const node = doc.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

/** Set a node's text only when it changes (no needless layout or selection loss). */
export function setText(node, text) {
  if (node.textContent !== text) node.textContent = text;
}

/** Show or hide a node. */
export function setShown(node, shown) {
  if (node.hidden === shown) node.hidden = !shown;
}

function setAttr(node, name, value) {
  if (node.getAttribute(name) !== value) node.setAttribute(name, value);
}

function fact(doc, dl, key, label) {
  const dt = el(doc, "dt", "", label);
  const dd = el(doc, "dd", key);
  dd.dataset.fact = key;
  dl.append(dt, dd);
  return dd;
}

function link(doc, className, text) {
  const a = el(doc, "a", className, text);
  a.target = "_blank";
  a.rel = "noopener";
  return a;
}

/**
 * Build an empty room card (its parts are filled by `updateCard`). The settings form is built
 * too; its fields are filled by `fillForm`.
 * @param {Document} doc
 * @param {string} name
 * @returns {HTMLElement}
 */
export function buildCard(doc, name) {
  const card = el(doc, "section", "room");
  card.dataset.room = name;

  const head = el(doc, "header", "room-head");
  const title = el(doc, "h2", "room-name", name);
  const audio = el(doc, "span", "badge audio");
  const engine = el(doc, "span", "badge engine");
  head.append(title, audio, engine);

  const alarm = el(doc, "p", "alarm");
  alarm.setAttribute("role", "alert");
  alarm.hidden = true;

  const dl = el(doc, "dl", "facts");
  fact(doc, dl, "source", "Audio source");
  const signalDd = fact(doc, dl, "signal", "Signal");
  const meter = el(doc, "div", "meter");
  meter.setAttribute("aria-hidden", "true");
  meter.append(el(doc, "span", "rms"), el(doc, "span", "peak"));
  signalDd.append(meter, el(doc, "span", "levels"));
  fact(doc, dl, "languages", "Languages");
  fact(doc, dl, "latency", "Caption delay");
  fact(doc, dl, "listeners", "Listeners");
  fact(doc, dl, "cost", "Running cost");
  fact(doc, dl, "finals", "Captions");

  const errorsBox = el(doc, "details", "errors");
  const summary = el(doc, "summary", "errors-title");
  errorsBox.append(summary, el(doc, "ul", "error-list"));

  const links = el(doc, "nav", "links");
  links.append(
    link(doc, "kiosk", "Kiosk screen"),
    link(doc, "listen", "Listener page"),
    link(doc, "door", "Door sign"),
  );
  const exports = el(doc, "span", "exports");
  exports.append(el(doc, "span", "", "Transcript:"));
  links.append(exports);

  card.append(head, alarm, dl, errorsBox, links, buildForm(doc, name));
  return card;
}

function sourceText(view) {
  if (view.source === null) return "no audio source";
  const s = view.source;
  const who = [s.client || "unknown client", s.device && `· ${s.device}`,
    s.remote && `· from ${s.remote}`].filter(Boolean).join(" ");
  const state = view.audio === "flowing" ? "audio flowing"
    : view.audio === "connected" ? `connected, no audio for ${seconds(s.lastFrameAge)}`
      : view.audio;
  const extra = s.gaps ? ` · ${s.gaps} gap(s), ${seconds(s.droppedS)} dropped` : "";
  return `${who} — ${state}${s.language ? ` · speaks ${s.language}` : ""}${extra}`;
}

function languagesText(view) {
  const heard = view.source?.language ?? "";
  const nodeChose = heard !== "" && heard !== view.sourceLang && view.languages.length === 0;
  const spoken = view.languages.length
    ? `identifying ${view.languages.join(" / ")}`
    : nodeChose ? `speaks ${heard} (chosen by the audio node; room setting ${view.sourceLang})`
      : `speaks ${view.sourceLang || "?"}`;
  const targets = view.targets.length
    ? `→ ${view.targets.join(", ")} (${view.translator})` : "· no translation";
  const voice = view.speech ? ` · voice ${view.synthesizer}` : "";
  return `${spoken} ${targets}${voice}`;
}

function latencyText(latency) {
  if (latency === null || latency.count === 0) return "no captions measured yet";
  return `last ${seconds(latency.last)} · p50 ${seconds(latency.p50)} · ` +
    `p95 ${seconds(latency.p95)} (${latency.count})`;
}

function listenersText(listeners) {
  const head = `${listeners.total} connected, ${listeners.audio} with sound`;
  if (listeners.byLang.length === 0) return head;
  return `${head} — ${listeners.byLang.map(([lang, n]) => `${lang} ${n}`).join(", ")}`;
}

function costText(cost) {
  if (cost.total === null) return "—";
  const parts = cost.parts.map(([label, value]) => `${label} ${usd(value)}`).join(", ");
  const since = cost.since ? ` since ${clock(cost.since)}` : "";
  return `${usd(cost.total)}${parts ? ` (${parts})` : ""}${since}`;
}

/**
 * A room's errors and engine switches in one list, newest first (entries without a time, like
 * a bare `last_error`, first).
 * @param {{errors: {at: string, message: string}[], switches: {at: any, to: string,
 *   reason: string}[]}} view
 * @returns {{kind: "error" | "switch", at: string, message: string}[]}
 */
export function errorEntries(view) {
  const entries = [
    ...view.errors.map((e) => ({ kind: "error", at: e.at, message: e.message })),
    ...view.switches.map((s) => ({
      kind: "switch", at: typeof s.at === "string" ? s.at : "",
      message: `switched to ${s.to}${s.reason ? `: ${s.reason}` : ""}`,
    })),
  ];
  const time = (e) => {
    const t = Date.parse(e.at);
    return Number.isNaN(t) ? Infinity : t;
  };
  return entries
    .map((e, index) => [e, index])
    .sort(([a, i], [b, j]) => time(b) - time(a) || i - j)
    .map(([e]) => e);
}

const AUDIO_BADGES = { flowing: "audio", connected: "silent link", absent: "no source" };

/**
 * Fill a card's live parts from a room view (everything but the settings form).
 * @param {HTMLElement} card from `buildCard`
 * @param {ReturnType<typeof roomView>} view
 */
export function updateCard(card, view) {
  const q = (selector) => card.querySelector(selector);
  const audio = q(".badge.audio");
  setText(audio, AUDIO_BADGES[view.audio] ?? view.audio);
  audio.dataset.audio = view.audio;

  const engine = q(".badge.engine");
  setText(engine, view.offline ? `OFFLINE · ${view.engine}` : view.engine);
  engine.dataset.offline = String(view.offline);
  engine.title = view.offline
    ? "This room wants the cloud recognizer but captions with the embedded one"
    : "Recognizer in use";

  const alarm = q(".alarm");
  const alarmText = view.alarm === "no_signal"
    ? `NO SIGNAL${view.signal?.silentS ? ` for ${seconds(view.signal.silentS)}` : ""} — ` +
      "check the mixer and the microphone"
    : view.alarm === "clipping" ? "Clipping — the input is too loud, lower the gain" : "";
  setText(alarm, alarmText);
  setShown(alarm, alarmText !== "");
  alarm.dataset.alarm = view.alarm;
  card.dataset.alarm = view.alarm;
  card.dataset.audio = view.audio;

  setText(q("dd.source"), sourceText(view));
  const meter = q(".meter");
  const signal = view.signal;
  meter.style.setProperty("--rms", `${signal?.rmsPercent ?? 0}%`);
  meter.style.setProperty("--peak", `${signal?.peakPercent ?? 0}%`);
  meter.dataset.state = view.alarm || (signal ? "ok" : "none");
  setShown(meter, signal !== null);
  setText(q("dd.signal .levels"), signal === null
    ? (view.source === null ? "—" : "no level report yet")
    : `RMS ${dbfs(signal.rms)} · peak ${dbfs(signal.peak)}`);
  setText(q("dd.languages"), languagesText(view));
  setText(q("dd.latency"), latencyText(view.latency));
  setText(q("dd.listeners"), listenersText(view.listeners));
  setText(q("dd.cost"), costText(view.cost));
  setText(q("dd.finals"), `${view.finals} final${view.finals === 1 ? "" : "s"}`);

  const errorsBox = q(".errors");
  setText(q(".errors-title"), view.errors.length
    ? `Recent errors (${view.errors.length}) — latest: ${view.errors[0].message}`
    : "No recent errors");
  errorsBox.dataset.count = String(view.errors.length);
  // A new error opens the list (once: the lead may close it again).
  const newest = view.errors.length ? JSON.stringify(view.errors[0]) : "";
  if (newest !== "" && errorsBox.dataset.newest !== newest) errorsBox.open = true;
  errorsBox.dataset.newest = newest;
  const list = q(".error-list");
  const entries = errorEntries(view);
  const signature = JSON.stringify(entries);
  if (list.dataset.signature !== signature) {
    list.dataset.signature = signature;
    const doc = card.ownerDocument;
    list.replaceChildren(...entries.map((e) => {
      const li = el(doc, "li", e.kind);
      li.append(el(doc, "time", "at", clock(e.at || null)), el(doc, "span", "message", e.message));
      return li;
    }));
  }

  setAttr(q("a.kiosk"), "href", view.links.kiosk);
  setAttr(q("a.listen"), "href", view.links.listen);
  setAttr(q("a.door"), "href", view.links.door);
  const exports = q(".exports");
  for (const item of view.links.exports) {
    let a = exports.querySelector(`a[data-fmt="${item.label}"]`);
    if (a === null) {
      a = link(card.ownerDocument, "export", item.label);
      a.dataset.fmt = item.label;
      exports.append(a);
    }
    setAttr(a, "href", item.href);
  }
  updateFormShape(q("form.settings"), view);
}

// ---- the settings form ------------------------------------------------------------------

function labelled(doc, text, control, hint) {
  const label = el(doc, "label", "field");
  label.append(el(doc, "span", "label-text", text), control);
  if (hint) label.append(hint);
  return label;
}

/**
 * Build a room's settings form (empty; see `fillForm` and `updateFormShape`).
 * @param {Document} doc
 * @param {string} name
 * @returns {HTMLFormElement}
 */
export function buildForm(doc, name) {
  const form = el(doc, "form", "settings");
  form.dataset.room = name;
  form.noValidate = true; // the page shows its own hints; the server has the last word
  form.append(el(doc, "h3", "", "Settings"));

  const sourceInput = el(doc, "input", "source-lang text");
  sourceInput.name = "source_lang_text";
  sourceInput.autocomplete = "off";
  sourceInput.spellcheck = false;
  sourceInput.placeholder = "e.g. it-IT";
  sourceInput.pattern = "[a-zA-Z]{2,3}(-[a-zA-Z]{2}|-[0-9]{3})?";
  const sourceSelect = el(doc, "select", "source-lang choice");
  sourceSelect.name = "source_lang_choice";
  sourceSelect.hidden = true;
  const sourceBox = el(doc, "span", "source-box");
  sourceBox.append(sourceSelect, sourceInput);
  form.append(labelled(doc, "Spoken language", sourceBox, el(doc, "small", "hint source-hint")));

  const auto = el(doc, "input", "auto");
  auto.type = "checkbox";
  auto.name = "auto";
  const autoLabel = el(doc, "label", "auto-label");
  autoLabel.append(auto, el(doc, "span", "", " Identify automatically among"));
  const langs = el(doc, "input", "languages");
  langs.name = "languages";
  langs.autocomplete = "off";
  langs.spellcheck = false;
  langs.placeholder = "e.g. en-US, it-IT";
  const autoBox = el(doc, "div", "field auto-field");
  autoBox.append(autoLabel, langs, el(doc, "small", "hint languages-hint"));
  form.append(autoBox);

  const targets = el(doc, "input", "targets");
  targets.name = "targets";
  targets.autocomplete = "off";
  targets.spellcheck = false;
  targets.placeholder = "e.g. it, de, fr";
  const chips = el(doc, "span", "chips");
  const targetHint = el(doc, "small", "hint targets-hint");
  const targetBox = el(doc, "span", "targets-box");
  targetBox.append(targets, chips);
  form.append(labelled(doc, "Translate into", targetBox, targetHint));

  const buttons = el(doc, "div", "buttons");
  const apply = el(doc, "button", "apply", "Apply");
  apply.type = "submit";
  const reset = el(doc, "button", "discard", "Discard changes");
  reset.type = "button";
  reset.hidden = true;
  const edited = el(doc, "span", "edited", "edited, not applied");
  edited.hidden = true;
  buttons.append(apply, reset, edited);
  form.append(buttons);

  const result = el(doc, "p", "result");
  result.setAttribute("role", "status");
  result.setAttribute("aria-live", "polite");
  result.hidden = true;
  form.append(result);
  return form;
}

/**
 * Adapt the form to what the room accepts (select of source languages or free text,
 * identification possible or not). Does not touch what the user typed.
 * @param {HTMLFormElement} form
 * @param {ReturnType<typeof roomView>} view
 */
export function updateFormShape(form, view) {
  const doc = form.ownerDocument;
  const select = form.querySelector("select.source-lang");
  const input = form.querySelector("input.source-lang");
  const useSelect = Array.isArray(view.sourceLangs) && view.sourceLangs.length > 0;
  const options = useSelect ? [...view.sourceLangs] : [];
  if (useSelect && view.sourceLang && !options.includes(view.sourceLang)) {
    options.unshift(view.sourceLang);
  }
  const wanted = JSON.stringify(options);
  if (select.dataset.options !== wanted) {
    const keep = select.value;
    select.dataset.options = wanted;
    const other = el(doc, "option", "other", "other language…");
    other.value = OTHER_LANG;
    select.replaceChildren(...options.map((code) => {
      const option = el(doc, "option", "", code);
      option.value = code;
      return option;
    }), other);
    if (options.includes(keep) || keep === OTHER_LANG) select.value = keep;
    else select.value = options.includes(input.value) ? input.value : OTHER_LANG;
  }
  if (select.hidden === useSelect && useSelect) {
    // Turning into a select keeps the value the user sees.
    select.value = options.includes(input.value) ? input.value : OTHER_LANG;
  }
  setShown(select, useSelect);
  select.disabled = !useSelect;
  form.dataset.sourceLangs = options.join(", ");

  const auto = form.querySelector("input.auto");
  const possible = view.identification || view.languages.length > 0;
  auto.disabled = !possible;
  form.querySelector(".auto-field").dataset.possible = String(possible);
  form.dataset.translator = view.translator;
  showHints(form);
}

/**
 * Read the form's current values.
 * @param {HTMLFormElement} form
 * @returns {{sourceLang: string, auto: boolean, languages: string, targets: string}}
 */
export function readForm(form) {
  const select = form.querySelector("select.source-lang");
  const input = form.querySelector("input.source-lang");
  const fromSelect = !select.hidden && select.value !== OTHER_LANG;
  return {
    sourceLang: fromSelect ? select.value : input.value,
    auto: form.querySelector("input.auto").checked,
    languages: form.querySelector("input.languages").value,
    targets: form.querySelector("input.targets").value,
  };
}

/**
 * Put values into the form (the room's settings, or the server's answer after Apply).
 * @param {HTMLFormElement} form
 * @param {{sourceLang: string, auto: boolean, languages: string, targets: string}} values
 */
export function fillForm(form, values) {
  const select = form.querySelector("select.source-lang");
  const input = form.querySelector("input.source-lang");
  if (input.value !== values.sourceLang) input.value = values.sourceLang;
  if (select.options.length > 0) {
    const listed = [...select.options].some((o) => o.value === values.sourceLang);
    select.value = listed ? values.sourceLang : OTHER_LANG;
  }
  form.querySelector("input.auto").checked = values.auto;
  const langs = form.querySelector("input.languages");
  if (langs.value !== values.languages) langs.value = values.languages;
  const targets = form.querySelector("input.targets");
  if (targets.value !== values.targets) targets.value = values.targets;
  showHints(form);
}

/**
 * Mark the form as edited (or not): an edited form is never refilled by the poll.
 * @param {HTMLFormElement} form
 * @param {boolean} edited
 */
export function setEdited(form, edited) {
  form.dataset.edited = String(edited);
  setShown(form.querySelector(".edited"), edited);
  setShown(form.querySelector(".discard"), edited);
}

/**
 * Show the server's answer (or the page's own message) under the form.
 * @param {HTMLFormElement} form
 * @param {{ok: boolean, text: string} | null} result
 */
export function showResult(form, result) {
  const node = form.querySelector(".result");
  setText(node, result?.text ?? "");
  node.dataset.ok = result === null ? "" : String(result.ok);
  setShown(node, result !== null);
}

/**
 * Refresh the hints under the fields (invalid codes, the target chips).
 * @param {HTMLFormElement} form
 */
export function showHints(form) {
  const doc = form.ownerDocument;
  const values = readForm(form);
  const problems = formProblems(values);
  const byField = Object.fromEntries(problems.map((p) => [p.field, p.message]));
  const input = form.querySelector("input.source-lang");
  const languages = form.querySelector("input.languages");
  const targets = form.querySelector("input.targets");
  input.setAttribute("aria-invalid", String("source_lang" in byField));
  languages.setAttribute("aria-invalid", String("languages" in byField));
  targets.setAttribute("aria-invalid", String("targets" in byField));
  languages.disabled = !values.auto;
  const select = form.querySelector("select.source-lang");
  const typed = select.hidden || select.value === OTHER_LANG;
  setShown(input, typed);
  input.disabled = !typed;
  const known = form.dataset.sourceLangs ?? "";
  const sourceHint = form.querySelector(".source-hint");
  sourceHint.dataset.problem = String("source_lang" in byField);
  setText(sourceHint, byField.source_lang ?? (select.hidden
    ? "any code like it-IT, en-GB, de"
    : typed ? `this recognizer knows ${known}: the server refuses others`
      : `this recognizer knows ${known}`));
  setText(form.querySelector(".languages-hint"), byField.languages ?? (values.auto
    ? "two or more languages; the first is preferred"
    : form.querySelector(".auto-field").dataset.possible === "false"
      ? "this recognizer cannot identify languages" : "off: one fixed language"));
  const { codes } = parseLangList(values.targets);
  const chips = form.querySelector(".chips");
  const signature = codes.join(",");
  if (chips.dataset.signature !== signature) {
    chips.dataset.signature = signature;
    chips.replaceChildren(...codes.map((code) => el(doc, "span", "chip", code)));
  }
  const noTranslator = form.dataset.translator === "none" && codes.length > 0;
  setText(form.querySelector(".targets-hint"), byField.targets ??
    (noTranslator ? "this room has no translator: the server will refuse targets"
      : "comma-separated; empty: no translation. Applies from the next caption"));
}

// ---- page-level parts ---------------------------------------------------------------------

/**
 * Make `container`'s cards match `views`: new rooms get a card, gone rooms lose theirs, the
 * rest are updated in place (their forms keep what the user typed).
 * @param {HTMLElement} container
 * @param {ReturnType<typeof roomView>[]} views
 * @param {(card: HTMLElement, view: object, created: boolean) => void} [onCard] called for
 *   every card after its update (the wiring fills unedited forms there)
 */
export function renderRooms(container, views, onCard = () => {}) {
  const doc = container.ownerDocument;
  const existing = new Map();
  for (const card of container.querySelectorAll(":scope > section.room")) {
    existing.set(card.dataset.room, card);
  }
  const wanted = new Set(views.map((v) => v.name));
  for (const [name, card] of existing) if (!wanted.has(name)) card.remove();
  let previous = null;
  for (const view of views) {
    let card = existing.get(view.name);
    const created = card === undefined;
    if (created) card = buildCard(doc, view.name);
    const place = previous === null ? container.firstElementChild : previous.nextElementSibling;
    if (card !== place) container.insertBefore(card, place);
    updateCard(card, view);
    onCard(card, view, created);
    previous = card;
  }
}

/**
 * The line in the page header about the link to the server.
 * @param {{phase: string, lastOkAt: number | null, failingSince: number | null,
 *   nextPollMs: number, message: string}} link
 * @returns {string}
 */
export function linkText(link) {
  switch (link.phase) {
    case "ok":
      return `Live · updated ${clock(link.lastOkAt)}`;
    case "unreachable":
      return `Server unreachable since ${clock(link.failingSince)}` +
        `${link.message ? ` (${link.message})` : ""} — retrying in ` +
        `${Math.round(link.nextPollMs / 1000)} s`;
    case "token":
      return "Admin token needed";
    case "refused":
      return link.message;
    default:
      return "Connecting…";
  }
}

/**
 * Fill the door sign.
 * @param {HTMLElement} root the sign's container (with .room-name, img.qr, .listen-url)
 * @param {{room: string, qrSrc: string, listenUrl: string}} sign
 */
export function renderDoor(root, sign) {
  setText(root.querySelector(".room-name"), sign.room);
  const img = root.querySelector("img.qr");
  if (img.getAttribute("src") !== sign.qrSrc) img.setAttribute("src", sign.qrSrc);
  img.alt = `QR code of ${sign.listenUrl || `the listener page of room ${sign.room}`}`;
  setText(root.querySelector(".listen-url"), sign.listenUrl || "—");
}
