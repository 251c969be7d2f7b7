// The kiosk screen's DOM side: draws a state of kiosk-model.js into the page's container.
//
// `render` only uses the container it is given (and that container's ownerDocument), creates
// the screen's parts on first use, and writes text from the wire with `textContent`, never
// `innerHTML`.

import { el, reconcile, setAttr, setShown, setText } from "./dom.js";
import {
  langAvailability, noticeText, qrImageUrl, refusalText, signalAlarm,
} from "./kiosk-model.js";
import { translationFor } from "./protocol.js";

/** Content signature of each rendered caption element, so unchanged ones are reused. */
const signatures = new WeakMap();

const AUDIO_LABELS = { flowing: "audio", connected: "silent", absent: "no audio" };
const CONNECTION_LABELS = { connecting: "connecting", open: "live", reconnecting: "offline" };
const BANNER_TEXT = { connecting: "Connecting…", reconnecting: "Reconnecting…" };

function part(container, className, tag = "div") {
  let node = container.querySelector(`:scope > .${className}`);
  if (node === null) {
    node = el(container.ownerDocument, tag, className);
    container.append(node);
  }
  return node;
}

/** Create (once) the parts of the page inside the container and return them. */
function skeleton(container) {
  const corner = part(container, "corner", "aside");
  const dot = part(corner, "dot", "span");
  const room = part(corner, "room", "span");
  const conn = part(corner, "conn", "span");
  const mode = part(corner, "mode", "span");
  const alarm = part(corner, "alarm", "span");
  const qr = part(container, "qr", "aside");
  let qrImage = qr.querySelector("img");
  if (qrImage === null) {
    const doc = container.ownerDocument;
    const frame = el(doc, "div", "qr-frame");
    qrImage = el(doc, "img");
    qrImage.alt = "QR code: captions on your phone";
    qrImage.decoding = "async";
    // A code that cannot load (no route, refused token) is hidden, not shown broken.
    qrImage.addEventListener("error", () => { qr.dataset.failed = "1"; });
    qrImage.addEventListener("load", () => { delete qr.dataset.failed; });
    frame.append(qrImage);
    qr.append(frame, el(doc, "p", "qr-label", "Captions on your phone"));
  }
  return {
    qr,
    qrImage,
    mode,
    alarm,
    banner: part(container, "banner"),
    refusal: part(container, "refusal", "section"),
    captions: part(container, "captions"),
    empty: part(container, "empty", "p"),
    notice: part(container, "notice", "p"),
    dot,
    room,
    conn,
  };
}

function sourceNode(doc, text, lang) {
  const node = el(doc, "p", "source", text);
  if (lang) node.lang = lang;
  node.dir = "auto";
  return node;
}

function translationNode(doc, lang, index, text) {
  const node = el(doc, "p", `translation lang-${index}${text === null ? " missing" : ""}`);
  node.dataset.lang = lang;
  const tag = el(doc, "span", "tag", lang.toUpperCase());
  const body = el(doc, "span", "text", text ?? "—");
  if (text !== null) {
    body.lang = lang;
    body.dir = "auto";
  }
  node.append(tag, body);
  return node;
}

function finalNode(doc, final, shownLangs) {
  const node = el(doc, "div", "line final");
  node.dataset.segment = String(final.segment);
  node.append(sourceNode(doc, final.text, final.lang));
  shownLangs.forEach((lang, index) => {
    node.append(translationNode(doc, lang, index, translationFor(final.translations, lang)));
  });
  return node;
}

function partialNode(doc, partial) {
  const node = el(doc, "div", "line partial");
  node.dataset.segment = String(partial.segment);
  const source = sourceNode(doc, partial.text, partial.lang);
  if (partial.words) {
    // Words the engine may still revise are set apart, so readers do not trust them yet.
    source.textContent = "";
    partial.words.forEach((word, index) => {
      if (index > 0) source.append(doc.createTextNode(" "));
      source.append(el(doc, "span", word.stable ? "word stable" : "word unstable", word.text));
    });
  }
  node.append(source);
  return node;
}

