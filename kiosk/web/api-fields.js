// Safe readers of the fields of the server's JSON answers: a field that is missing or of the
// wrong type gets a default, never an exception. Pure.

/** The value if it is a string, else `fallback`. */
export const str = (value, fallback = "") => (typeof value === "string" ? value : fallback);

/** The value if it is a finite number, else null. */
export const num = (value) => (typeof value === "number" && Number.isFinite(value) ? value : null);

/** The strings of an array (nothing else); [] for anything but an array. */
export const strings = (value) =>
  Array.isArray(value) ? value.filter((v) => typeof v === "string") : [];

/** Whether the value is a plain object (not null, not an array). */
export const isObject = (value) =>
  value !== null && typeof value === "object" && !Array.isArray(value);

/** The `message` of an error body, or "". */
export const messageOf = (body) =>
  body !== null && typeof body === "object" && typeof body.message === "string"
    ? body.message : "";

/** The `error` code of an error body, or "". */
export const errorOf = (body) =>
  body !== null && typeof body === "object" && typeof body.error === "string" ? body.error : "";
