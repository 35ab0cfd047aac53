// The one HTTP client every adapter uses: undici with explicit timeouts and keep-alive.
// One attempt per call; retries belong to the caller (lib/sync/retry.ts), which re-signs each attempt.
// Only the Agent and the request API are imported, not undici's index: the index also evaluates fetch,
// WebSocket, the cache API, the mocks and every interceptor: 20-50 ms of a Lambda's cold import.
import dispatchRequest from "undici/lib/api/api-request.js";
import { parseURL } from "undici/lib/core/util.js";
import Agent from "undici/lib/dispatcher/agent.js";
import { TransportError } from "../errors.ts";

export interface HttpRequest {
  method: "GET" | "POST";
  url: string;
  headers: Record<string, string>;
  body?: string;
}

export interface HttpResponse {
  status: number;
  headers: Record<string, string | undefined>;
  body: string;
}

export interface HttpClient {
  send(req: HttpRequest): Promise<HttpResponse>;
  close(): Promise<void>;
}

export interface HttpOptions {
  connectTimeoutMs?: number;
  headersTimeoutMs?: number;
  bodyTimeoutMs?: number;
  /** Upper bound on a response body; a provider page larger than this is refused, not buffered. */
  maxBodyBytes?: number;
}

const NETWORK_CODES = new Set([
  "ECONNRESET",
  "ECONNREFUSED",
  "EPIPE",
  "ETIMEDOUT",
  "ENOTFOUND",
  "EAI_AGAIN",
  "UND_ERR_SOCKET",
  "UND_ERR_CONNECT_TIMEOUT",
  "UND_ERR_HEADERS_TIMEOUT",
  "UND_ERR_BODY_TIMEOUT",
  "UND_ERR_CLOSED",
]);

export function createHttpClient(opts: HttpOptions = {}): HttpClient {
  // undici's defaults (300 s header and body timeouts) are far too long for a Lambda.
  const agent = new Agent({
    connect: { timeout: opts.connectTimeoutMs ?? 5_000 },
    headersTimeout: opts.headersTimeoutMs ?? 20_000,
    bodyTimeout: opts.bodyTimeoutMs ?? 30_000,
    keepAliveTimeout: 10_000,
    connections: 32,
  });
  const maxBody = opts.maxBodyBytes ?? 64 * 1024 * 1024;
  return {
    async send(req) {
      try {
        // What undici's `request(url, { dispatcher: agent })` does: parse the URL, then the agent's request API.
        const url = parseURL(req.url);
        const res = await dispatchRequest.call(agent, {
          origin: url.origin,
          path: url.search ? `${url.pathname}${url.search}` : url.pathname,
          method: req.method,
          headers: req.headers,
          body: req.body,
        });
        const chunks: Buffer[] = [];
        let size = 0;
        for await (const chunk of res.body) {
          size += (chunk as Buffer).length;
          if (size > maxBody) {
            res.body.destroy();
            throw new TransportError("RESPONSE_TOO_LARGE", `response body over ${maxBody} bytes`, {
              retryable: false,
              context: { httpStatus: res.statusCode },
            });
          }
          chunks.push(chunk as Buffer);
        }
        const headers: Record<string, string | undefined> = {};
        for (const [k, v] of Object.entries(res.headers)) headers[k] = Array.isArray(v) ? v.join(", ") : v;
        return { status: res.statusCode, headers, body: Buffer.concat(chunks).toString("utf8") };
      } catch (e) {
        if (e instanceof TransportError) throw e;
        const code = (e as { code?: string }).code ?? "NETWORK_ERROR";
        const host = safeHost(req.url);
        throw new TransportError(code, `${req.method} ${host} failed: ${(e as Error).message}`, {
          retryable: NETWORK_CODES.has(code) || code === "NETWORK_ERROR",
          cause: e,
        });
      }
    },
    close: () => agent.close(),
  };
}

/** Scheme, host and path only: query strings may carry signatures and SecretIds, which never reach logs. */
export function safeHost(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return "<invalid url>";
  }
}

/** Parses Retry-After (seconds or an HTTP date) into milliseconds. */
export function retryAfterMs(value: string | undefined, nowMs: number): number | undefined {
  if (!value) return undefined;
  const secs = Number(value);
  if (Number.isFinite(secs) && secs >= 0) return secs * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}
