// The livestream overlay's DOM side: the last lines, nothing else (no QR code, no status).

import { el, reconcile, setData, setText } from "./dom.js";

/**
 * Draw the lines into `container` (text only via textContent).
 * @param {HTMLElement} container
 * @param {{key: string, text: string, partial: boolean}[]} lines
 */
export function renderOverlay(container, lines) {
  const current = new Map([...container.children].map((node) => [node.dataset.key, node]));
  const nodes = lines.map((line) => {
    const node = current.get(line.key) ?? el(container.ownerDocument, "p", "line");
    node.dataset.key = line.key;
    node.dir = "auto";
    setText(node, line.text);
    setData(node, "partial", String(line.partial));
    return node;
  });
  reconcile(container, nodes);
}
