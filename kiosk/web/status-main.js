// Wiring of the status page: the admin token, polling GET /api/status, the settings forms.

import { authHeaders } from "./access-token.js";
import { readToken, storeToken } from "./admin-token.js";
import { setShown, setText } from "./dom.js";
import { applyResult, formValues, settingsBody } from "./room-settings.js";
import { fillForm, readForm, setEdited, showHints, showResult } from "./room-settings-form.js";
import { renderRooms } from "./status-cards.js";
import { refusedLines } from "./status-refused.js";
import { statusView } from "./status-model.js";
import { POLL_MS, classifyAnswer, linkText, pollDelay } from "./status-poll.js";

const FETCH_TIMEOUT_MS = 8000;

const roomsBox = document.getElementById("rooms");
const linkLine = document.getElementById("link");
const serverLine = document.getElementById("server");
const tokenForm = document.getElementById("token-form");
const tokenMessage = document.getElementById("token-message");
const tokenInput = document.getElementById("token-input");
const forgetButton = document.getElementById("forget-token");
const emptyLine = document.getElementById("no-rooms");
const refusedBox = document.getElementById("refused");

let token = readToken();
let views = new Map();
let failures = 0;
let okPolls = 0;
let timer = null;
let generation = 0;
const link = { phase: "connecting", lastOkAt: null, failingSince: null, nextPollMs: POLL_MS,
  message: "" };

function setToken(value) {
  token = value || null;
  storeToken(token);
}

function expose() {
  window.__status = {
    link: { ...link }, failures, okPolls, token: token !== null, rooms: [...views.values()],
  };
}

function showLink() {
  setText(linkLine, linkText(link));
  linkLine.dataset.phase = link.phase;
  document.body.dataset.phase = link.phase;
  setShown(forgetButton, token !== null);
  expose();
}

function schedule(ms) {
  clearTimeout(timer);
  link.nextPollMs = ms;
  timer = setTimeout(poll, ms);
}

function askToken(message) {
  clearTimeout(timer);
  link.phase = "token";
  link.message = message;
  setText(tokenMessage, message);
  setShown(tokenForm, true);
  showLink();
  tokenInput.focus();
}

function failed(message) {
  failures += 1;
  if (link.failingSince === null) link.failingSince = Date.now();
  link.phase = "unreachable";
  link.message = message;
  schedule(pollDelay(failures));
  showLink();
}

/** Fill a card's form from the server unless someone is editing it. */
function onCard(card, view, created) {
  const form = card.querySelector("form.settings");
  const active = document.activeElement;
  const typing = active !== null && form.contains(active) && active.matches("input, select");
  if (created || (form.dataset.edited !== "true" && form.dataset.busy !== "true" && !typing)) {
    fillForm(form, formValues(view));
  }
}

function showStatus(body) {
  const view = statusView(body, token);
  views = new Map(view.rooms.map((room) => [room.name, room]));
  renderRooms(roomsBox, view.rooms, onCard);
  setShown(emptyLine, view.rooms.length === 0);
  const auth = Object.entries(view.auth).filter(([, on]) => on).map(([role]) => role);
  const uptime = view.uptimeS === null ? "" : ` · up ${Math.round(view.uptimeS / 60)} min`;
  setText(serverLine, `edge-server ${view.version || "?"}${uptime} · tokens: ` +
    `${auth.length ? auth.join(", ") : "none (open server)"}`);
  showRefused(body?.refused);
}

/** Kiosks (and phones) the server refused lately: a screen left with an old token. */
function showRefused(refused) {
  const lines = refusedLines(refused);
  const list = refusedBox.querySelector("ul");
  list.replaceChildren(...lines.map((line) => {
    const item = document.createElement("li");
    item.textContent = line;
    return item;
  }));
  setShown(refusedBox, lines.length > 0);
}

