// Pure parts of the livestream overlay (/overlay/{room}, for OBS's browser source): its URL
// options and the lines it shows. Data in, options and strings out: no DOM, no socket. The
// caption state is the kiosk's (kiosk-model.js `reduce`).

import { normalizeLang, roomFromSegment, translationFor } from "./protocol.js";

/** Defaults of the overlay URL parameters (docs/overlay.md). */
export const OVERLAY_DEFAULTS = Object.freeze({
  lang: null,
  lines: 2,
  size: 1,
  position: "bottom",
  color: "#ffffff",
  bg: "#000000b3",
  partials: true,
  token: null,
});

const KNOWN = new Set(["lang", "lines", "size", "position", "color", "bg", "partials", "token"]);
const HEX = /^#?([0-9a-fA-F]{3}|[0-9a-fA-F]{4}|[0-9a-fA-F]{6}|[0-9a-fA-F]{8})$/;

/** A hex colour (`fff`, `#ffcc00`, `#000000b3` with alpha) as `#…`, or null. */
export function hexColor(raw) {
  const match = HEX.exec(String(raw).trim());
  return match ? `#${match[1].toLowerCase()}` : null;
}

/**
 * Parse the overlay's URL parameters; a bad value falls back to its default and is reported
 * through `warn`. `bg=none` draws no box (the text gets an outline instead).
 * @param {string | URLSearchParams} search
 * @param {{warn?: (message: string) => void}} [hooks]
 */
export function parseOverlayOptions(search, { warn = (m) => console.warn(m) } = {}) {
  const params = search instanceof URLSearchParams ? search : new URLSearchParams(search ?? "");
  const options = { ...OVERLAY_DEFAULTS };
  for (const name of new Set(params.keys())) {
    if (!KNOWN.has(name)) warn(`[overlay] unknown URL parameter "${name}" ignored`);
  }
  const bad = (name, raw, why) => warn(`[overlay] ${name}: "${raw}" ${why}, using ${OVERLAY_DEFAULTS[name]}`);
  if (params.has("lang")) {
    const raw = params.get("lang");
    const code = normalizeLang(raw);
    if (code === null) bad("lang", raw, "is not a language code");
    else options.lang = code;
  }
  if (params.has("lines")) {
    const raw = params.get("lines");
    if (raw === "1" || raw === "2") options.lines = Number(raw);
    else bad("lines", raw, "is not 1 or 2");
  }
  if (params.has("size")) {
    const raw = params.get("size");
    const value = raw.trim() === "" ? NaN : Number(raw);
    if (Number.isFinite(value) && value >= 0.5 && value <= 4) options.size = value;
    else bad("size", raw, "is not a number from 0.5 to 4");
  }
  if (params.has("position")) {
    const raw = params.get("position");
    if (raw === "top" || raw === "bottom") options.position = raw;
    else bad("position", raw, "is not top or bottom");
  }
  if (params.has("color")) {
    const raw = params.get("color");
    const color = hexColor(raw);
    if (color === null) bad("color", raw, "is not a hex colour like ffffff");
    else options.color = color;
  }
  if (params.has("bg")) {
    const raw = params.get("bg");
    const color = raw === "none" ? "none" : hexColor(raw);
    if (color === null) bad("bg", raw, "is not a hex colour (with alpha: 000000b3) or none");
    else options.bg = color;
  }
  if (params.has("partials")) {
    const raw = params.get("partials");
    if (raw === "0" || raw === "1") options.partials = raw === "1";
    else bad("partials", raw, "is not 0 or 1");
  }
  if (params.get("token")) options.token = params.get("token");
  return options;
}

/**
 * The room of an overlay path (`/overlay/{room}`), or null.
 * @param {string} pathname
 */
export function overlayRoom(pathname) {
  const match = /^\/overlay\/([^/]+)\/?$/.exec(String(pathname));
  return match ? roomFromSegment(match[1]) : null;
}

/**
 * The overlay's lines, oldest first: the last finals in the chosen language (the source line
 * where a translation is missing), then the partial being spoken when the overlay shows the
 * source language. At most `options.lines`.
 * @param {import("./kiosk-model.js").State} state
 * @param {{lang: string | null, lines: number, partials: boolean}} options
 * @returns {{key: string, text: string, partial: boolean}[]}
 */
export function overlayLines(state, options) {
  const lines = state.finals.map((final) => ({
    key: `f${final.segment}`,
    text: options.lang === null ? final.text
      : (translationFor(final.translations, options.lang) ?? final.text),
    partial: false,
  }));
  if (options.partials && options.lang === null) {
    for (const partial of state.partials) {
      lines.push({ key: `p${partial.segment}`, text: partial.text, partial: true });
    }
  }
  return lines.filter((line) => line.text.trim() !== "").slice(-options.lines);
}
