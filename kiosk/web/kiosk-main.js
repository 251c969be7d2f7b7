// Wiring of the kiosk page: room from the path, options from the query, socket -> state -> DOM.

import { withoutToken } from "./access-token.js";
import { captionsUrl, connectCaptions, reconnectDelay } from "./captions-socket.js";
import { startBeat } from "./kiosk-beat.js";
import {
  initialState, kioskRetryDelay, parseOptions, reduce, roomFromPath, withConnection,
} from "./kiosk-model.js";
import { render } from "./kiosk-view.js";

const container = document.getElementById("kiosk");
let options = parseOptions(location.search);
// The token came in the address (the display Pi's watchdog opens it so): keep it in memory for
// reconnects and the QR code, take it out of the address bar and the history.
if (options.token) history.replaceState(history.state, "", withoutToken(location.href));
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
// While this page renders, its frames tell the display Pi's watchdog that the screen is alive.
startBeat(window, "kiosk", () => ({ connection: state.refused ? "refused" : state.connection }));
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
    url: captionsUrl(location, room, { ...options, client: "kiosk" }),
    onMessage: (msg) => {
      const next = reduce(state, msg, options);
      if (next !== state) update(next);
    },
    onConnection: (connection, info) => update(withConnection(state, connection, info)),
    retryDelay: (attempt, close) => kioskRetryDelay(attempt, close, reconnectDelay),
    page: "kiosk",
  });
}
