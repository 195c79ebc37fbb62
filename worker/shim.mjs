// The Worker's entry module: hands each request to the Rust `fetch` handler.
import * as worker from "./index.js";

export default {
  async fetch(request, env, ctx) {
    return worker.fetch(request, env, ctx);
  },
};
