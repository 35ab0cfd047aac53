// Types for the three undici 7 modules lib/providers/http.ts imports directly instead of undici's index, which
// also evaluates fetch, WebSocket, the cache API, the mocks and every interceptor (a third of a cold start).
// undici 7 has no "exports" map, so these paths resolve; the shapes are undici's own exported types.
declare module "undici/lib/dispatcher/agent.js" {
  import type { Agent } from "undici";

  const AgentClass: typeof Agent;
  export default AgentClass;
}

declare module "undici/lib/api/api-request.js" {
  import type { Dispatcher } from "undici";

  /** `Dispatcher.prototype.request`, which undici's index installs on the prototype; call it with `this` set. */
  function request(this: Dispatcher, options: Dispatcher.RequestOptions): Promise<Dispatcher.ResponseData>;
  export default request;
}

declare module "undici/lib/core/util.js" {
  /** What undici's top-level `request(url, …)` parses its URL with (http and https only). */
  export function parseURL(url: string): URL;
}
