// The printable door sign (DOM): fills the sign's room name, QR code and listener address.
// The wiring (token, fetch) is door-main.js.

import { setAttr, setShown, setText } from "./dom.js";

/**
 * Fill the door sign.
 * @param {HTMLElement} root the sign's container (with .room-name, img.qr, .listen-url and,
 *   optionally, .talk)
 * @param {{room: string, qrSrc: string, listenUrl: string, talk?: string}} sign
 */
export function renderDoor(root, sign) {
  setText(root.querySelector(".room-name"), sign.room);
  const talk = root.querySelector(".talk");
  if (talk !== null) {
    setText(talk, sign.talk ?? "");
    setShown(talk, (sign.talk ?? "") !== "");
  }
  const img = root.querySelector("img.qr");
  setAttr(img, "src", sign.qrSrc);
  img.alt = `QR code of ${sign.listenUrl || `the listener page of room ${sign.room}`}`;
  setText(root.querySelector(".listen-url"), sign.listenUrl || "—");
}
