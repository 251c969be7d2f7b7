// The status page's view model, pure: one room of `/api/status` (or the whole answer) as the
// page shows it, the room's links, and the text of each line of its card. Data in, plain
// objects and strings out; the DOM side is status-cards.js.

import { withToken } from "./access-token.js";
import { isObject, num, str, strings } from "./api-fields.js";
import { bytes, clock, dbfs, meterPercent, seconds, usd } from "./status-format.js";
import { roomTalkText } from "./talk-line.js";

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

function replicationView(raw) {
  if (!isObject(raw)) return null;
  return {
    target: str(raw.target),
    state: str(raw.state, "connecting"),
    error: str(raw.error),
    behind: num(raw.behind) ?? 0,
    sentThrough: num(raw.sent_through) ?? 0,
    failingSince: num(raw.failing_since),
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

function storageView(raw) {
  if (!isObject(raw)) return null;
  return {
    state: str(raw.state, "ok"),
    unsaved: num(raw.unsaved) ?? 0,
    unsavedMax: num(raw.unsaved_max),
    dropped: num(raw.dropped) ?? 0,
    error: str(raw.error),
    since: str(raw.failing_since),
    nextRetryS: num(raw.next_retry_s),
    lastError: str(raw.last_error),
    lastErrorAt: str(raw.last_error_at),
    freeBytes: num(raw.free_bytes),
    lowSpace: raw.low_space === true,
  };
}

/**
 * The card's storage alarm (shown apart from the signal alarm, both can be true at once):
 * "not_saved" while the disk refuses the transcript, "dropped" once held captions were lost
 * to the cap, "low_space" when the card is nearly full, "" when all is well or unknown.
 * @param {{storage: ReturnType<typeof storageView>}} view
 * @returns {"not_saved" | "dropped" | "low_space" | ""}
 */
export function storageAlarm(view) {
  const s = view.storage;
  if (s === null) return "";
  if (s.state !== "ok") return "not_saved";
  if (s.dropped > 0) return "dropped";
  return s.lowSpace ? "low_space" : "";
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
 * The card's alarm: the signal's first (a silent mixer explains everything else), then a
 * recognizer that falls behind real time even at its fastest setting.
 * @returns {"no_signal" | "clipping" | "behind" | ""}
 */
export function roomAlarm(view) {
  return signalAlarm(view) || (view.behind ? "behind" : "");
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
    search: str(room.search),
    behind: room.behind === true,
    lagS: num(room.recognizer_lag_s),
    translator: str(room.translator, "none"),
    speech: room.speech === true,
    synthesizer: str(room.synthesizer, "none"),
    voiceOffline: room.voice_offline === true,
    sourceLang: str(room.source_lang),
    languages: strings(room.languages),
    targets: strings(room.targets),
    sourceLangs,
    identification: room.identification === true,
    latency: latencyView(room.latency),
    listeners: listenersView(room.listeners, room.subscribers),
    cost: costView(room.cost),
    finals: num(room.finals) ?? 0,
    storage: storageView(room.storage),
    storageAlarm: "",
    errors: errorsView(room.errors, room.last_error),
    switches: (Array.isArray(room.engine_switches) ? room.engine_switches : [])
      .filter(isObject).map((s) => ({ at: s.at, to: str(s.to), reason: str(s.reason) }))
      .reverse(),
    listenUrl,
    links: roomLinks(name, listenUrl, token),
    talk: roomTalkText(room.talks),
    replication: replicationView(room.replication),
    glossary: cloudGlossaryText(room.cloud_glossary),
  };
  view.alarm = roomAlarm(view);
  view.storageAlarm = storageAlarm(view);
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
// The text of a card's lines

/** The card's alarm line about the signal, or "" for none. */
export function alarmText(view) {
  if (view.alarm === "no_signal") {
    return `NO SIGNAL${view.signal?.silentS ? ` for ${seconds(view.signal.silentS)}` : ""} — ` +
      "check the mixer and the microphone";
  }
  if (view.alarm === "behind") {
    return `Captions falling behind${view.lagS !== null ? ` (${seconds(view.lagS)} late)` : ""}` +
      " — the recognizer does not keep up even at its fastest setting; is something else " +
      "using the CPU?";
  }
  return view.alarm === "clipping" ? "Clipping — the input is too loud, lower the gain" : "";
}

const captions = (n) => `${n} caption${n === 1 ? "" : "s"}`;

/** The card's storage alarm line (the transcript not saved, captions dropped, a nearly full
 * card), or "" for none. */
export function storageAlarmText(view) {
  const s = view.storage;
  const dropped = s && s.dropped > 0
    ? `${captions(s.dropped)} dropped from memory (their text is in the log)` : "";
  if (view.storageAlarm === "not_saved") {
    const cap = s.unsavedMax !== null ? ` (at most ${s.unsavedMax})` : "";
    const since = s.since ? ` since ${clock(s.since)}` : "";
    const retry = s.nextRetryS !== null ? ` Next try in ${seconds(s.nextRetryS)}.` : "";
    return `TRANSCRIPT NOT SAVED — ${s.error || "write failed"}${since}: ` +
      `${captions(s.unsaved)} held in memory${cap}${dropped ? `, ${dropped}` : ""}. ` +
      `Screens still get every caption. ${s.error.startsWith("ENOSPC") ? "Free space on the card"
        : "Check the card (read-only or failing)"}: held captions are written first, in order, ` +
      `as soon as the disk takes them.${retry}`;
  }
  if (view.storageAlarm === "dropped") {
    return `Transcript incomplete: ${dropped} while the disk refused writes ` +
      `(last: ${s.lastError || "?"}); writing works again.`;
  }
  if (view.storageAlarm === "low_space") {
    return `Low disk space: ${bytes(s.freeBytes)} free on the card — the transcript stops ` +
      "being saved when it is full.";
  }
  return "";
}

/**
 * The "Glossary" line: what Amazon Transcribe's custom vocabulary (per language) and Amazon
 * Translate's terminology made of the room's glossary (docs/glossary.md); "" when no cloud engine
 * uses it. A failure starts with "⚠" and gives the service's reason.
 * @param {any} raw `cloud_glossary` of `/api/status`
 */
export function cloudGlossaryText(raw) {
  if (!isObject(raw)) return "";
  const parts = [];
  const rec = isObject(raw.recognizer) ? raw.recognizer : {};
  if (rec.vocabulary === "configured") {
    parts.push(`vocabulary ${strings(rec.names).join(", ")} (configured)`);
  }
  const langs = isObject(rec.languages) ? rec.languages : {};
  for (const lang of Object.keys(langs).sort()) {
    const v = isObject(langs[lang]) ? langs[lang] : {};
    const state = str(v.state, "?");
    if (state === "empty") continue;
    const left = Array.isArray(v.dropped) && v.dropped.length
      ? `, ${v.dropped.length} left out` : "";
    parts.push(state === "failed"
      ? `⚠ vocabulary ${lang} failed: ${str(v.reason, "no reason given")}`
      : `vocabulary ${lang} ${state} (${num(v.phrases) ?? 0} phrases${left})`);
  }
  const term = isObject(raw.translator) ? raw.translator : {};
  if (term.terminology === "configured") {
    parts.push(`terminology ${strings(term.names).join(", ")} (configured)`);
  } else if (term.terminology === "glossary" && term.state !== "none") {
    parts.push(term.state === "failed"
      ? `⚠ terminology failed: ${str(term.reason, "no reason given")}`
      : `terminology ${str(term.state, "?")} (${num(term.terms) ?? 0} terms)`);
  }
  parts.sort((a, b) => Number(b.startsWith("⚠")) - Number(a.startsWith("⚠")));
  return parts.join(" · ");
}

/** The "Transcript" line: saved or not, free space, the last storage problem. */
export function storageText(view) {
  const s = view.storage;
  if (s === null) return "—";
  const free = s.freeBytes !== null ? ` · ${bytes(s.freeBytes)} free` : "";
  if (s.state !== "ok") {
    return `NOT SAVED: ${captions(s.unsaved)} held in memory (${s.error || "write failed"})${free}`;
  }
  const last = s.lastError ? ` · last problem ${s.lastError} at ${clock(s.lastErrorAt || null)}`
    : "";
  return `saved on disk${free}${last}`;
}

/**
 * The card's replication alarm (docs/hub.md): while the room cannot copy its finals to Redis
 * (a wrong password, an unreachable broker), in words; "" while it works or is not configured.
 */
export function replicationAlarmText(view) {
  const r = view.replication;
  if (r === null || r.state !== "failing") return "";
  const since = r.failingSince !== null ? ` since ${clock(new Date(r.failingSince * 1000))}` : "";
  return `REPLICATION FAILING — ${r.error || "Redis does not answer"} (${r.target})${since}: ` +
    `${captions(r.behind)} not copied yet (kept on the Pi, sent in order when it answers). ` +
    "Captions in the room are not affected.";
}

/** The "Replication" line: where the finals are copied and how far (hidden without it). */
export function replicationText(view) {
  const r = view.replication;
  if (r === null) return "";
  if (r.state === "failing") return `FAILING to ${r.target}: ${r.error || "?"}`;
  if (r.state === "ok") {
    const behind = r.behind > 0 ? ` · ${captions(r.behind)} to send` : " · up to date";
    return `to ${r.target}${behind}`;
  }
  return `connecting to ${r.target}…`;
}

/** The signal levels next to the meter. */
export function levelsText(view) {
  if (view.signal === null) return view.source === null ? "—" : "no level report yet";
  return `RMS ${dbfs(view.signal.rms)} · peak ${dbfs(view.signal.peak)}`;
}

/** The "Audio source" line: who sends audio, from where, and how it flows. */
export function sourceText(view) {
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

/** The "Languages" line: what is spoken (or identified), the translations and the voice. */
export function languagesText(view) {
  const heard = view.source?.language ?? "";
  const nodeChose = heard !== "" && heard !== view.sourceLang && view.languages.length === 0;
  const spoken = view.languages.length
    ? `identifying ${view.languages.join(" / ")}`
    : nodeChose ? `speaks ${heard} (chosen by the audio node; room setting ${view.sourceLang})`
      : `speaks ${view.sourceLang || "?"}`;
  const targets = view.targets.length
    ? `→ ${view.targets.join(", ")} (${view.translator})` : "· no translation";
  const standIn = view.voiceOffline ? " (standing in: Polly unavailable)" : "";
  const voice = view.speech ? ` · voice ${view.synthesizer}${standIn}` : "";
  return `${spoken} ${targets}${voice}`;
}

/** The "Caption delay" line. */
export function latencyText(latency) {
  if (latency === null || latency.count === 0) return "no captions measured yet";
  return `last ${seconds(latency.last)} · p50 ${seconds(latency.p50)} · ` +
    `p95 ${seconds(latency.p95)} (${latency.count})`;
}

/** The "Listeners" line: how many, how many with sound, and by language. */
export function listenersText(listeners) {
  const head = `${listeners.total} connected, ${listeners.audio} with sound`;
  if (listeners.byLang.length === 0) return head;
  return `${head} — ${listeners.byLang.map(([lang, n]) => `${lang} ${n}`).join(", ")}`;
}

/** The "Running cost" line. */
export function costText(cost) {
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

