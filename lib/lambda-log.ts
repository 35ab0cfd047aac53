// The Lambda functions' logger: Powertools Logger (one JSON line per entry, with the service, cold start, the
// invocation's request id and function, the level from the function's configuration: AWS_LAMBDA_LOG_LEVEL when
// Lambda's JSON log format sets it, else POWERTOOLS_LOG_LEVEL, else INFO), behind the project's Logger
// interface, with the value-based secret redactor of lib/log.ts applied to every string in every line
// (messages, fields, error messages, stacks and causes). Its own module: the CLI and library do not bundle it.
import { Logger as PowertoolsLogger } from "@aws-lambda-powertools/logger";
import { type LogFields, type Logger, redactor } from "./log.ts";

/** The parts of Lambda's context object the logger reads. */
export interface LambdaContextLike {
  awsRequestId?: string;
  functionName?: string;
  functionVersion?: string;
  invokedFunctionArn?: string;
  memoryLimitInMB?: string;
  getRemainingTimeInMillis(): number;
}

export interface LambdaLogger extends Logger {
  /** Cold start, request id and function for the lines of this invocation. */
  addContext(context: LambdaContextLike): void;
  /** Correlation keys (run id, batch id) on every line until resetKeys(). */
  appendKeys(keys: LogFields): void;
  resetKeys(): void;
}

export interface LambdaLoggerOptions {
  /** Secret values that must never reach a line. */
  secrets?: readonly string[];
  serviceName?: string;
}

export function createLambdaLogger(opts: LambdaLoggerOptions = {}): LambdaLogger {
  const redact = redactor(opts.secrets ?? []);
  const logger = new PowertoolsLogger({
    serviceName: opts.serviceName ?? "image-sync",
    // Called for every key and value as the line is serialised (errors are formatted after it, and their
    // message, stack and cause strings then pass through it too).
    jsonReplacerFn: (_key: string, value: unknown) => (typeof value === "string" ? redact(value) : value),
  });
  const make = (base: LogFields): Logger => ({
    debug: (message, fields) => logger.debug(redact(message), { ...base, ...fields }),
    info: (message, fields) => logger.info(redact(message), { ...base, ...fields }),
    warn: (message, fields) => logger.warn(redact(message), { ...base, ...fields }),
    error: (message, fields) => logger.error(redact(message), { ...base, ...fields }),
    child: (fields) => make({ ...base, ...fields }),
  });
  return {
    ...make({}),
    addContext: (context) => logger.addContext(context as Parameters<PowertoolsLogger["addContext"]>[0]),
    appendKeys: (keys) => logger.appendKeys(keys),
    resetKeys: () => logger.resetKeys(),
  };
}
