// Wiring of the kiosk page: room from the path, options from the query, socket -> state -> DOM.

import { captionsUrl, connectCaptions } from "./captions-socket.js";
import {
  initialState, parseOptions, reduce, roomFromPath, withConnection,
} from "./kiosk-model.js";
import { render } from "./kiosk-view.js";

const container = document.getElementById("kiosk");
let options = parseOptions(location.search);
const room = roomFromPath(location.pathname);
let state = initialState(room);

/** Replace the state, expose it for debugging and tests, and redraw. */
function update(next) {
  state = next;
  window.__kiosk = { state, options };
  document.body.dataset.connection = state.connection;
  render(container, state, options);
}

update(state);
if (room === null) {
  console.warn(`[kiosk] no valid room name in ${location.pathname}; not connecting`);
} else {
  document.title = `Captions · ${room}`;
  // "q" shows or hides the corner QR code (a volunteer with a keyboard; the URL sets the start).
  document.addEventListener("keydown", (event) => {
    if (event.key.toLowerCase() !== "q" || event.ctrlKey || event.metaKey || event.altKey) return;
    options = { ...options, qr: !options.qr };
    update(state);
  });
  connectCaptions({
    url: captionsUrl(location, room, options),
    onMessage: (msg) => {
      const next = reduce(state, msg, options);
      if (next !== state) update(next);
    },
    onConnection: (connection) => update(withConnection(state, connection)),
    page: "kiosk",
  });
}