async function poll() {
  clearTimeout(timer);
  const mine = ++generation;
  let response;
  let body = null;
  try {
    response = await fetch("/api/status", {
      headers: authHeaders(token), cache: "no-store", signal: AbortSignal.timeout(FETCH_TIMEOUT_MS),
    });
    body = await response.json().catch(() => null);
  } catch (error) {
    if (mine !== generation) return;
    console.warn("[status] /api/status failed:", error);
    failed(error?.name === "TimeoutError" ? "no answer" : "no connection");
    return;
  }
  if (mine !== generation) return; // a newer poll (e.g. a new token) took over
  const answer = classifyAnswer(response.status, body, response.headers.get("Retry-After"));
  switch (answer.kind) {
    case "ok":
      failures = 0;
      okPolls += 1;
      Object.assign(link, { phase: "ok", lastOkAt: Date.now(), failingSince: null, message: "" });
      setShown(tokenForm, false);
      showStatus(body);
      schedule(POLL_MS);
      showLink();
      break;
    case "token":
      askToken(answer.message);
      break;
    case "refused":
      clearTimeout(timer);
      Object.assign(link, { phase: "refused", message: answer.message });
      showLink();
      break;
    case "busy":
      failures += 1;
      if (link.failingSince === null) link.failingSince = Date.now();
      Object.assign(link, { phase: "unreachable", message: answer.message });
      schedule(Math.max(answer.retryAfterS * 1000, pollDelay(failures)));
      showLink();
      break;
    case "failed":
      console.warn(`[status] /api/status: ${answer.message}`);
      failed(answer.message);
      break;
    default:
      console.warn(`[status] unknown answer kind ${answer.kind}`);
  }
}

async function apply(form) {
  const room = form.dataset.room;
  const view = views.get(room);
  if (view === undefined) return;
  const body = settingsBody(readForm(form), view);
  if (Object.keys(body).length === 0) {
    showResult(form, { ok: true, text: "Nothing to change: these are the room's settings" });
    setEdited(form, false);
    return;
  }
  const button = form.querySelector("button.apply");
  form.dataset.busy = "true";
  button.disabled = true;
  showResult(form, { ok: true, text: "Applying…" });
  try {
    const response = await fetch(`/api/rooms/${encodeURIComponent(room)}/settings`, {
      method: "POST",
      headers: authHeaders(token, { "Content-Type": "application/json" }),
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(FETCH_TIMEOUT_MS * 2),
    });
    const answer = await response.json().catch(() => null);
    const result = applyResult(response.status, answer);
    showResult(form, result);
    form.dataset.lastStatus = String(response.status);
    if (result.ok) {
      const applied = {
        sourceLang: typeof answer.source_lang === "string" ? answer.source_lang : view.sourceLang,
        languages: Array.isArray(answer.languages) ? answer.languages : view.languages,
        targets: Array.isArray(answer.targets) ? answer.targets : view.targets,
      };
      Object.assign(view, applied); // until the next poll brings the same
      fillForm(form, formValues(applied));
      setEdited(form, false);
      setTimeout(poll, 0);
    } else if (response.status === 401 || response.status === 403) {
      const refusal = classifyAnswer(response.status, answer);
      if (refusal.kind === "token") askToken(refusal.message);
    }
  } catch (error) {
    console.warn(`[status] settings of ${room} failed:`, error);
    form.dataset.lastStatus = "0";
    showResult(form, { ok: false, text: `Not applied: the server did not answer (${error})` });
  } finally {
    form.dataset.busy = "false";
    button.disabled = false;
  }
}

for (const type of ["input", "change"]) {
  roomsBox.addEventListener(type, (event) => {
    const form = event.target.closest("form.settings");
    if (form === null) return;
    setEdited(form, true);
    showHints(form);
  });
}
roomsBox.addEventListener("submit", (event) => {
  const form = event.target.closest("form.settings");
  if (form === null) return;
  event.preventDefault();
  if (form.dataset.busy !== "true") apply(form);
});
roomsBox.addEventListener("click", (event) => {
  const button = event.target.closest("button.discard");
  if (button === null) return;
  const form = button.closest("form.settings");
  const view = views.get(form.dataset.room);
  if (view !== undefined) fillForm(form, formValues(view));
  setEdited(form, false);
  showResult(form, null);
});

tokenForm.addEventListener("submit", (event) => {
  event.preventDefault();
  const value = tokenInput.value.trim();
  if (value === "") {
    setText(tokenMessage, "Type the admin token (EDGE_SERVER_ADMIN_TOKEN on the server).");
    return;
  }
  setToken(value);
  tokenInput.value = "";
  setShown(tokenForm, false);
  Object.assign(link, { phase: "connecting", message: "" });
  failures = 0;
  showLink();
  poll();
});
forgetButton.addEventListener("click", () => {
  setToken(null);
  views = new Map();
  renderRooms(roomsBox, []);
  askToken("Token forgotten. Type the admin token to see the rooms.");
});

showLink();
poll();
