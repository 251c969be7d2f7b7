// Keep a phone's screen on while a captions page is followed (the Screen Wake Lock API: secure
// contexts only, i.e. https or localhost). The lock is asked for at once, and again whenever
// the page becomes visible (the browser drops it when the page is hidden). Best effort: a
// browser without the API, or one that refuses, leaves the screen to the phone's own settings,
// and the page says so.

/** What the page can say about the screen: `on`, `off` (hidden, will ask again), `refused`,
 * `unsupported` (no API: plain http, or an old browser). */
export const WAKE_STATES = Object.freeze(["on", "off", "refused", "unsupported"]);

/**
 * A short line for the state, or "" when there is nothing worth saying.
 * @param {string} state one of WAKE_STATES
 * @param {boolean} secure whether the page is a secure context (https)
 * @returns {string}
 */
export function wakeNote(state, secure) {
  switch (state) {
    case "on":
      return "The screen stays on while this page is open.";
    case "refused":
      return "This phone did not allow keeping the screen on: it may turn off by itself.";
    case "unsupported":
      return secure
        ? "This browser cannot keep the screen on: it may turn off by itself."
        : "The screen may turn off by itself (keeping it on needs the https address).";
    default:
      return "";
  }
}

/** Holds the screen wake lock of one page. */
export class ScreenWake {
  /**
   * @param {{nav?: Navigator, doc?: Document, onChange?: (state: string) => void}} [options]
   */
  constructor({ nav = navigator, doc = document, onChange = () => {} } = {}) {
    this.nav = nav;
    this.doc = doc;
    this.onChange = onChange;
    this.sentinel = null;
    this.pending = false;
    this.requests = 0;
    this.state = nav.wakeLock ? "off" : "unsupported";
  }

  /** Ask now, and again each time the page becomes visible. */
  start() {
    this.doc.addEventListener("visibilitychange", () => {
      if (this.doc.visibilityState === "visible") this.keep();
    });
    this.keep();
    this.onChange(this.state);
  }

  /** Ask for the lock unless it is held, being asked for, impossible, or the page is hidden. */
  async keep() {
    if (!this.nav.wakeLock || this.sentinel !== null || this.pending) return;
    if (this.doc.visibilityState !== "visible") return;
    this.pending = true;
    this.requests += 1;
    try {
      const sentinel = await this.nav.wakeLock.request("screen");
      this.sentinel = sentinel;
      sentinel.addEventListener("release", () => {
        this.sentinel = null;
        this.set("off");
      });
      this.set("on");
    } catch (error) {
      console.info(`[wake] screen wake lock refused: ${error?.name ?? error}`);
      this.set("refused");
    } finally {
      this.pending = false;
    }
  }

  set(state) {
    if (state === this.state) return;
    this.state = state;
    this.onChange(state);
  }
}
