// The status page's list of caption subscribers the server refused lately (GET /api/status,
// "refused"): above all kiosks left with an old listener token after a rotation. Pure text;
// status-main.js puts it on the page.

const REASONS = {
  token_missing: "no token",
  token_wrong: "wrong token",
  origin_refused: "address not allowed",
};

/**
 * One line per refused subscriber, kiosks first, e.g.
 * "Kiosk 192.0.2.12 (room aula-magna): wrong token, 14× since 10:02, last 10:09".
 * @param {unknown} refused the API's `refused` list (anything else gives no lines)
 * @param {(seconds: number) => string} [clock] wall-clock seconds to a time of day
 * @returns {string[]}
 */
export function refusedLines(refused, clock = timeOfDay) {
  if (!Array.isArray(refused)) return [];
  const entries = refused.filter((e) => e && typeof e.address === "string"
    && typeof e.room === "string" && Number.isFinite(e.last_at));
  const kiosksFirst = [...entries.filter((e) => e.client === "kiosk"),
    ...entries.filter((e) => e.client !== "kiosk")];
  return kiosksFirst.map((e) => {
    const who = e.client === "kiosk" ? "Kiosk" : e.client === "listener" ? "Phone" : "Client";
    const reason = REASONS[e.reason] ?? String(e.reason ?? "refused");
    const count = Number.isFinite(e.count) && e.count > 1
      ? `, ${e.count}× since ${clock(e.first_at)}, last ${clock(e.last_at)}`
      : ` at ${clock(e.last_at)}`;
    return `${who} ${e.address} (room ${e.room}): ${reason}${count}`;
  });
}

function timeOfDay(seconds) {
  return new Date(seconds * 1000).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}
