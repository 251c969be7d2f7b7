// A room's settings as the lead types them, pure: the codes typed, the problems the page can
// see by itself, the body of the request, and the line about the server's answer. The form
// itself (DOM) is room-settings-form.js.

import { errorOf, isObject, messageOf, str, strings } from "./api-fields.js";
import { normalizeLang } from "./protocol.js";

/** The source-language select's entry that reveals a free text field. */
export const OTHER_LANG = "__other__";

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

