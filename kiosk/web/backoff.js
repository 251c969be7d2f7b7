// The house backoff, shared by the captions socket (reconnecting) and the status page (polling
// after a failure): 1 s, then × 1.5 per retry, at most 30 s. Pure.

/** First delay, growth factor and cap. */
export const BACKOFF = Object.freeze({ firstMs: 1000, factor: 1.5, maxMs: 30000 });

/**
 * Delay before retry number `retry` (0 for the first retry).
 * @param {number} retry
 * @returns {number} milliseconds
 */
export function backoffDelay(retry) {
  const delay = BACKOFF.firstMs * BACKOFF.factor ** Math.max(0, retry);
  return Math.min(Math.round(delay), BACKOFF.maxMs);
}
