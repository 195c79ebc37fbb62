// The router: `#/…` routes render into <main>. Hash routes keep the server to static files and
// keep page state out of request URLs (a fragment is never sent to the server).

import { ApiError, forgetToken, setToken, token } from "./api.js";
import { h, replace, announce } from "./dom.js";
import { endpointPage, hostPage, hostsPage, openapiPage, rulesPage } from "./pages.js";

const main = document.getElementById("main");
const session = document.getElementById("session");

/** `#/hosts/{host}/…` → a page function and its arguments. */
function resolve(hash) {
  const [path, query = ""] = hash.replace(/^#/, "").split("?");
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  const params = new URLSearchParams(query);
  if (parts.length === 0) return { page: hostsPage, args: [] };
  if (parts[0] === "hosts" && parts.length >= 2) {
    const host = parts[1];
    if (parts.length === 2) return { page: hostPage, args: [host] };
    if (parts.length === 3 && parts[2] === "rules") return { page: rulesPage, args: [host] };
    if (parts.length === 3 && parts[2] === "endpoint")
      return { page: endpointPage, args: [host, params.get("method") ?? "", params.get("path") ?? ""] };
    if (parts.length === 4 && parts[2] === "openapi" && (parts[3] === "json" || parts[3] === "yaml"))
      return { page: openapiPage, args: [host, parts[3]] };
  }
  return null;
}

let current = null;

async function render() {
  // Pages may start timers (the hosts page refreshes); stop the previous page's.
  current?.abort();
  const controller = new AbortController();
  current = controller;
  renderSession();
  let route = null;
  try {
    route = resolve(location.hash || "#/");
  } catch {
    // A malformed escape in a hand-typed address: treat it as an unknown page.
  }
  const started = performance.now();
  main.removeAttribute("data-ready");
  if (!route) {
    replace(main, h("h1", { tabindex: "-1" }, "Not found"), h("p", {}, h("a", { href: "#/" }, "Back to the hosts")));
    focusHeading();
    return;
  }
  replace(main, h("p", { class: "loading" }, "Loading…"));
  try {
    const content = await route.page(...route.args, { signal: controller.signal, rerender: render });
    if (controller.signal.aborted) return;
    replace(main, content);
  } catch (e) {
    if (controller.signal.aborted) return;
    if (e instanceof ApiError && e.status === 401) {
      const rejected = Boolean(token());
      forgetToken();
      renderSession();
      replace(main, tokenForm(rejected));
    } else {
      replace(
        main,
        h("h1", { tabindex: "-1" }, "Something went wrong"),
        h("p", { class: "error", role: "alert" }, e instanceof ApiError ? e.message : String(e)),
        h("p", {}, h("a", { href: "#/" }, "Back to the hosts")),
      );
    }
  }
  main.dataset.ready = "true";
  main.dataset.renderMs = String(Math.round(performance.now() - started));
  // Since the navigation began: the document, the modules, the API calls and the rendering.
  main.dataset.readyAtMs = String(Math.round(performance.now()));
  focusHeading();
}

function focusHeading() {
  // Move focus to the new page's heading so keyboard and screen reader users start there.
  const heading = main.querySelector("#token") ?? main.querySelector("h1");
  if (heading) heading.focus({ preventScroll: false });
}

function renderSession() {
  if (token()) {
    replace(
      session,
      h(
        "button",
        {
          type: "button",
          class: "link",
          onclick: () => {
            forgetToken();
            announce("Token forgotten");
            render();
          },
        },
        "Forget token",
      ),
    );
  } else {
    replace(session);
  }
}

/** Asks for the read token once; it is kept for this tab only. */
function tokenForm(rejected) {
  const input = h("input", {
    id: "token",
    name: "token",
    type: "password",
    autocomplete: "off",
    required: true,
    "aria-describedby": "token-help",
  });
  const form = h(
    "form",
    {
      class: "token",
      onsubmit: (event) => {
        event.preventDefault();
        const value = input.value.trim();
        if (!value) return;
        setToken(value);
        render();
      },
    },
    h("label", { for: "token" }, "Read token"),
    input,
    h(
      "p",
      { id: "token-help", class: "help" },
      "Sent as a Bearer token to this server's API; kept only until this tab is closed.",
    ),
    rejected ? h("p", { class: "error", role: "alert" }, "That token was not accepted.") : null,
    h("button", { type: "submit" }, "Continue"),
  );
  return [h("h1", { tabindex: "-1" }, "This server needs a read token"), form];
}

window.addEventListener("hashchange", render);
render();
