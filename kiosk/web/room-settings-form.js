// The settings form of a room's card (DOM): built once, reshaped to what the room accepts,
// read and filled. It only touches the form it is given; the checks are room-settings.js.

import { el, setShown, setText } from "./dom.js";
import { OTHER_LANG, formProblems, parseLangList } from "./room-settings.js";

function labelled(doc, text, control, hint) {
  const label = el(doc, "label", "field");
  label.append(el(doc, "span", "label-text", text), control);
  if (hint) label.append(hint);
  return label;
}

/** A text field for language codes (no autocomplete, no spellcheck). */
function codeInput(doc, className, name, placeholder) {
  const input = el(doc, "input", className);
  input.name = name;
  input.autocomplete = "off";
  input.spellcheck = false;
  input.placeholder = placeholder;
  return input;
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

  const sourceInput = codeInput(doc, "source-lang text", "source_lang_text", "e.g. it-IT");
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
  const langs = codeInput(doc, "languages", "languages", "e.g. en-US, it-IT");
  const autoBox = el(doc, "div", "field auto-field");
  autoBox.append(autoLabel, langs, el(doc, "small", "hint languages-hint"));
  form.append(autoBox);

  const targets = codeInput(doc, "targets", "targets", "e.g. it, de, fr");
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
 * @param {ReturnType<typeof import("./status-model.js").roomView>} view
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

