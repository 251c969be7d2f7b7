// The status page's link to the server, pure: when to poll `/api/status` next, what an HTTP
// answer means for the page, and the header's line about the link. The polling itself is in
// status-main.js.

import { errorOf, messageOf } from "./api-fields.js";
import { backoffDelay } from "./backoff.js";
import { clock } from "./status-format.js";

/** Poll `/api/status` this often while the server answers. */
export const POLL_MS = 2000;

/**
 * Delay before the next poll after `failures` failed polls in a row (0: all is well): the
 * house backoff (1 s × 1.5 per failure, at most 30 s), never under POLL_MS.
 * @param {number} failures
 * @returns {number} milliseconds
 */
export function pollDelay(failures) {
  if (failures <= 0) return POLL_MS;
  return Math.max(backoffDelay(failures - 1), POLL_MS);
}

/**
 * What an HTTP answer of the server means for the page.
 * - `ok`: use the body;
 * - `token`: the admin token is missing or refused: ask for it, stop polling;
 * - `refused`: refused for another reason (origin): say so, stop polling;
 * - `busy`: too many attempts: retry after `retryAfterS`;
 * - `failed`: anything else (5xx, a body that is not JSON): keep retrying with backoff.
 * @param {number} status HTTP status
 * @param {any} body the parsed JSON body, or null
 * @param {string | null} [retryAfter] the Retry-After header
 * @returns {{kind: "ok" | "token" | "refused" | "busy" | "failed", message: string,
 *   retryAfterS?: number}}
 */
export function classifyAnswer(status, body, retryAfter = null) {
  const detail = messageOf(body);
  const error = errorOf(body);
  if (status >= 200 && status < 300) {
    if (body === null || typeof body !== "object") {
      return { kind: "failed", message: "the server's answer is not JSON" };
    }
    return { kind: "ok", message: "" };
  }
  if (status === 401 || error === "token_missing") {
    return {
      kind: "token",
      message: `This server needs the admin token.${detail ? ` Server: ${detail}` : ""}`,
    };
  }
  if (status === 403 && error !== "origin_refused") {
    return {
      kind: "token",
      message: `The server refused this token${detail ? `: ${detail}` : "."}`,
    };
  }
  if (status === 403) {
    return { kind: "refused", message: `Refused: ${detail || error || "forbidden"}` };
  }
  if (status === 429) {
    const seconds = Number(retryAfter);
    return {
      kind: "busy",
      message: "Too many attempts from this address; waiting before the next one.",
      retryAfterS: Number.isFinite(seconds) && seconds > 0 ? seconds : 5,
    };
  }
  return {
    kind: "failed",
    message: `HTTP ${status}${detail ? `: ${detail}` : error ? `: ${error}` : ""}`,
  };
}

/**
 * The line in the page header about the link to the server.
 * @param {{phase: string, lastOkAt: number | null, failingSince: number | null,
 *   nextPollMs: number, message: string}} link
 * @returns {string}
 */
export function linkText(link) {
  switch (link.phase) {
    case "ok":
      return `Live · updated ${clock(link.lastOkAt)}`;
    case "unreachable":
      return `Server unreachable since ${clock(link.failingSince)}` +
        `${link.message ? ` (${link.message})` : ""} — retrying in ` +
        `${Math.round(link.nextPollMs / 1000)} s`;
    case "token":
      return "Admin token needed";
    case "refused":
      return link.message;
    default:
      return "Connecting…";
  }
}

