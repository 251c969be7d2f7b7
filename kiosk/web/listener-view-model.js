// What the phone listener page shows, computed from its state (listener-model.js) and the
// sound player's state: a plain view model, no DOM. listener-view.js draws it.

import { languageName, textIn } from "./listener-languages.js";

/** True when `lang` is the room's own language (the first of `status.languages`). */
function isRoomSource(status, lang) {
  return status !== null && status.languages.length > 0 && status.languages[0] === lang;
}

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

const ENGINE_LABELS = { "amazon-polly": "Amazon Polly", espeak: "local (espeak)" };
const SHORT_NAMES = { "amazon-polly": "Polly" };

/**
 * The line that tells a listener whose voice they hear: "Voice: Amazon Polly (Bianca)",
 * "Voice: local (espeak) — Polly unavailable", or why there is no voice; "" when unknown.
 * @param {import("./listener-model.js").Voice | null} voice
 * @returns {string}
 */
export function voiceText(voice) {
  if (voice === null) return "";
  const missing = voice.standingInFor === null ? ""
    : `${SHORT_NAMES[voice.standingInFor] ?? voice.standingInFor} unavailable`;
  if (voice.silent) return `No voice for this language now${missing ? `: ${missing}` : ""}`;
  const engine = ENGINE_LABELS[voice.engine] ?? voice.engine;
  const who = voice.engine === "espeak" || voice.name === "" ? engine : `${engine} (${voice.name})`;
  return missing ? `Voice: ${who} — ${missing}` : `Voice: ${who}`;
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
    voice: sound.enabled && state.voice?.lang === lang ? voiceText(state.voice) : "",
    live: open,
  };
}

