// The phone listener page's saved preferences (theme, text size, language). Pure: the
// storage (localStorage) is passed in, and a storage that throws never breaks the page.

import { normalizeLang } from "./protocol.js";

/** Themes the page offers, in the order of its buttons. */
export const THEMES = Object.freeze(["dark", "light", "contrast"]);

/** Text size steps (multipliers of the base caption size); the default is index 1. */
export const SIZES = Object.freeze([0.85, 1, 1.2, 1.45, 1.75]);

/** localStorage key holding the page's preferences (theme, size, language). */
export const PREFS_KEY = "room-captions.listener";

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
