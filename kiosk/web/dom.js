// DOM helpers shared by the kiosk, the listener page, the status page and the door sign.
//
// They only touch the nodes they are given (and a given document), never a DOM global, and
// write text with `textContent`, never `innerHTML`. Each setter writes only on a change, so an
// unchanged redraw causes no layout, no mutation and no loss of focus or selection.

/**
 * Create an element with an optional class and text (always via textContent).
 * @param {Document} doc
 * @param {string} tag
 * @param {string} [className]
 * @param {string} [text]
 * @returns {HTMLElement}
 */
export function el(doc, tag, className, text) {
  const node = doc.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

/** Set a node's text only when it changes (no needless layout or selection loss). */
export function setText(node, text) {
  if (node.textContent !== text) node.textContent = text;
}

/** Show or hide a node. */
export function setShown(node, shown) {
  if (node.hidden === shown) node.hidden = !shown;
}

/** Set a `data-*` value (`dataset[key]`) only when it changes. */
export function setData(node, key, value) {
  if (node.dataset[key] !== value) node.dataset[key] = value;
}

/** Set an attribute only when it changes. */
export function setAttr(node, name, value) {
  if (node.getAttribute(name) !== value) node.setAttribute(name, value);
}

/** Make `parent`'s children exactly `nodes`, moving as few existing nodes as possible. */
export function reconcile(parent, nodes) {
  const keep = new Set(nodes);
  for (const child of [...parent.children]) if (!keep.has(child)) child.remove();
  let cursor = parent.firstElementChild;
  for (const node of nodes) {
    if (node === cursor) cursor = cursor.nextElementSibling;
    else parent.insertBefore(node, cursor);
  }
}
