// What docs/protocol.md fixes and every page reads the same way: room names, language codes
// and the fields of a caption message. Pure: data in, values out; nothing at import time.

const ROOM_RE = /^[a-z0-9][a-z0-9_-]{0,31}$/;
const LANG_RE = /^[a-z]{2,3}(?:-(?:[A-Z]{2}|[0-9]{3}))?$/;

/**
 * Whether `name` is a valid room name (1–32 of a-z 0-9 - _, no upper case, not starting with
 * - or _).
 * @param {string} name
 * @returns {boolean}
 */
export function isRoomName(name) {
  return ROOM_RE.test(name);
}

/**
 * The room name in a URL path segment (percent-decoded), or null when it is not a valid one.
 * @param {unknown} raw e.g. the `{room}` of `/kiosk/{room}`
 * @returns {string | null}
 */
export function roomFromSegment(raw) {
  if (typeof raw !== "string") return null;
  let room;
  try {
    room = decodeURIComponent(raw);
  } catch {
    return null;
  }
  return isRoomName(room) ? room : null;
}

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

// ---------------------------------------------------------------------------------------------
// Caption message fields

/** A valid segment id: a non-negative safe integer. */
export const isSegment = (value) => Number.isSafeInteger(value) && value >= 0;

/** The value if it is a string, else null. */
export const stringOrNull = (value) => (typeof value === "string" ? value : null);

/** A language code from the wire, normalized; null when absent or not a code. */
export const langOrNull = (value) => (typeof value === "string" ? normalizeLang(value) : null);

/** A final's `translations` from the wire: only non-empty strings, never throws. */
function cleanTranslations(raw) {
  const out = {};
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) return out;
  for (const [lang, text] of Object.entries(raw)) {
    if (typeof text === "string" && text.trim() !== "") out[lang] = text;
  }
  return out;
}

/**
 * A `final` from the wire as {segment, text, lang, translations}, or null when it has no
 * valid segment id or no text. `langOf` reads its language (normalized by default).
 * @param {any} msg
 * @param {(value: unknown) => string | null} [langOf]
 * @returns {{segment: number, text: string, lang: string | null,
 *   translations: Record<string, string>} | null}
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

/**
 * Who speaks a sentence: the `voice` of a `speech` or `speech_end` message (docs/protocol.md),
 * or null when absent or malformed (an older server).
 * @param {any} msg
 * @returns {{engine: string, name: string, standingInFor: string | null} | null}
 */
export function voiceFromMessage(msg) {
  const voice = msg?.voice;
  if (voice === null || typeof voice !== "object") return null;
  if (typeof voice.engine !== "string" || voice.engine === "") return null;
  const standing = voice.standing_in_for;
  return {
    engine: voice.engine,
    name: typeof voice.name === "string" ? voice.name : "",
    standingInFor: typeof standing === "string" && standing !== "" ? standing : null,
  };
}
