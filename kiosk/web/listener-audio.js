// Speech on the phone: the server's PCM (16 kHz mono s16le, in `speech` ... binary ...
// `speech_end` runs, one sentence each) played gap-free through Web Audio.
//
// Each chunk becomes an AudioBuffer at 16000 Hz (the browser resamples it to the context's
// rate) scheduled at max(end of the previous chunk, now + a small lead), so the chunks of a
// sentence play back to back. When playback falls more than `maxQueuedS` behind, the oldest
// queued sentence is skipped (and what follows moved up) rather than lagging for ever.
//
// Every scheduled buffer is recorded in `log` and every arrival (text, speech, audio chunk,
// end, skip, mute) in `events`, for tests and for debugging on a phone.
//
// Nothing happens at import time; the AudioContext is created by `enable()`, which must run in
// a tap handler (browsers only let a page make sound after a user gesture).

/** Playback parameters. */
export const PLAYBACK = Object.freeze({
  sampleRate: 16000, // Hz: what the server sends
  leadS: 0.12, // first chunk of a burst starts this long after "now" (decode + jitter margin)
  maxQueuedS: 8, // more speech than this waiting: skip the oldest sentence
  maxLog: 2000, // entries kept in `log` and in `events`
});

/**
 * s16le PCM bytes to Float32 samples in [-1, 1). An odd trailing byte is ignored.
 * @param {ArrayBuffer} bytes
 * @returns {Float32Array}
 */
export function pcmToFloat32(bytes) {
  const count = Math.floor(bytes.byteLength / 2);
  const view = new DataView(bytes, 0, count * 2);
  const out = new Float32Array(count);
  for (let i = 0; i < count; i += 1) out[i] = view.getInt16(i * 2, true) / 32768;
  return out;
}

function defaultContext() {
  const Impl = globalThis.AudioContext ?? globalThis.webkitAudioContext;
  return new Impl({ latencyHint: "playback" });
}

/** Plays the speech of one language; see the module comment. */
export class SpeechPlayer {
  /**
   * @param {object} [config]
   * @param {() => BaseAudioContext} [config.createContext] (tests pass a fake)
   * @param {() => number} [config.clock] ms for `events` (performance.now)
   * @param {number} [config.leadS]
   * @param {number} [config.maxQueuedS]
   * @param {() => void} [config.onChange] called when `enabled` or `muted` changes
   * @param {{info: Function, warn: Function}} [config.log]
   */
  constructor({
    createContext = defaultContext,
    clock = () => globalThis.performance.now(),
    leadS = PLAYBACK.leadS,
    maxQueuedS = PLAYBACK.maxQueuedS,
    onChange = () => {},
    log = console,
  } = {}) {
    this.createContext = createContext;
    this.clock = clock;
    this.leadS = leadS;
    this.maxQueuedS = maxQueuedS;
    this.onChange = onChange;
    this.console = log;
    /** @type {BaseAudioContext | null} */
    this.ctx = null;
    this.muted = false;
    this.lang = null;
    /** The sentence being received: {segment, lang, index, sampleRate} or null. */
    this.current = null;
    /** Scheduled buffers not yet played out: {segment, index, startAt, duration, source, buffer}. */
    this.queue = [];
    this.nextStart = 0;
    /** Every scheduled buffer: {segment, index, startAt, duration, samples, scheduledAt, repack}. */
    this.log = [];
    /** Arrivals in order: {kind, segment?, index?, t}. */
    this.events = [];
  }

  /** True when sound can be heard: the context exists and runs. */
  get enabled() {
    return this.ctx !== null && this.ctx.state === "running";
  }

  /** True when the server should send speech: enabled and not muted. */
  get wanted() {
    return this.enabled && !this.muted;
  }

  /** Whether this browser has Web Audio at all. */
  static supported() {
    return typeof (globalThis.AudioContext ?? globalThis.webkitAudioContext) === "function";
  }

  /**
   * Create (first time) and resume the AudioContext. Call it from a tap handler: the context
   * is created synchronously inside the gesture, and a silent buffer is played to unlock iOS.
   * @returns {Promise<boolean>} whether the context runs
   */
  async enable() {
    if (this.ctx === null) {
      this.ctx = this.createContext();
      this.ctx.onstatechange = () => this.onChange();
      const silence = this.ctx.createBuffer(1, 1, PLAYBACK.sampleRate);
      const source = this.ctx.createBufferSource();
      source.buffer = silence;
      source.connect(this.ctx.destination);
      source.start();
    }
    this.muted = false;
    this.note("enable");
    try {
      await this.ctx.resume();
    } catch (error) {
      this.console.warn("[listener] audio context did not start:", error);
    }
    this.onChange();
    return this.enabled;
  }

  /**
   * Mute or unmute. Muting stops what is queued and schedules nothing more until unmuted and
   * a new sentence starts.
   * @param {boolean} muted
   */
  setMuted(muted) {
    if (this.muted === muted) return;
    this.muted = muted;
    this.note(muted ? "mute" : "unmute");
    if (muted) this.flush();
    this.onChange();
  }

  /**
   * Follow another language: speech queued in the old one is dropped.
   * @param {string | null} lang
   */
  setLanguage(lang) {
    if (this.lang === lang) return;
    if (this.lang !== null) this.flush();
    this.lang = lang;
  }

  /**
   * A final's text arrived (recorded only, to check that text comes before its speech).
   * @param {{segment: number}} msg
   */
  text(msg) {
    this.note("text", { segment: msg.segment });
  }

