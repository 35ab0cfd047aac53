// The functions' logger: Powertools Logger lines (cold start, request id, level from the function's
// configuration, correlation keys, errors with their cause) with every secret value redacted.
import { afterEach, describe, expect, it, vi } from "vitest";
import { createLambdaLogger } from "../../lib/lambda-log.ts";

const SECRET = "s3cr3t-K3y-value";

/** The JSON lines the logger printed (Powertools writes info to stdout, warnings and errors to stderr). */
function capture(): { lines: () => Record<string, unknown>[]; text: () => string } {
  const chunks: string[] = [];
  const write = (chunk: string | Uint8Array) => {
    chunks.push(String(chunk));
    return true;
  };
  vi.spyOn(process.stdout, "write").mockImplementation(write);
  vi.spyOn(process.stderr, "write").mockImplementation(write);
  const text = () => chunks.join("");
  return {
    text,
    lines: () =>
      text()
        .split("\n")
        .filter((l) => l.startsWith("{"))
        .map((l) => JSON.parse(l)),
  };
}

const context = (awsRequestId: string) => ({
  awsRequestId,
  functionName: "image-sync-dev-sync",
  functionVersion: "$LATEST",
  invokedFunctionArn: "arn:aws:lambda:eu-central-1:123456789012:function:image-sync-dev-sync",
  memoryLimitInMB: "1024",
  getRemainingTimeInMillis: () => 900_000,
});

afterEach(() => {
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
});

describe("the Lambda logger", () => {
  it("logs cold start, the request id, the function and the service, and only the first invocation is cold", () => {
    // Lambda sets this for an on-demand execution environment (not for provisioned concurrency).
    vi.stubEnv("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand");
    const out = capture();
    const log = createLambdaLogger();
    log.addContext(context("req-1"));
    log.info("first");
    log.addContext(context("req-2"));
    log.info("second");
    const [first, second] = out.lines();
    expect(first).toMatchObject({
      level: "INFO",
      message: "first",
      service: "image-sync",
      cold_start: true,
      function_request_id: "req-1",
      function_name: "image-sync-dev-sync",
    });
    expect(second).toMatchObject({ message: "second", cold_start: false, function_request_id: "req-2" });
    expect(typeof first?.timestamp).toBe("string");
  });

  it("takes its level from AWS_LAMBDA_LOG_LEVEL, which Lambda sets from the function's logging configuration", () => {
    vi.stubEnv("AWS_LAMBDA_LOG_LEVEL", "WARN");
    const out = capture();
    const log = createLambdaLogger();
    log.debug("debug line");
    log.info("info line");
    log.warn("warn line");
    expect(out.lines().map((l) => l.message)).toEqual(["warn line"]);
  });

  it("puts the correlation keys on every line, children's lines too, until they are reset", () => {
    const out = capture();
    const log = createLambdaLogger();
    log.appendKeys({ runId: "run-1", batchId: "b-7" });
    log.info("batch started");
    log.child({ account: "a", scope: "s" }).warn("scope slow");
    log.resetKeys();
    log.info("after");
    const [started, slow, after] = out.lines();
    expect(started).toMatchObject({ runId: "run-1", batchId: "b-7" });
    expect(slow).toMatchObject({ runId: "run-1", batchId: "b-7", account: "a", scope: "s", level: "WARN" });
    expect(after?.runId).toBeUndefined();
  });

  it("logs an error with its name, message, stack and cause", () => {
    const out = capture();
    const log = createLambdaLogger();
    const cause = new Error("connect ECONNREFUSED 127.0.0.1:443");
    log.error("batch failed", { error: new Error("sweep failed", { cause }) });
    const [line] = out.lines();
    expect(line).toMatchObject({
      level: "ERROR",
      error: { name: "Error", message: "sweep failed", cause: { name: "Error", message: cause.message } },
    });
    expect(String((line?.error as { stack?: string } | undefined)?.stack)).toContain("sweep failed");
  });

  it("never prints a secret value: not in the message, a field, a nested value, an error, its stack or its cause", () => {
    const out = capture();
    const log = createLambdaLogger({ secrets: [SECRET] });
    log.appendKeys({ correlation: `x-${SECRET}` });
    log.info(`signed with ${SECRET}`, { header: `Bearer ${SECRET}`, nested: { list: [SECRET] } });
    const cause = new Error(`auth ${SECRET} rejected`);
    log.error("failed", { error: new Error(`request with ${SECRET}`, { cause }) });
    log.child({ key: SECRET }).warn("child");
    expect(out.lines()).toHaveLength(3);
    expect(out.text()).not.toContain(SECRET);
    expect(out.text()).toContain("Bearer ***");
    expect(out.text()).toContain("auth *** rejected");
  });
});
