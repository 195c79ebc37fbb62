// The pages. Each takes its route arguments and `{ signal, rerender }` and resolves to the nodes
// of <main>; API failures are thrown and shown by the router (401 asks for the token).

import { ApiError, allEndpoints, getJson, getText, hostApi, putJson } from "./api.js";
import { announce, count, counts, h, replace, time } from "./dom.js";

const HOSTS_REFRESH_MS = 5000;
const PAGE_SIZE = 100;
const EXCHANGES_SHOWN = 20;
const RULE_ENDPOINTS_SHOWN = 200;

function hostHref(host) {
  return `#/hosts/${encodeURIComponent(host)}`;
}

function endpointHref(host, method, path) {
  const params = new URLSearchParams({ method, path });
  return `${hostHref(host)}/endpoint?${params}`;
}

function breadcrumbs(...items) {
  return h(
    "nav",
    { "aria-label": "Breadcrumb", class: "crumbs" },
    h("ol", {}, items.map(([label, href]) => h("li", {}, href ? h("a", { href }, label) : h("span", { "aria-current": "page" }, label)))),
  );
}

// ---------------------------------------------------------------------------------------------
// Hosts

export async function hostsPage({ signal }) {
  const first = await getJson("/api/hosts");
  const body = h("tbody");
  const updated = h("p", { class: "muted", id: "hosts-updated" });
  const fill = (hosts) => {
    replace(
      body,
      hosts.length === 0
        ? h("tr", {}, h("td", { colspan: "6" }, "No traffic yet. Point a producer at /api/ingestData and this list fills in."))
        : hosts.map((row) =>
            h(
              "tr",
              {},
              h("th", { scope: "row" }, h("a", { href: hostHref(row.host) }, row.host)),
              h("td", { class: "num" }, count(row.endpoints)),
              h("td", { class: "num" }, count(row.exchanges)),
              h("td", {}, row.schemes.join(", ")),
              h("td", {}, time(row.first_seen)),
              h("td", {}, time(row.last_seen)),
            ),
          ),
    );
    updated.textContent = `Updated ${time(new Date().toISOString())}; refreshes every ${HOSTS_REFRESH_MS / 1000} s.`;
  };
  fill(first.hosts);
  // Refresh while traffic arrives; the router aborts the signal when the page is left.
  const timer = setInterval(async () => {
    try {
      const next = await getJson("/api/hosts");
      if (!signal.aborted) fill(next.hosts);
    } catch (e) {
      if (!signal.aborted) updated.textContent = `Refresh failed: ${e.message}`;
    }
  }, HOSTS_REFRESH_MS);
  signal.addEventListener("abort", () => clearInterval(timer));
  return [
    h("h1", { tabindex: "-1" }, "Hosts"),
    h(
      "table",
      { class: "data", id: "hosts" },
      h("caption", { class: "visually-hidden" }, "Hosts seen in the traffic"),
      h(
        "thead",
        {},
        h("tr", {}, ["Host", "Endpoints", "Exchanges", "Schemes", "First seen", "Last seen"].map((c) => h("th", { scope: "col" }, c))),
      ),
      body,
    ),
    updated,
  ];
}

// ---------------------------------------------------------------------------------------------
// Host: the endpoint table

const COLUMNS = [
  { key: "method", label: "Method", value: (e) => e.method },
  { key: "path", label: "Template", value: (e) => e.path },
  { key: "parameters", label: "Parameters", value: (e) => parameterText(e) },
  { key: "hits", label: "Hits", value: (e) => e.hits, numeric: true },
  { key: "status", label: "Status codes", value: (e) => Object.keys(e.status_codes).join(",") },
  { key: "types", label: "Content types", value: (e) => contentTypes(e) },
  { key: "last_seen", label: "Last seen", value: (e) => e.last_seen },
];

function parameterText(endpoint) {
  return endpoint.parameters
    .map((p) => `${p.name}: ${p.type}${p.format ? ` (${p.format})` : ""}`)
    .join(", ");
}

function contentTypes(endpoint) {
  const parts = [];
  const request = Object.keys(endpoint.request_content_types);
  const response = Object.keys(endpoint.response_content_types);
  if (request.length) parts.push(`request: ${request.join(", ")}`);
  if (response.length) parts.push(`response: ${response.join(", ")}`);
  return parts.join("; ");
}

