// Wiring of the kiosk page: room from the path, options from the query, socket -> state -> DOM.

import {
  initialState, parseOptions, reduce, render, roomFromPath, withConnection,
} from "./kiosk-render.js";
import { captionsUrl, connectCaptions } from "./kiosk-socket.js";

const container = document.getElementById("kiosk");
const options = parseOptions(location.search);
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
  connectCaptions({
    url: captionsUrl(location, room, options),
    onMessage: (msg) => {
      const next = reduce(state, msg, options);
      if (next !== state) update(next);
    },
    onConnection: (connection) => update(withConnection(state, connection)),
  });
}
