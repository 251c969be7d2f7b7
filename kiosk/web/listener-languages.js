// Languages on the phone listener page: which of the room's languages the phone follows, a
// language's own name, and the text of a caption in the followed language. Pure.

import { translationFor } from "./protocol.js";

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
