// app.js: what every page shares. Scripts read the CSRF token from the
// body's data-csrf attribute (no inline script may hold it) and send it
// as X-CSRF-Token with every state-changing request.

/** The page's CSRF token. */
export const csrf = () => document.body.dataset.csrf || "";

/** The page's language ("ko" or "en"). */
export const lang = () => document.body.dataset.lang || "ko";

/**
 * Calls the JSON API. Resolves to {ok, status, body}; body is the parsed
 * answer (the error envelope on failure) or null.
 */
export async function api(method, path, body, headers = {}) {
  const h = { Accept: "application/json", ...headers };
  if (method !== "GET" && method !== "HEAD") h["X-CSRF-Token"] = csrf();
  if (body !== undefined) h["Content-Type"] = "application/json";
  let res;
  try {
    res = await fetch(path, { method, headers: h, body: body === undefined ? undefined : JSON.stringify(body), credentials: "same-origin" });
  } catch {
    return { ok: false, status: 0, body: null };
  }
  let parsed = null;
  try { parsed = await res.json(); } catch { parsed = null; }
  return { ok: res.ok, status: res.status, body: parsed };
}
