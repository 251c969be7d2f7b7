// The kiosk's heartbeat for the display Pi's watchdog (kiosk/watchdog.py): a frame counter in
// `window.__edgeKioskBeat`, advanced in requestAnimationFrame, so it stops when the renderer
// hangs, the tab crashes or the GPU stalls. The watchdog reads it over Chromium's DevTools
// pipe (no network request from the page: nothing for Local Network Access to block).

/**
 * Start counting frames into `win.__edgeKioskBeat` = {page, frames, connection, ready}.
 * `describe()` is called on every frame and gives the page's current `connection` (and
 * `ready`, for the waiting page). Returns a function that stops the count.
 * @param {Window} win
 * @param {string} page "kiosk" or "waiting"
 * @param {() => {connection?: string, ready?: boolean}} describe
 * @returns {() => void}
 */
export function startBeat(win, page, describe) {
  let frames = 0;
  let handle = 0;
  const frame = () => {
    frames += 1;
    win.__edgeKioskBeat = { page, frames, connection: "none", ready: false, ...describe() };
    handle = win.requestAnimationFrame(frame);
  };
  handle = win.requestAnimationFrame(frame);
  return () => win.cancelAnimationFrame(handle);
}
