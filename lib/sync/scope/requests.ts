// How one scope's requests reach its provider: counted, paced at the scope's rate limit and retried, the same
// way for every dialect. Acts: HTTP.
import type { AccountConfig } from "../../config.ts";
import type { HttpClient } from "../../providers/http.ts";
import { DEFAULT_REQUESTS_PER_SECOND } from "../../providers/index.ts";
import type { Page, PageQuery, ProviderAdapter } from "../../providers/types.ts";
import { Pacer } from "../pacer.ts";
import { type RetryDeps, type RetryPolicy, withRetry } from "../retry.ts";

/** An HttpClient that counts the requests sent through it. */
export function counting(http: HttpClient, counter: { requests: number }): HttpClient {
  return {
    send: (req) => {
      counter.requests++;
      return http.send(req);
    },
    close: () => Promise.resolve(),
  };
}

export interface RequestDeps {
  http: HttpClient;
  now: () => number;
  retry: RetryPolicy;
  retryDeps: RetryDeps;
  adapterFor: (account: AccountConfig, http: HttpClient) => ProviderAdapter;
  /** Requests per second for providers that publish no limit, unless the account sets one. */
  defaultRequestsPerSecond: number | undefined;
}

export interface ScopeRequests {
  /** The scope's adapter, over the counted client. */
  adapter: ProviderAdapter;
  /** The counted client, for adapters made per page (lib/sync/pages.ts). */
  http: HttpClient;
  pacer: Pacer;
  /** A lookup by id (lib/sync/confirm.ts): paced and retried like a page, never recognised from a digest. */
  lookupPage: (query: PageQuery) => Promise<Page>;
}

export function scopeRequests(deps: RequestDeps, account: AccountConfig, counter: { requests: number }): ScopeRequests {
  const http = counting(deps.http, counter);
  const adapter = deps.adapterFor(account, http);
  const rps =
    account.requestsPerSecond ??
    adapter.defaultRequestsPerSecond ??
    deps.defaultRequestsPerSecond ??
    DEFAULT_REQUESTS_PER_SECOND;
  const pacer = new Pacer(rps, deps.now);
  const lookupPage = (query: PageQuery) =>
    withRetry(
      async () => {
        await pacer.take();
        return adapter.fetchPage(query);
      },
      deps.retry,
      deps.retryDeps,
    );
  return { adapter, http, pacer, lookupPage };
}