/** Build the wanted caption elements, reusing the current ones whose content is unchanged. */
function captionNodes(captions, state, options) {
  const doc = captions.ownerDocument;
  const current = new Map();
  for (const node of captions.children) current.set(node.dataset.key, node);
  const langs = options.langs.filter((l) => langAvailability(state.status, l) === "ok");
  const wanted = [];
  const reuse = (key, signature, build) => {
    const old = current.get(key);
    const node = old !== undefined && signatures.get(old) === signature ? old : build();
    node.dataset.key = key;
    signatures.set(node, signature);
    wanted.push(node);
  };
  state.finals.forEach((final, index) => {
    const signature = JSON.stringify([final.text, final.lang, langs,
      langs.map((l) => translationFor(final.translations, l))]);
    reuse(`f${final.segment}`, signature, () => finalNode(doc, final, langs));
    const age = Math.min(state.finals.length - 1 - index, 3);
    if (wanted.at(-1).dataset.age !== String(age)) wanted.at(-1).dataset.age = String(age);
  });
  for (const partial of state.partials) {
    const signature = JSON.stringify([partial.text, partial.lang, partial.words]);
    reuse(`p${partial.segment}`, signature, () => partialNode(doc, partial));
  }
  return wanted;
}

/** The refusal panel: headline, detail and hint (three paragraphs, made once). */
function showRefusal(panel, refusal) {
  setShown(panel, refusal !== null);
  if (refusal === null) return;
  const doc = panel.ownerDocument;
  for (const name of ["title", "detail", "hint"]) {
    let line = panel.querySelector(`:scope > .${name}`);
    if (line === null) {
      line = el(doc, name === "title" ? "h1" : "p", name);
      panel.append(line);
    }
    setText(line, refusal[name]);
  }
}

function emptyText(state) {
  if (state.room === null) return "No valid room in the address (expected /kiosk/<room>)";
  if (state.connection === "open") return "Waiting for the speaker…";
  return "";
}

/**
 * Render the state into `container` (creating its parts on first use). Text from the wire is
 * only ever written with `textContent`.
 * @param {Element} container the page's root element (e.g. `<main id="kiosk">`)
 * @param {State} state
 * @param {{langs: string[], partials: boolean, size: number, lines: number, qr?: boolean,
 *   token?: string | null}} options
 */
export function render(container, state, options) {
  const parts = skeleton(container);
  container.style.setProperty("--size", String(options.size));
  container.dataset.connection = state.connection;
  reconcile(parts.captions, captionNodes(parts.captions, state, options));

  const hasCaptions = state.finals.length > 0 || state.partials.length > 0;
  const empty = hasCaptions ? "" : emptyText(state);
  setText(parts.empty, empty);
  setShown(parts.empty, empty !== "");

  const notice = noticeText(state, options);
  setText(parts.notice, notice);
  setShown(parts.notice, notice !== "");

  const refusal = refusalText(state);
  const banner = refusal !== null ? "Access refused" : (BANNER_TEXT[state.connection] ?? "");
  setText(parts.banner, banner);
  setShown(parts.banner, banner !== "" && state.room !== null);
  showRefusal(parts.refusal, refusal);
  container.dataset.refused = refusal !== null ? state.refused.kind : "";

  setText(parts.room, state.room ?? "—");
  setText(parts.conn, CONNECTION_LABELS[state.connection] ?? state.connection);
  const audio = state.connection === "open" ? (state.status?.audio ?? "unknown") : "unknown";
  parts.dot.dataset.audio = audio;
  parts.dot.title = AUDIO_LABELS[audio] ?? "audio unknown";

  const live = state.connection === "open";
  // Discreet: the room's audience needs to know the text is late, not why.
  const mode = [
    live && state.status?.offline === true ? "offline captions" : "",
    live && state.status?.behind === true ? "captions delayed" : "",
  ].filter((text) => text !== "").join(" · ");
  setText(parts.mode, mode);
  setShown(parts.mode, mode !== "");
  const alarm = live && audio !== "absent" ? signalAlarm(state.status) : "";
  setText(parts.alarm, alarm);
  setShown(parts.alarm, alarm !== "");
  parts.alarm.dataset.alarm = alarm.replace(" ", "_");

  const showQr = options.qr === true && state.room !== null;
  setShown(parts.qr, showQr);
  container.dataset.qr = showQr ? "1" : "0";
  if (showQr) {
    setAttr(parts.qrImage, "src", qrImageUrl(state.room, options.token ?? null));
  }
}
