// The printable door sign (DOM): fills the sign's room name, QR code and listener address.
// The wiring (token, fetch) is door-main.js.

import { setAttr, setText } from "./dom.js";

/**
 * Fill the door sign.
 * @param {HTMLElement} root the sign's container (with .room-name, img.qr, .listen-url)
 * @param {{room: string, qrSrc: string, listenUrl: string}} sign
 */
export function renderDoor(root, sign) {
  setText(root.querySelector(".room-name"), sign.room);
  const img = root.querySelector("img.qr");
  setAttr(img, "src", sign.qrSrc);
  img.alt = `QR code of ${sign.listenUrl || `the listener page of room ${sign.room}`}`;
  setText(root.querySelector(".listen-url"), sign.listenUrl || "—");
}
