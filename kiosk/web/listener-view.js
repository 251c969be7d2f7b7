// The phone listener page's DOM side: draws a view model (listener-view-model.js) into the
// page skeleton of listen.html. Only text and attributes change; nodes are reused so focus and
// taps survive. Text from the wire is written with `textContent`, never `innerHTML`.

import { el, reconcile, setData, setShown, setText } from "./dom.js";

const SOUND_LABELS = {
  enable: "Tap to enable sound",
  on: "Sound on",
  muted: "Sound off",
};

function languageButtons(container, languages) {
  const doc = container.ownerDocument;
  const current = new Map([...container.children].map((n) => [n.dataset.code, n]));
  const nodes = languages.map((language) => {
    let button = current.get(language.code);
    if (button === undefined) {
      button = el(doc, "button", "lang");
      button.type = "button";
      button.dataset.action = "lang";
      button.dataset.code = language.code;
      button.setAttribute("role", "radio");
      const name = el(doc, "span", "name", language.name);
      name.lang = language.code;
      const code = el(doc, "span", "code",
        language.source ? `${language.code} · original` : language.code);
      button.append(name, code);
    }
    button.setAttribute("aria-checked", String(language.selected));
    button.tabIndex = language.selected ? 0 : -1;
    return button;
  });
  if (nodes.length > 0 && !languages.some((l) => l.selected)) nodes[0].tabIndex = 0;
  reconcile(container, nodes);
}

const signatures = new WeakMap();

function lineNodes(captions, vm) {
  const doc = captions.ownerDocument;
  const current = new Map([...captions.children].map((n) => [n.dataset.key, n]));
  const wanted = [];
  for (const line of vm.lines) {
    const signature = JSON.stringify([line.text, line.lang, line.note]);
    let node = current.get(line.key);
    if (node === undefined || signatures.get(node) !== signature) {
      node = el(doc, "div", "line final");
      node.dataset.key = line.key;
      node.dataset.segment = String(line.segment);
      const text = el(doc, "p", "text", line.text);
      text.dir = "auto";
      if (line.lang) text.lang = line.lang;
      node.append(text);
      if (line.note) {
        node.append(el(doc, "p", "note", line.note));
      }
      signatures.set(node, signature);
    }
    setData(node, "age", String(line.age));
    node.classList.toggle("latest", line.latest);
    node.classList.toggle("missing", line.missing);
    wanted.push(node);
  }
  if (vm.partial !== null) {
    let node = current.get(vm.partial.key);
    if (node === undefined) {
      node = el(doc, "div", "line partial");
      node.dataset.key = vm.partial.key;
      node.dataset.segment = String(vm.partial.segment);
      const text = el(doc, "p", "text");
      text.dir = "auto";
      node.append(text);
    }
    setText(node.firstElementChild, vm.partial.text);
    wanted.push(node);
  }
  return wanted;
}

/**
 * Draw the view model into the page skeleton under `root` (listen.html's `[data-part]`
 * elements). Only text and attributes change; nodes are reused so focus and taps survive.
 * @param {ParentNode} root
 * @param {ReturnType<typeof viewModel>} vm
 */
export function render(root, vm) {
  const part = (name) => root.querySelector(`[data-part="${name}"]`);
  const app = part("app");
  setData(app, "connection", vm.connection.state);
  setData(app, "sound", vm.sound.mode);
  setText(part("room"), vm.room ?? "—");
  setText(part("conn-label"), vm.connection.label);
  setData(part("conn"), "state", vm.connection.state);

  const banner = part("banner");
  setText(banner, vm.banner);
  setShown(banner, vm.banner !== "");

  const langs = part("langs");
  languageButtons(langs, vm.languages);
  setShown(langs, vm.languages.length > 1);

  const captions = part("captions");
  reconcile(captions, lineNodes(captions, vm));
  const empty = part("empty");
  setText(empty, vm.empty);
  setShown(empty, vm.empty !== "");

  const notice = part("notice");
  setText(notice, vm.notice);
  setShown(notice, vm.notice !== "");

  const soundButton = part("sound-button");
  const mode = vm.sound.mode;
  const hasButton = Object.hasOwn(SOUND_LABELS, mode);
  setShown(soundButton, hasButton);
  if (hasButton) {
    setText(part("sound-label"), SOUND_LABELS[mode]);
    setData(soundButton, "mode", mode);
    if (mode === "enable") soundButton.removeAttribute("aria-pressed");
    else soundButton.setAttribute("aria-pressed", String(mode === "on"));
  }
  const soundNote = part("sound-note");
  setText(soundNote, vm.sound.note);
  setShown(soundNote, vm.sound.note !== "");
  const voice = part("voice");
  setText(voice, vm.voice);
  setShown(voice, vm.voice !== "");
  setShown(part("sound"), mode !== "hidden");
}
