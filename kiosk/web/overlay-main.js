// Wiring of the livestream overlay: room from the path, options from the query, captions
// socket -> the kiosk's caption state -> the last lines.

import { withoutToken } from "./access-token.js";
import { captionsUrl, connectCaptions } from "./captions-socket.js";
import { initialState, reduce, withConnection } from "./kiosk-model.js";
import { overlayLines, overlayRoom, parseOverlayOptions } from "./overlay-model.js";
import { renderOverlay } from "./overlay-view.js";

const options = parseOverlayOptions(location.search);
if (options.token) history.replaceState(history.state, "", withoutToken(location.href));
const room = overlayRoom(location.pathname);
const box = document.getElementById("overlay");
const root = document.documentElement;
root.style.setProperty("--size", String(options.size));
root.style.setProperty("--color", options.color);
root.style.setProperty("--bg", options.bg === "none" ? "transparent" : options.bg);
document.body.dataset.position = options.position;
document.body.dataset.box = options.bg === "none" ? "none" : "box";
// The kiosk's state keeps a few more finals than shown: a partial may hide the newest.
const stateOptions = { partials: options.partials, lines: options.lines + 1 };
let state = initialState(room);

function update(next) {
  state = next;
  document.body.dataset.connection = state.connection;
  window.__overlay = { state, options };
  renderOverlay(box, overlayLines(state, options));
}

update(state);
if (room === null) {
  console.warn(`[overlay] no valid room name in ${location.pathname}; not connecting`);
} else {
  connectCaptions({
    url: captionsUrl(location, room, { ...stateOptions, token: options.token, client: "overlay" }),
    onMessage: (msg) => {
      const next = reduce(state, msg, stateOptions);
      if (next !== state) update(next);
    },
    onConnection: (connection, info) => update(withConnection(state, connection, info)),
    page: "overlay",
  });
}
