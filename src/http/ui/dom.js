// Builds DOM nodes. Text is always set as text (never parsed as markup), so whatever the traffic
// holds, a path, a header or a body, is shown as typed and cannot run.

/**
 * Creates an element. `attrs`: attributes, except `on<event>` (a listener) and `dataset`/`text`.
 * Children: nodes, strings (as text nodes), numbers, or arrays of those; null/false are skipped.
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs ?? {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") {
      el.addEventListener(key.slice(2).toLowerCase(), value);
    } else if (key === "dataset") {
      Object.assign(el.dataset, value);
    } else if (key === "text") {
      el.textContent = String(value);
    } else if (value === true) {
      el.setAttribute(key, "");
    } else {
      el.setAttribute(key, String(value));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else if (child instanceof Node) el.appendChild(child);
    else el.appendChild(document.createTextNode(String(child)));
  }
}

/** Replaces the children of `el`. */
export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
}

/** `2025-11-21 04:40:00Z` from an RFC 3339 time; stable and unambiguous in every locale. */
export function time(rfc3339) {
  const d = new Date(rfc3339);
  if (Number.isNaN(d.getTime())) return String(rfc3339 ?? "");
  return d.toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z");
}

const numberFormat = new Intl.NumberFormat("en");

/** `10,000`. */
export function count(n) {
  return numberFormat.format(n);
}

/** `200 (30), 404 (2)` from `{"200": 30, "404": 2}`. */
export function counts(map) {
  return Object.entries(map ?? {})
    .map(([key, n]) => `${key} (${count(n)})`)
    .join(", ");
}

/** Says `message` to screen readers without moving focus. */
export function announce(message) {
  const el = document.getElementById("announcer");
  if (el) el.textContent = message;
}
