// The status page's room cards (DOM): build a card, fill it from a room view
// (status-model.js), and keep a container's cards in step with the rooms. Only the elements
// given are touched; text from the wire is written with `textContent`, never `innerHTML`.

import { el, setAttr, setShown, setText } from "./dom.js";
import { buildForm, updateFormShape } from "./room-settings-form.js";
import { clock } from "./status-format.js";
import {
  alarmText, costText, errorEntries, languagesText, latencyText, levelsText, listenersText,
  replicationAlarmText, replicationText, sourceText, storageAlarmText, storageText,
} from "./status-model.js";

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

  // The transcript's storage has its own alarm: a full card and a silent mixer can coincide.
  const storageAlarm = el(doc, "p", "storage-alarm");
  storageAlarm.setAttribute("role", "alert");
  storageAlarm.hidden = true;

  // Replication to the conference's Redis (docs/hub.md): its own alarm, as storage.
  const replicationAlarm = el(doc, "p", "replication-alarm");
  replicationAlarm.setAttribute("role", "alert");
  replicationAlarm.hidden = true;

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
  fact(doc, dl, "storage", "Transcript");
  fact(doc, dl, "talk", "Talk");
  fact(doc, dl, "replication", "Replication");
  fact(doc, dl, "glossary", "Glossary");

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

  card.append(head, alarm, storageAlarm, replicationAlarm, dl, errorsBox, links, buildForm(doc, name));
  return card;
}

const AUDIO_BADGES = { flowing: "audio", connected: "silent link", absent: "no source" };

/**
 * Fill a card's live parts from a room view (everything but the settings form).
 * @param {HTMLElement} card from `buildCard`
 * @param {ReturnType<typeof import("./status-model.js").roomView>} view
 */
export function updateCard(card, view) {
  const q = (selector) => card.querySelector(selector);
  const audio = q(".badge.audio");
  setText(audio, AUDIO_BADGES[view.audio] ?? view.audio);
  audio.dataset.audio = view.audio;

  const engine = q(".badge.engine");
  const engineName = view.search ? `${view.engine} · ${view.search}` : view.engine;
  setText(engine, view.offline ? `OFFLINE · ${engineName}` : engineName);
  engine.dataset.offline = String(view.offline);
  engine.title = view.offline
    ? "This room wants the cloud recognizer but captions with the embedded one"
    : view.search ? "Recognizer in use · the embedded engine's search step (it steps to a " +
      "faster search when it falls behind)" : "Recognizer in use";

  const alarm = q(".alarm");
  const alarmLine = alarmText(view);
  setText(alarm, alarmLine);
  setShown(alarm, alarmLine !== "");
  alarm.dataset.alarm = view.alarm;
  card.dataset.alarm = view.alarm;
  card.dataset.audio = view.audio;

  const storageAlarm = q(".storage-alarm");
  const storageLine = storageAlarmText(view);
  setText(storageAlarm, storageLine);
  setShown(storageAlarm, storageLine !== "");
  storageAlarm.dataset.alarm = view.storageAlarm;
  card.dataset.storage = view.storage?.state ?? "unknown";
  setText(q("dd.storage"), storageText(view));

  const replicationAlarm = q(".replication-alarm");
  const replicationLine = replicationAlarmText(view);
  setText(replicationAlarm, replicationLine);
  setShown(replicationAlarm, replicationLine !== "");
  card.dataset.replication = view.replication?.state ?? "off";
  const replication = q("dd.replication");
  setText(replication, replicationText(view));
  setShown(replication, view.replication !== null);
  setShown(replication.previousElementSibling, view.replication !== null);

  setText(q("dd.source"), sourceText(view));
  const meter = q(".meter");
  const signal = view.signal;
  meter.style.setProperty("--rms", `${signal?.rmsPercent ?? 0}%`);
  meter.style.setProperty("--peak", `${signal?.peakPercent ?? 0}%`);
  meter.dataset.state = view.alarm || (signal ? "ok" : "none");
  setShown(meter, signal !== null);
  setText(q("dd.signal .levels"), levelsText(view));
  setText(q("dd.languages"), languagesText(view));
  setText(q("dd.latency"), latencyText(view.latency));
  setText(q("dd.listeners"), listenersText(view.listeners));
  setText(q("dd.cost"), costText(view.cost));
  setText(q("dd.finals"), `${view.finals} final${view.finals === 1 ? "" : "s"}`);
  // The schedule's current and next talk (docs/talks.md); the line is hidden without one.
  const talk = q("dd.talk");
  setText(talk, view.talk);
  setShown(talk, view.talk !== "");
  setShown(talk.previousElementSibling, view.talk !== "");
  talk.dataset.problem = String(view.talk.startsWith("⚠"));
  // The cloud engines' vocabulary and terminology from the glossary; hidden when none uses it.
  const glossary = q("dd.glossary");
  setText(glossary, view.glossary);
  setShown(glossary, view.glossary !== "");
  setShown(glossary.previousElementSibling, view.glossary !== "");
  glossary.dataset.problem = String(view.glossary.startsWith("⚠"));

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

/**
 * Make `container`'s cards match `views`: new rooms get a card, gone rooms lose theirs, the
 * rest are updated in place (their forms keep what the user typed).
 * @param {HTMLElement} container
 * @param {ReturnType<typeof import("./status-model.js").roomView>[]} views
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