async function download(host, format) {
  const type = format === "json" ? "application/json" : "application/yaml";
  const text = await getText(`${hostApi(host)}/openapi.${format}`, type);
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = h("a", { href: url, download: `${host.replace(/[^A-Za-z0-9._-]/g, "_")}.openapi.${format}` });
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

function hostLinks(host) {
  const status = h("span", { role: "status", class: "muted" });
  const downloadButton = (format) =>
    h(
      "button",
      {
        type: "button",
        onclick: async () => {
          status.textContent = "";
          try {
            await download(host, format);
          } catch (e) {
            status.textContent = `Download failed: ${e.message}`;
          }
        },
      },
      `Download ${format.toUpperCase()}`,
    );
  return h(
    "ul",
    { class: "actions", "aria-label": "Host documents" },
    h("li", {}, h("a", { href: `${hostHref(host)}/openapi/json` }, "OpenAPI (JSON)")),
    h("li", {}, h("a", { href: `${hostHref(host)}/openapi/yaml` }, "OpenAPI (YAML)")),
    h("li", {}, downloadButton("json")),
    h("li", {}, downloadButton("yaml")),
    h("li", {}, h("a", { href: `${hostHref(host)}/rules` }, "Rules")),
    h("li", {}, status),
  );
}

export async function hostPage(host, { signal }) {
  const state = { filter: "", method: "", sort: "path", descending: false, page: 0, includeNonApi: false };
  // The first page comes alone, so the table shows at once however big the host is; the rest
  // is fetched in the background, and filters, sorting and paging wait for it.
  const [first, hosts] = await Promise.all([
    getJson(`${hostApi(host)}/endpoints?limit=${PAGE_SIZE}`),
    getJson("/api/hosts"),
  ]);
  let endpoints = first.endpoints;
  let complete = !first.next_cursor;
  const total = hosts.hosts.find((row) => row.host === host)?.endpoints ?? endpoints.length;

  const filterInput = h("input", { id: "filter", type: "search", autocomplete: "off", spellcheck: "false" });
  const methodSelect = h("select", { id: "method" });
  const nonApi = h("input", { id: "non-api", type: "checkbox" });
  const summary = h("p", { id: "endpoint-summary", role: "status" });
  const thead = h("thead");
  const tbody = h("tbody");
  const prev = h("button", { type: "button" }, "Previous page");
  const next = h("button", { type: "button" }, "Next page");

  const fillMethods = () => {
    const methods = [...new Set(endpoints.map((e) => e.method))].sort();
    if (state.method && !methods.includes(state.method)) state.method = "";
    replace(methodSelect, h("option", { value: "" }, "All methods"), methods.map((m) => h("option", { value: m, selected: m === state.method }, m)));
  };

  const visible = () => {
    const needle = state.filter.toLowerCase();
    const column = COLUMNS.find((c) => c.key === state.sort);
    const rows = endpoints.filter(
      (e) => (!state.method || e.method === state.method) && (!needle || e.path.toLowerCase().includes(needle)),
    );
    const direction = state.descending ? -1 : 1;
    rows.sort((a, b) => {
      const x = column.value(a);
      const y = column.value(b);
      const order = column.numeric ? x - y : x < y ? -1 : x > y ? 1 : 0;
      return order * direction || (a.path < b.path ? -1 : a.path > b.path ? 1 : 0);
    });
    return rows;
  };

  const draw = () => {
    const rows = visible();
    const pages = Math.max(1, Math.ceil(rows.length / PAGE_SIZE));
    state.page = Math.min(state.page, pages - 1);
    const start = state.page * PAGE_SIZE;
    const shown = rows.slice(start, start + PAGE_SIZE);
    replace(
      thead,
      h(
        "tr",
        {},
        COLUMNS.map((c) => {
          const sorted = state.sort === c.key;
          return h(
            "th",
            { scope: "col", "aria-sort": sorted ? (state.descending ? "descending" : "ascending") : null },
            h(
              "button",
              {
                type: "button",
                class: "sort",
                onclick: () => {
                  state.descending = sorted ? !state.descending : Boolean(c.numeric);
                  state.sort = c.key;
                  state.page = 0;
                  draw();
                  thead.querySelector(`[data-key="${c.key}"]`)?.focus();
                },
                dataset: { key: c.key },
              },
              c.label,
              h("span", { "aria-hidden": "true", class: "arrow" }, sorted ? (state.descending ? " ▼" : " ▲") : ""),
            ),
          );
        }),
      ),
    );
    replace(
      tbody,
      shown.length === 0
        ? h("tr", {}, h("td", { colspan: String(COLUMNS.length) }, endpoints.length ? "No endpoint matches the filter." : "No endpoints yet."))
        : shown.map((e) =>
            h(
              "tr",
              { dataset: { method: e.method, path: e.path } },
              h("td", {}, h("span", { class: `method method-${e.method.toLowerCase()}` }, e.method)),
              h("th", { scope: "row", class: "path" }, h("a", { href: endpointHref(host, e.method, e.path) }, e.path)),
              h("td", {}, parameterText(e)),
              h("td", { class: "num hits" }, count(e.hits)),
              h("td", {}, counts(e.status_codes)),
              h("td", {}, contentTypes(e)),
              h("td", { class: "nowrap" }, time(e.last_seen)),
            ),
          ),
    );
    if (!complete) {
      summary.textContent = `Showing ${count(start + 1)}–${count(start + shown.length)} of ${count(total)} endpoints; loading the rest for filtering and sorting…`;
    } else {
      summary.textContent = rows.length
        ? `Showing ${count(start + 1)}–${count(start + shown.length)} of ${count(rows.length)} endpoints` +
          (rows.length !== endpoints.length ? ` (${count(endpoints.length)} in all)` : "") +
          `, page ${state.page + 1} of ${pages}.`
        : `No endpoints shown (${count(endpoints.length)} in all).`;
    }
    prev.disabled = !complete || state.page === 0;
    next.disabled = !complete || state.page >= pages - 1;
    for (const control of [filterInput, methodSelect, nonApi, ...thead.querySelectorAll("button")]) control.disabled = !complete;
  };

  filterInput.addEventListener("input", () => {
    state.filter = filterInput.value;
    state.page = 0;
    draw();
  });
  methodSelect.addEventListener("change", () => {
    state.method = methodSelect.value;
    state.page = 0;
    draw();
  });
  nonApi.addEventListener("change", async () => {
    state.includeNonApi = nonApi.checked;
    complete = false;
    draw();
    let loaded;
    try {
      loaded = await allEndpoints(host, { includeNonApi: state.includeNonApi, signal });
    } catch (e) {
      if (!signal.aborted) summary.textContent = `Loading failed: ${e.message}`;
      return;
    }
    if (signal.aborted) return;
    endpoints = loaded;
    complete = true;
    fillMethods();
    draw();
    nonApi.focus();
  });
  if (!complete) {
    allEndpoints(host, { after: first.next_cursor, signal }).then(
      (rest) => {
        if (signal.aborted) return;
        endpoints = endpoints.concat(rest);
        complete = true;
        fillMethods();
        draw();
      },
      (e) => {
        if (!signal.aborted) summary.textContent = `Loading the full list failed: ${e.message}`;
      },
    );
  }
  prev.addEventListener("click", () => {
    state.page -= 1;
    draw();
  });
  next.addEventListener("click", () => {
    state.page += 1;
    draw();
  });

  fillMethods();
  draw();
  return [
    breadcrumbs(["Hosts", "#/"], [host]),
    h("h1", { tabindex: "-1" }, host),
    hostLinks(host),
    h(
      "div",
      { class: "filters", role: "search" },
      h("div", {}, h("label", { for: "filter" }, "Filter templates"), filterInput),
      h("div", {}, h("label", { for: "method" }, "Method"), methodSelect),
      h("div", { class: "check" }, nonApi, h("label", { for: "non-api" }, "Include static assets and pages")),
    ),
    summary,
    h("table", { class: "data", id: "endpoints" }, h("caption", { class: "visually-hidden" }, `Endpoints of ${host}; column headers sort`), thead, tbody),
    h("nav", { class: "pager", "aria-label": "Pages" }, prev, next),
  ];
}

// ---------------------------------------------------------------------------------------------
// Endpoint: its part of the spec and its recent exchanges

/** The endpoint `method path` of a host, found through the list's own filters. */
async function findEndpoint(host, method, path) {
  const params = new URLSearchParams({ method, path_prefix: path, include_non_api: "true", limit: "1000" });
  const page = await getJson(`${hostApi(host)}/endpoints?${params}`);
  return page.endpoints.find((e) => e.method === method && e.path === path) ?? null;
}

/** The operation and every schema it references, from the host's OpenAPI document. */
function operationOf(document, method, path) {
  const operation = document?.paths?.[path]?.[method.toLowerCase()];
  if (!operation) return null;
  const schemas = document?.components?.schemas ?? {};
  const referenced = {};
  const pending = [operation];
  while (pending.length) {
    const value = pending.pop();
    if (Array.isArray(value)) pending.push(...value);
    else if (value && typeof value === "object") {
      const ref = value.$ref;
      if (typeof ref === "string" && ref.startsWith("#/components/schemas/")) {
        const name = ref.slice("#/components/schemas/".length);
        if (!(name in referenced) && name in schemas) {
          referenced[name] = schemas[name];
          pending.push(schemas[name]);
        }
      }
      pending.push(...Object.values(value));
    }
  }
  return { operation, schemas: referenced };
}

function isJsonType(contentType) {
  return /^application\/([\w.+-]+\+)?json\b/i.test(contentType ?? "") || /[+/]json\b/i.test(contentType ?? "");
}

/** A body as text: pretty JSON when it parses, marked when truncated or binary. */
function bodyView(message, label) {
  if (!message || message.body_size === 0) return h("p", { class: "muted" }, `No ${label.toLowerCase()} body.`);
  const notes = [];
  let text = message.body;
  if (message.body_encoding === "base64") {
    notes.push(`binary, ${count(message.body_size)} bytes, shown as base64`);
  } else if (isJsonType(message.content_type) && !message.body_truncated) {
    try {
      text = JSON.stringify(JSON.parse(message.body), null, 2);
    } catch {
      notes.push("not valid JSON, shown as received");
    }
  }
  return h(
    "div",
    { class: "body" },
    message.body_truncated
      ? h("p", { class: "badge truncated" }, `Truncated: only the first ${count(message.body_size)} bytes were kept.`)
      : null,
    notes.length ? h("p", { class: "muted" }, notes.join("; ")) : null,
    h("pre", { tabindex: "0", "aria-label": `${label} body` }, h("code", {}, text)),
  );
}

function headersView(headers, label) {
  if (!headers.length) return h("p", { class: "muted" }, `No ${label.toLowerCase()} headers.`);
  return h(
    "table",
    { class: "headers" },
    h("caption", { class: "visually-hidden" }, `${label} headers`),
    h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Header"), h("th", { scope: "col" }, "Value"))),
    h("tbody", {}, headers.map((x) => h("tr", {}, h("th", { scope: "row" }, x.name), h("td", {}, x.value)))),
  );
}

function exchangeView(exchange, open) {
  const target = exchange.query ? `${exchange.raw_path}?${exchange.query}` : exchange.raw_path;
  return h(
    "details",
    { class: "exchange", open, dataset: { id: String(exchange.id) } },
    h(
      "summary",
      {},
      h("span", { class: "method" }, exchange.method),
      " ",
      h("span", { class: "target" }, target),
      ` → ${exchange.status ?? "no response"} · ${time(exchange.observed_at)}`,
    ),
    h(
      "div",
      { class: "messages" },
      h(
        "section",
        { "aria-label": "Request" },
        h("h3", {}, "Request"),
        h("p", { class: "muted" }, `${exchange.scheme}://${exchange.host}:${exchange.port} from ${exchange.client_address ?? "unknown client"} via ${exchange.source}`),
        headersView(exchange.request.headers, "Request"),
        bodyView(exchange.request, "Request"),
      ),
      h(
        "section",
        { "aria-label": "Response" },
        h("h3", {}, "Response"),
        exchange.response
          ? [headersView(exchange.response.headers, "Response"), bodyView(exchange.response, "Response")]
          : h("p", { class: "muted" }, "No response was recorded."),
      ),
    ),
  );
}

export async function endpointPage(host, method, path) {
  const endpoint = await findEndpoint(host, method, path);
  const title = `${method} ${path}`;
  const crumbs = breadcrumbs(["Hosts", "#/"], [host, hostHref(host)], [title]);
  if (!endpoint) {
    return [crumbs, h("h1", { tabindex: "-1" }, title), h("p", { role: "alert" }, "This endpoint is not in the catalog (any more): rules or a merge may have renamed it.")];
  }
  const [exchanges, spec] = await Promise.all([
    getJson(`/api/exchanges?${new URLSearchParams({ endpoint_id: String(endpoint.id), limit: String(EXCHANGES_SHOWN) })}`),
    getJson(`${hostApi(host)}/openapi.json`).then(
      (document) => operationOf(document, method, path),
      (e) => (e instanceof ApiError && e.status !== 401 ? { error: e.message } : Promise.reject(e)),
    ),
  ]);
  const facts = h(
    "dl",
    { class: "facts" },
    [
      ["Hits", count(endpoint.hits)],
      ["Parameters", parameterText(endpoint) || "none"],
      ["Status codes", counts(endpoint.status_codes) || "none"],
      ["Request types", counts(endpoint.request_content_types) || "none"],
      ["Response types", counts(endpoint.response_content_types) || "none"],
      ["First seen", time(endpoint.first_seen)],
      ["Last seen", time(endpoint.last_seen)],
    ].map(([k, v]) => h("div", {}, h("dt", {}, k), h("dd", {}, v))),
  );
  let specView;
  if (!spec) specView = h("p", { class: "muted" }, "This endpoint is not in the OpenAPI document yet.");
  else if (spec.error) specView = h("p", { class: "error" }, `The OpenAPI document could not be loaded: ${spec.error}`);
  else
    specView = [
      h("pre", { tabindex: "0", id: "operation", "aria-label": "Operation" }, h("code", {}, JSON.stringify(spec.operation, null, 2))),
      Object.keys(spec.schemas).length
        ? [h("h3", {}, "Referenced schemas"), h("pre", { tabindex: "0", "aria-label": "Referenced schemas" }, h("code", {}, JSON.stringify(spec.schemas, null, 2)))]
        : null,
    ];
  const list = exchanges.exchanges;
  return [
    crumbs,
    h("h1", { tabindex: "-1" }, h("span", { class: `method method-${method.toLowerCase()}` }, method), " ", h("span", { class: "path" }, path)),
    facts,
    h("section", { "aria-labelledby": "exchanges-heading" }, h("h2", { id: "exchanges-heading" }, `Recent exchanges (${list.length})`),
      h("p", { class: "muted" }, "As stored: secrets were redacted on arrival."),
      list.length ? list.map((x, i) => exchangeView(x, i === 0)) : h("p", {}, "No exchanges are stored for this endpoint.")),
    h("section", { "aria-labelledby": "spec-heading" }, h("h2", { id: "spec-heading" }, "In the OpenAPI document"), specView),
  ];
}

// ---------------------------------------------------------------------------------------------
// OpenAPI document

export async function openapiPage(host, format) {
  const type = format === "json" ? "application/json" : "application/yaml";
  const text = await getText(`${hostApi(host)}/openapi.${format}`, type);
  return [
    breadcrumbs(["Hosts", "#/"], [host, hostHref(host)], [`OpenAPI (${format.toUpperCase()})`]),
    h("h1", { tabindex: "-1" }, `OpenAPI document of ${host}`),
    hostLinks(host),
    h("pre", { tabindex: "0", id: "document", "aria-label": "OpenAPI document" }, h("code", {}, text)),
  ];
}

// ---------------------------------------------------------------------------------------------
// Rules

function lines(text) {
  return text
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean);
}

