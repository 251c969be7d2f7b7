// Wiring of the phone listener page: address -> socket -> state -> view; taps -> preferences,
// language and sound; speech -> the Web Audio player.

import { takeToken } from "./access-token.js";
import { captionsUrl, connectCaptions, reconnectDelay } from "./captions-socket.js";
import { setData, setShown, setText } from "./dom.js";
import { SpeechPlayer } from "./listener-audio.js";
import { pickLanguage } from "./listener-languages.js";
import {
  initialState, listenMessage, parseAddress, reduce, retryDelayFor, withConnection, withLanguage,
} from "./listener-model.js";
import { SIZES, THEMES, defaultPrefs, loadPrefs, savePrefs } from "./listener-prefs.js";
import { render } from "./listener-view.js";
import { viewModel } from "./listener-view-model.js";
import { ScreenWake, wakeNote } from "./screen-wake.js";

/** Message types the page handles (binary speech chunks come separately). */
const TYPES = Object.freeze(["status", "partial", "final", "listening", "speech", "speech_end",
  "error"]);

/** Where this tab keeps the listener token once it is out of the address bar. */
const TOKEN_KEY = "room-captions.listener-token";

const address = parseAddress(location.pathname, location.search);
const token = takeToken({
  search: location.search, href: location.href, key: TOKEN_KEY,
  storage: (() => {
    try {
      return globalThis.sessionStorage ?? null;
    } catch {
      return null; // storage blocked: the token lasts as long as the page (reconnects included)
    }
  })(),
  replaceUrl: (url) => history.replaceState(history.state, "", url),
});
const storage = (() => {
  try {
    return globalThis.localStorage ?? null;
  } catch {
    return null; // storage blocked: preferences last as long as the page
  }
})();
const prefersLight = globalThis.matchMedia?.("(prefers-color-scheme: light)").matches ?? false;
let prefs = loadPrefs(storage, defaultPrefs(prefersLight));
let state = initialState(address.room);
let link = null;
let lastListen = null;

const player = new SpeechPlayer({
  onChange: () => {
    sendListen();
    update(state);
  },
});
window.listenerAudio = player;

/** Replace the state, expose it for debugging and tests, and redraw. */
function update(next) {
  state = next;
  window.__listener = { state, prefs };
  const sound = { enabled: player.enabled, muted: player.muted, supported: SpeechPlayer.supported() };
  render(document, viewModel(state, sound));
}

/** Tell the server the language and whether sound is wanted (only when it changed). */
function sendListen(force = false) {
  const msg = listenMessage(state.lang, player.wanted);
  if (msg === null || link === null) return;
  const key = JSON.stringify(msg);
  if (!force && key === lastListen) return;
  if (link.send(msg)) {
    lastListen = key;
    player.note("listen", { lang: msg.lang, audio: msg.audio });
  }
}

function applyPrefs() {
  const html = document.documentElement;
  html.dataset.theme = prefs.theme;
  html.style.setProperty("--scale", String(SIZES[prefs.size]));
  const themeColor = document.querySelector('meta[name="theme-color"]');
  if (themeColor) themeColor.content = getComputedStyle(html).getPropertyValue("--bg").trim();
  for (const button of document.querySelectorAll('[data-action="theme"]')) {
    button.setAttribute("aria-pressed", String(button.dataset.value === prefs.theme));
  }
  for (const button of document.querySelectorAll('[data-action="size"]')) {
    button.setAttribute("aria-pressed", String(Number(button.dataset.value) === prefs.size));
  }
}

function setPrefs(changes) {
  prefs = { ...prefs, ...changes };
  savePrefs(storage, prefs);
  applyPrefs();
  update(state);
}

function chooseLanguage(lang) {
  if (lang === null || lang === state.lang) return;
  player.setLanguage(lang);
  update(withLanguage(state, lang));
  if (prefs.lang !== lang) setPrefs({ lang });
  sendListen();
}

