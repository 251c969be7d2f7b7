// The admin token of the status page and the door sign: read from the page's `?token=` once,
// kept in this tab's sessionStorage, and removed from the address bar (so it does not end up in
// history, bookmarks or a printed page's header).

import { takeToken } from "./access-token.js";

/** Where the admin token is kept for this tab (sessionStorage). */
export const TOKEN_KEY = "room-captions.admin-token";

/** This tab's sessionStorage, or null when storage is disabled (the token then lives in the page). */
export function tokenStorage() {
  try {
    return window.sessionStorage;
  } catch {
    return null;
  }
}

/** The token from the URL (then stored and removed from the address bar), else the stored one. */
export function readToken() {
  return takeToken({
    search: location.search, href: location.href, storage: tokenStorage(), key: TOKEN_KEY,
    replaceUrl: (url) => history.replaceState(history.state, "", url),
  });
}

/** Keep `token` for this tab, or forget it (null or ""). */
export function storeToken(token) {
  if (token) tokenStorage()?.setItem(TOKEN_KEY, token);
  else tokenStorage()?.removeItem(TOKEN_KEY);
}