/** The first problem the browser can see in one list, or null; the server checks the rest. */
function checkLines(kind, values) {
  for (const value of values) {
    if (!value.startsWith("/")) return `\`${value}\` must start with "/".`;
    if (kind === "literals" && /[{}]/.test(value)) return `\`${value}\` is not a literal path: it has braces.`;
  }
  return null;
}

function ruleList(values, empty) {
  return values.length ? h("ul", { class: "rules" }, values.map((v) => h("li", {}, h("code", {}, v)))) : h("p", { class: "muted" }, empty);
}

export async function rulesPage(host) {
  const [rules, endpoints] = await Promise.all([getJson(`${hostApi(host)}/rules`), allEndpoints(host)]);
  const field = (kind, label, help, values) => {
    const textarea = h("textarea", { id: kind, name: kind, rows: "6", spellcheck: "false", "aria-describedby": `${kind}-help ${kind}-error` });
    textarea.value = values.join("\n");
    const error = h("p", { id: `${kind}-error`, class: "error field-error" });
    return { kind, textarea, error, node: h("div", { class: "field" }, h("label", { for: kind }, label), h("p", { id: `${kind}-help`, class: "help" }, help), textarea, error) };
  };
  const templates = field("templates", "Templates", "One per line, e.g. /repos/{owner}/{repo} or /items/{id:integer}. Matching paths are counted under the template.", rules.stored.templates);
  const literals = field("literals", "Literals", "One per line, e.g. /users/me. These paths stay as they are, never a parameter.", rules.stored.literals);
  const fields = [templates, literals];
  const result = h("div", { id: "rules-result", role: "status" });
  const endpointList = h("ul", { id: "rule-endpoints", class: "compact" });
  const drawEndpoints = (list) => {
    const shown = list.slice(0, RULE_ENDPOINTS_SHOWN);
    replace(
      endpointList,
      shown.length
        ? shown.map((e) => h("li", {}, h("a", { href: endpointHref(host, e.method, e.path) }, `${e.method} ${e.path}`), ` (${count(e.hits)} hits)`))
        : h("li", {}, "No endpoints yet."),
      list.length > shown.length ? h("li", {}, h("a", { href: hostHref(host) }, `and ${count(list.length - shown.length)} more`)) : null,
    );
  };
  drawEndpoints(endpoints);
  const save = h("button", { type: "submit" }, "Save and re-apply");

  const showError = (target, message) => {
    for (const f of fields) {
      const mine = f === target;
      f.error.textContent = mine ? message : "";
      if (mine) f.textarea.setAttribute("aria-invalid", "true");
      else f.textarea.removeAttribute("aria-invalid");
    }
    target.textarea.focus();
  };
  const clearErrors = () => {
    for (const f of fields) {
      f.error.textContent = "";
      f.textarea.removeAttribute("aria-invalid");
    }
  };

  const form = h(
    "form",
    {
      id: "rules-form",
      novalidate: true,
      onsubmit: async (event) => {
        event.preventDefault();
        clearErrors();
        result.textContent = "";
        const body = { templates: lines(templates.textarea.value), literals: lines(literals.textarea.value) };
        for (const f of fields) {
          const problem = checkLines(f.kind, body[f.kind]);
          if (problem) return showError(f, problem);
        }
        save.disabled = true;
        result.textContent = "Saving and re-reading the stored traffic…";
        try {
          const updated = await putJson(`${hostApi(host)}/rules`, body);
          // The catalog is rebuilt in the background: follow it until it ends.
          let rebuild = updated.rebuild;
          while (rebuild.state === "running") {
            result.textContent = `Rules stored; re-reading the stored traffic: ${count(rebuild.exchanges_read)} exchanges so far…`;
            await new Promise((resolve) => setTimeout(resolve, 250));
            rebuild = await getJson(`${hostApi(host)}/rebuild`);
          }
          if (rebuild.state === "failed") throw new Error(`the rules are saved, but rebuilding the catalog failed: ${rebuild.error}`);
          result.textContent = `Saved. ${count(rebuild.exchanges_read)} exchanges re-read; ${count(rebuild.endpoints)} endpoints now.`;
          drawEndpoints(await allEndpoints(host));
          announce("Rules saved");
        } catch (e) {
          result.textContent = "";
          if (e instanceof ApiError && e.status === 400) {
            // The server names the offending entry in backquotes; put the message under its list.
            const named = /`([^`]*)`/.exec(e.message)?.[1];
            const target = fields.find((f) => named !== undefined && body[f.kind].includes(named)) ?? templates;
            showError(target, e.message);
          } else {
            result.textContent = `Saving failed: ${e.message}`;
          }
        } finally {
          save.disabled = false;
        }
      },
    },
    templates.node,
    literals.node,
    save,
    result,
  );
  const configured = rules.configured;
  return [
    breadcrumbs(["Hosts", "#/"], [host, hostHref(host)], ["Rules"]),
    h("h1", { tabindex: "-1" }, `Rules for ${host}`),
    h("p", {}, "Saving replaces the stored rules and rebuilds the host's catalog from its stored traffic."),
    form,
    h(
      "section",
      { "aria-labelledby": "configured-heading" },
      h("h2", { id: "configured-heading" }, "From the configuration file"),
      h("p", { class: "muted" }, "Read-only here; edit the configuration to change them."),
      h("h3", {}, "Templates"),
      ruleList(configured.templates, "None."),
      h("h3", {}, "Literals"),
      ruleList(configured.literals, "None."),
    ),
    h("section", { "aria-labelledby": "rule-endpoints-heading" }, h("h2", { id: "rule-endpoints-heading" }, "Endpoints"), endpointList),
  ];
}
