// Calls the JSON API with the read token, exactly as curl would. The token lives in
// sessionStorage (gone when the tab closes), is sent only as an Authorization header, and never
// appears in a URL or a log.

const TOKEN_KEY = "reconstructor.read-token";

/** A non-2xx answer, with the API's `error` code and `message`. */
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export function token() {
  try {
    return sessionStorage.getItem(TOKEN_KEY);
  } catch {
    return null;
  }
}

export function setToken(value) {
  sessionStorage.setItem(TOKEN_KEY, value);
}

export function forgetToken() {
  sessionStorage.removeItem(TOKEN_KEY);
}

/** Sends a request to this server; resolves to the Response, or throws an ApiError. */
export async function request(path, { method = "GET", body, accept = "application/json" } = {}) {
  const headers = { Accept: accept };
  const t = token();
  if (t) headers.Authorization = `Bearer ${t}`;
  const init = { method, headers, cache: "no-store", credentials: "omit", referrerPolicy: "no-referrer" };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (e) {
    throw new ApiError(0, "network", `The server could not be reached (${e.message}).`);
  }
  if (!response.ok) {
    let code = `http_${response.status}`;
    let message = response.statusText || `HTTP ${response.status}`;
    try {
      const problem = await response.json();
      if (typeof problem.error === "string") code = problem.error;
      if (typeof problem.message === "string") message = problem.message;
    } catch {
      // Not a JSON error body: keep the status line.
    }
    throw new ApiError(response.status, code, message);
  }
  return response;
}

export async function getJson(path) {
  return (await request(path)).json();
}

export async function getText(path, accept) {
  return (await request(path, { accept })).text();
}

export async function putJson(path, body) {
  return (await request(path, { method: "PUT", body })).json();
}

/** `/api/hosts/{host}`, the host key encoded as one path segment. */
export function hostApi(host) {
  return `/api/hosts/${encodeURIComponent(host)}`;
}

/**
 * Every endpoint of a host, following `next_cursor` page by page.
 * `includeNonApi`: also static assets and pages; `after`: a `next_cursor` to continue from.
 */
export async function allEndpoints(host, { includeNonApi = false, pageSize = 5000, after = null, signal } = {}) {
  const endpoints = [];
  let cursor = after;
  do {
    if (signal?.aborted) break;
    const params = new URLSearchParams({ limit: String(pageSize) });
    if (includeNonApi) params.set("include_non_api", "true");
    if (cursor) params.set("cursor", cursor);
    const page = await getJson(`${hostApi(host)}/endpoints?${params}`);
    endpoints.push(...page.endpoints);
    cursor = page.next_cursor;
  } while (cursor);
  return endpoints;
}
