// The talk on a screen (pure): the current talk's title and speakers, or "Next: …" between
// talks, from the `talk`/`next_talk` fields of the server's `status` message or the status
// API's `talks` (docs/talks.md). Shared by the kiosk, the listener page, the status page and
// the door sign.

/**
 * @typedef {{id: string, title: string, speakers: string[], start: string, end: string}} Talk
 * @typedef {{kind: "now" | "next" | "", title: string, speakers: string}} TalkLine
 */

/**
 * A talk from the wire, or null when it is not one.
 * @param {any} value
 * @returns {Talk | null}
 */
export function talkOrNull(value) {
  if (value === null || typeof value !== "object" || typeof value.title !== "string") return null;
  const speakers = Array.isArray(value.speakers)
    ? value.speakers.filter((s) => typeof s === "string" && s.trim() !== "")
    : [];
  const text = (v) => (typeof v === "string" ? v : "");
  return { id: text(value.id), title: value.title, speakers, start: text(value.start), end: text(value.end) };
}

/**
 * "HH:MM" of an ISO time in the screen's own time zone ("" when it is not a time).
 * @param {string} iso
 * @returns {string}
 */
export function clockTime(iso) {
  const when = new Date(iso);
  if (Number.isNaN(when.getTime())) return "";
  return `${String(when.getHours()).padStart(2, "0")}:${String(when.getMinutes()).padStart(2, "0")}`;
}

/**
 * What the screen's talk line says.
 * @param {Talk | null} current
 * @param {Talk | null} next
 * @returns {TalkLine}
 */
export function talkLine(current, next) {
  if (current !== null) {
    return { kind: "now", title: current.title, speakers: current.speakers.join(", ") };
  }
  if (next !== null) {
    const at = clockTime(next.start);
    return {
      kind: "next",
      title: `Next${at ? ` at ${at}` : ""}: ${next.title}`,
      speakers: next.speakers.join(", "),
    };
  }
  return { kind: "", title: "", speakers: "" };
}

/**
 * A room's talks as the status page and the door sign say them, from the `talks` field of
 * `/api/status` (`{current, next, error}`); "" when no schedule is configured (the field is
 * null).
 * @param {any} talks
 * @returns {string}
 */
export function roomTalkText(talks) {
  if (talks === null || typeof talks !== "object") return "";
  const current = talkOrNull(talks.current);
  const next = talkOrNull(talks.next);
  const who = (talk) => (talk.speakers.length ? ` (${talk.speakers.join(", ")})` : "");
  const parts = [];
  if (typeof talks.error === "string" && talks.error) parts.push(`⚠ ${talks.error}`);
  parts.push(current ? `Now: ${current.title}${who(current)}` : "Between talks");
  if (next) {
    const at = clockTime(next.start);
    parts.push(`Next${at ? ` at ${at}` : ""}: ${next.title}${who(next)}`);
  }
  return parts.join(" · ");
}

/**
 * The schedule's and the clock's alarms of `/api/status` (`server.talk_alarms`), as lines.
 * @param {any} alarms
 * @returns {string[]}
 */
export function talkAlarmLines(alarms) {
  return Array.isArray(alarms) ? alarms.filter((a) => typeof a === "string" && a !== "") : [];
}