function onMessage(msg) {
  switch (msg.type) {
    case "status": {
      update(reduce(state, msg));
      const languages = state.status.languages;
      if (state.lang === null || !languages.includes(state.lang)) {
        chooseLanguage(pickLanguage(languages, {
          urlLang: address.lang, saved: prefs.lang, browser: navigator.languages ?? [],
        }));
      }
      break;
    }
    case "final":
      player.text(msg);
      update(reduce(state, msg));
      break;
    case "partial":
    case "listening":
      if (msg.type === "listening") player.note("listening", { lang: msg.lang, audio: msg.audio });
      update(reduce(state, msg));
      break;
    case "error":
      console.warn(`[listener] server error ${msg.code}: ${msg.message}`);
      update(reduce(state, msg));
      break;
    case "speech":
      player.speechStart(msg);
      update(reduce(state, msg)); // the voice that speaks it
      break;
    case "speech_end":
      player.speechEnd(msg);
      update(reduce(state, msg));
      break;
    default:
      console.warn(`[listener] UNKNOWN message type "${msg.type}" ignored`);
  }
}

async function onSoundTap() {
  const mode = document.querySelector('[data-part="sound-button"]').dataset.mode;
  if (mode === "on") {
    player.setMuted(true);
    return;
  }
  // "enable" or "muted": (re)start the audio context inside this tap.
  await player.enable();
  wake.keep(); // a tap may allow what an earlier request was refused
}

const wake = new ScreenWake({
  onChange: (wakeState) => {
    const note = document.querySelector('[data-part="wake"]');
    const text = wakeNote(wakeState, globalThis.isSecureContext === true);
    setText(note, text);
    setShown(note, text !== "");
    setData(document.querySelector('[data-part="app"]'), "wake", wakeState);
  },
});
window.listenerWake = wake;

function onClick(event) {
  const target = event.target.closest("[data-action]");
  if (target === null) return;
  switch (target.dataset.action) {
    case "lang":
      chooseLanguage(target.dataset.code);
      break;
    case "sound":
      onSoundTap();
      break;
    case "settings": {
      const panel = document.getElementById("settings");
      panel.hidden = !panel.hidden;
      target.setAttribute("aria-expanded", String(!panel.hidden));
      break;
    }
    case "theme":
      if (THEMES.includes(target.dataset.value)) setPrefs({ theme: target.dataset.value });
      break;
    case "size":
      setPrefs({ size: Number(target.dataset.value) });
      break;
    default:
      console.warn(`[listener] unknown action ${target.dataset.action}`);
  }
}

/** Arrow keys move through the language radio group. */
function onKeydown(event) {
  const current = event.target.closest?.('[data-action="lang"]');
  if (!current || !["ArrowLeft", "ArrowRight", "ArrowUp", "ArrowDown"].includes(event.key)) return;
  const buttons = [...document.querySelectorAll('[data-action="lang"]')];
  const step = event.key === "ArrowLeft" || event.key === "ArrowUp" ? -1 : 1;
  const next = buttons[(buttons.indexOf(current) + step + buttons.length) % buttons.length];
  event.preventDefault();
  next.focus();
  chooseLanguage(next.dataset.code);
}

applyPrefs();
update(state);
document.addEventListener("click", onClick);
document.addEventListener("keydown", onKeydown);
wake.start();

if (address.room === null) {
  console.warn(`[listener] no valid room in ${location.pathname}${location.search}; not connecting`);
} else {
  document.title = `Captions · ${address.room}`;
  link = connectCaptions({
    url: captionsUrl(location, address.room, { partials: true, lines: 6, token, client: "listener" }),
    types: TYPES,
    onMessage,
    onBinary: (data) => player.pcm(data),
    onOpen: () => {
      lastListen = null;
      sendListen(true);
    },
    onConnection: (connection, info) => {
      if (connection !== "open") player.interrupt();
      update(withConnection(state, connection, info));
    },
    retryDelay: (attempt, close) => retryDelayFor(attempt, close, reconnectDelay),
    page: "listener",
  });
}
