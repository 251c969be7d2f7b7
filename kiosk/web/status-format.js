// How the status page writes times, levels, durations and money. Pure.

/** The signal meter's scale: -60 dBFS (empty) to 0 dBFS (full). */
export const METER_FLOOR_DB = -60;

const pad = (n) => String(n).padStart(2, "0");

/**
 * A wall-clock time as local `HH:MM:SS` (invalid input: "—").
 * @param {string | number | Date | null | undefined} value ISO string, epoch ms or Date
 * @returns {string}
 */
export function clock(value) {
  if (value === null || value === undefined || value === "") return "—";
  const date = value instanceof Date ? value : new Date(value);
  if (Number.isNaN(date.getTime())) return typeof value === "string" ? value : "—";
  return `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
}

/**
 * `-23.5 dBFS`, or "—" for a missing value.
 * @param {number | null | undefined} value
 * @returns {string}
 */
export function dbfs(value) {
  return Number.isFinite(value) ? `${value.toFixed(1)} dBFS` : "—";
}

/**
 * Seconds: `0.84 s`, `12.3 s`, `3 min 20 s`, `2 h 05 min`; "—" for a missing value.
 * @param {number | null | undefined} value
 * @returns {string}
 */
export function seconds(value) {
  if (!Number.isFinite(value)) return "—";
  if (value < 10) return `${value.toFixed(2)} s`;
  if (value < 60) return `${value.toFixed(1)} s`;
  if (value < 3600) return `${Math.floor(value / 60)} min ${pad(Math.floor(value % 60))} s`;
  return `${Math.floor(value / 3600)} h ${pad(Math.floor((value % 3600) / 60))} min`;
}

/**
 * US dollars: `$12.35`, `$0.02`; four decimals below a cent (`$0.0042`).
 * @param {number | null | undefined} value
 * @returns {string}
 */
export function usd(value) {
  if (!Number.isFinite(value)) return "—";
  return value > 0 && value < 0.01 ? `$${value.toFixed(4)}` : `$${value.toFixed(2)}`;
}

/**
 * Where a level sits on the meter, 0–100 (%).
 * @param {number | null | undefined} db
 * @returns {number}
 */
export function meterPercent(db) {
  if (!Number.isFinite(db)) return 0;
  const pct = ((db - METER_FLOOR_DB) / -METER_FLOOR_DB) * 100;
  return Math.round(Math.min(100, Math.max(0, pct)) * 10) / 10;
}


/**
 * A size in bytes: `512 B`, `48.0 KiB`, `1.2 GiB`; "—" for a missing value.
 * @param {number | null | undefined} value
 * @returns {string}
 */
export function bytes(value) {
  if (!Number.isFinite(value)) return "—";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let size = value;
  let unit = 0;
  while (size >= 1024 && unit < units.length - 1) {
    size /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${size} B` : `${size.toFixed(1)} ${units[unit]}`;
}
