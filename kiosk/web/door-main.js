// Wiring of the printable door sign: /static/door.html?room=<room>&token=<admin token>.
// The QR code comes from the server (/rooms/{room}/qr.svg); the listener address as text from
// /api/status (admin), so the sign shows exactly what the code encodes.

import { authHeaders, withToken } from "./access-token.js";
import { readToken } from "./admin-token.js";
import { setShown, setText } from "./dom.js";
import { renderDoor } from "./door-sign.js";
import { isRoomName } from "./protocol.js";
import { roomTalkText } from "./talk-line.js";

const sign = document.getElementById("sign");
const problem = document.getElementById("problem");

function say(text) {
  setText(problem, text);
  setShown(problem, text !== "");
}

/** The listener address (as the QR code has it) and the room's talks, from /api/status. */
async function roomInfo(room, token) {
  const response = await fetch("/api/status", {
    headers: authHeaders(token), cache: "no-store", signal: AbortSignal.timeout(8000),
  });
  const body = await response.json().catch(() => null);
  if (!response.ok) {
    throw new Error(body?.message || `HTTP ${response.status}`);
  }
  const url = body?.rooms?.[room]?.listen_url;
  if (typeof url !== "string" || url === "") throw new Error(`no room ${room} on this server`);
  return { listenUrl: url, talk: roomTalkText(body?.rooms?.[room]?.talks) };
}

async function main() {
  const room = new URLSearchParams(location.search).get("room") ?? "";
  const token = readToken();
  document.getElementById("print").addEventListener("click", () => window.print());
  if (!isRoomName(room)) {
    say(`No valid room in the address (expected ?room=<name>), got "${room}"`);
    return;
  }
  document.title = `Door sign · ${room}`;
  const qrSrc = withToken(`/rooms/${encodeURIComponent(room)}/qr.svg`, token);
  renderDoor(sign, { room, qrSrc, listenUrl: "" });
  const img = sign.querySelector("img.qr");
  img.addEventListener("error", () => say("The QR code could not be loaded (token refused?)"));
  try {
    renderDoor(sign, { room, qrSrc, ...(await roomInfo(room, token)) });
    document.body.dataset.ready = "true";
  } catch (error) {
    console.warn("[door] listener address:", error);
    say(`The listener address is unavailable: ${error.message}`);
  }
}

main();
