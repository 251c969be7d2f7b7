// The access token in addresses and requests: read it from a page's query, take it out of an
// address, add it to a link, send it as `Authorization: Bearer`. Pure; where the status page
// and the door sign keep the admin token is admin-token.js.

/**
 * The `token` query parameter of a page URL, or null when absent or empty.
 * @param {string | URLSearchParams} search e.g. `location.search`
 * @returns {string | null}
 */
export function tokenFromSearch(search) {
  const params = search instanceof URLSearchParams ? search : new URLSearchParams(search ?? "");
  const token = (params.get("token") ?? "").trim();
  return token === "" ? null : token;
}

/**
 * The page URL without its `token` parameter (so the secret does not stay in the address bar,
 * the history or a screenshot).
 * @param {string} href e.g. `location.href`
 * @returns {string}
 */
export function withoutToken(href) {
  const url = new URL(href);
  url.searchParams.delete("token");
  return url.pathname + (url.search === "?" ? "" : url.search) + url.hash;
}

/**
 * `path` with `?token=` (or `&token=`) appended when a token is known.
 * @param {string} path
 * @param {string | null} token
 * @returns {string}
 */
export function withToken(path, token) {
  if (!token) return path;
  return `${path}${path.includes("?") ? "&" : "?"}token=${encodeURIComponent(token)}`;
}

/**
 * Headers for fetch(): the token as `Authorization: Bearer`, when there is one.
 * @param {string | null} token
 * @param {Record<string, string>} [extra]
 * @returns {Record<string, string>}
 */
export function authHeaders(token, extra = {}) {
  return token ? { ...extra, Authorization: `Bearer ${token}` } : { ...extra };
}

/**
 * The page's token, taken out of its address: from `?token=` (then kept in `storage` under
 * `key` and the address replaced by `replaceUrl(withoutToken(href))`, so the secret leaves the
 * address bar, the history and any screenshot), else the one kept earlier in this tab (a reload
 * or a reconnect after the address was cleaned). Pure: the page passes its location, storage
 * and history.
 * @param {{search: string, href: string, storage: Storage | null, key: string,
 *          replaceUrl: (url: string) => void}} page
 * @returns {string | null}
 */
export function takeToken({ search, href, storage, key, replaceUrl }) {
  const fromUrl = tokenFromSearch(search);
  if (fromUrl !== null) {
    try {
      storage?.setItem(key, fromUrl);
    } catch {
      // storage full or refused: the token lives in the page until it is closed
    }
    replaceUrl(withoutToken(href));
    return fromUrl;
  }
  try {
    return storage?.getItem(key) || null;
  } catch {
    return null;
  }
}