  /**
   * A `speech` message: a sentence's audio follows.
   * @param {{segment: number, lang?: string, sample_rate?: number, format?: string,
   *   channels?: number}} msg
   */
  speechStart(msg) {
    this.note("speech", { segment: msg.segment });
    const rate = msg.sample_rate ?? PLAYBACK.sampleRate;
    if ((msg.format ?? "s16le") !== "s16le" || (msg.channels ?? 1) !== 1) {
      this.console.warn("[listener] speech in an unknown format ignored:", msg);
      this.current = null;
      return;
    }
    if (this.lang !== null && msg.lang !== undefined && msg.lang !== this.lang) {
      this.current = null; // late speech of the language we just left
      return;
    }
    this.current = { segment: msg.segment, lang: msg.lang ?? null, index: 0, sampleRate: rate };
  }

  /**
   * A binary PCM chunk of the current sentence: scheduled right away.
   * @param {ArrayBuffer} bytes
   */
  pcm(bytes) {
    const current = this.current;
    this.note("audio", { segment: current?.segment ?? null, index: current?.index ?? null });
    if (current === null || this.muted || !this.enabled) return;
    const index = current.index;
    current.index += 1;
    const samples = pcmToFloat32(bytes);
    if (samples.length === 0) return;
    const buffer = this.ctx.createBuffer(1, samples.length, current.sampleRate);
    buffer.copyToChannel(samples, 0);
    this.skipIfBehind(current.segment);
    this.schedule({ segment: current.segment, index, buffer }, false);
  }

  /**
   * A `speech_end` message: the sentence is complete (or its synthesis failed).
   * @param {{segment: number, ok?: boolean, error?: string}} msg
   */
  speechEnd(msg) {
    this.note("speech_end", { segment: msg.segment, ok: msg.ok !== false });
    if (msg.ok === false) this.console.warn(`[listener] speech ${msg.segment} failed: ${msg.error}`);
    if (this.current?.segment === msg.segment) this.current = null;
  }

  /** The link dropped mid-sentence: the rest of it will not come. What is queued plays on. */
  interrupt() {
    this.current = null;
  }

  /**
   * Seconds of speech scheduled ahead of the context's clock.
   * @returns {number}
   */
  queuedSeconds() {
    if (this.ctx === null) return 0;
    return Math.max(0, this.nextStart - this.ctx.currentTime);
  }

  /** Record an arrival or action in `events`. */
  note(kind, fields = {}) {
    this.events.push({ kind, ...fields, t: Math.round(this.clock() * 10) / 10 });
    if (this.events.length > PLAYBACK.maxLog) this.events.splice(0, this.events.length - PLAYBACK.maxLog);
  }

  /** Stop everything scheduled and forget the sentence being received. */
  flush() {
    for (const entry of this.queue) this.stopSource(entry.source);
    this.queue = [];
    this.nextStart = 0;
    this.current = null;
  }

  stopSource(source) {
    source.onended = null;
    try {
      source.stop();
    } catch {
      // already stopped
    }
    source.disconnect();
  }

  /** Schedule one buffer at the end of the queue (or now + lead after a pause). */
  schedule(item, repack) {
    const ctx = this.ctx;
    const now = ctx.currentTime;
    const startAt = Math.max(this.nextStart, now + this.leadS);
    const source = ctx.createBufferSource();
    source.buffer = item.buffer;
    source.connect(ctx.destination);
    source.start(startAt);
    const duration = item.buffer.duration;
    this.nextStart = startAt + duration;
    const entry = { segment: item.segment, index: item.index, startAt, duration, source,
      buffer: item.buffer };
    source.onended = () => {
      const at = this.queue.indexOf(entry);
      if (at >= 0) this.queue.splice(at, 1);
      source.disconnect();
    };
    this.queue.push(entry);
    this.log.push({ segment: item.segment, index: item.index, startAt, duration,
      samples: item.buffer.length, scheduledAt: now, repack });
    if (this.log.length > PLAYBACK.maxLog) this.log.splice(0, this.log.length - PLAYBACK.maxLog);
  }

  /**
   * Too far behind live: drop whole older sentences (never the one arriving) until the queue
   * is short enough, then move the rest up so it stays gap-free.
   * @param {number} arriving the segment being received
   */
  skipIfBehind(arriving) {
    while (this.queuedSeconds() > this.maxQueuedS) {
      const segment = this.oldestSkippable(arriving);
      if (segment === null) break; // one long sentence: nothing older to skip
      for (const entry of this.queue) if (entry.segment === segment) this.stopSource(entry.source);
      this.queue = this.queue.filter((e) => e.segment !== segment);
      this.note("skip", { segment });
      this.console.info(`[listener] playback too far behind: skipped sentence ${segment}`);
      this.repack();
    }
  }

  /**
   * The sentence to skip: the oldest one that has not started playing, else the oldest one
   * (cut short); never `arriving`. Null when there is none.
   */
  oldestSkippable(arriving) {
    const now = this.ctx.currentTime;
    const older = this.queue.filter((e) => e.segment !== arriving);
    const started = new Set(older.filter((e) => e.startAt <= now).map((e) => e.segment));
    const waiting = older.find((e) => !started.has(e.segment));
    if (waiting !== undefined) return waiting.segment;
    return older.length > 0 ? older[0].segment : null;
  }

  /** Reschedule the not-yet-started buffers back to back after what is playing now. */
  repack() {
    const now = this.ctx.currentTime;
    const playing = this.queue.filter((e) => e.startAt <= now);
    const waiting = this.queue.filter((e) => e.startAt > now);
    for (const entry of waiting) this.stopSource(entry.source);
    this.queue = playing;
    this.nextStart = playing.reduce((end, e) => Math.max(end, e.startAt + e.duration), 0);
    for (const entry of waiting) this.schedule(entry, true);
  }
}
