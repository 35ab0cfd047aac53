// One logger interface for the CLI (readable lines on stderr) and Lambda (JSON lines).
// Every line passes through redaction: known secret values never reach a log.

export type LogLevel = "debug" | "info" | "warn" | "error";
export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  /** A logger that adds `fields` to every line. */
  child(fields: LogFields): Logger;
}

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** Replaces every occurrence of a secret (4+ characters) with "***". */
export function redactor(secrets: readonly string[]): (text: string) => string {
  const list = [...new Set(secrets.filter((s) => s.length >= 4))].sort((a, b) => b.length - a.length);
  if (list.length === 0) return (t) => t;
  return (text) => {
    let out = text;
    for (const s of list) if (out.includes(s)) out = out.split(s).join("***");
    return out;
  };
}

export interface LoggerOptions {
  level?: LogLevel;
  format?: "json" | "text";
  secrets?: readonly string[];
  write?: (line: string) => void;
  base?: LogFields;
}

export function createLogger(opts: LoggerOptions = {}): Logger {
  const min = ORDER[opts.level ?? "info"];
  const redact = redactor(opts.secrets ?? []);
  const write = opts.write ?? ((line: string) => process.stderr.write(`${line}\n`));
  const make = (base: LogFields): Logger => {
    const emit = (level: LogLevel, message: string, fields?: LogFields) => {
      if (ORDER[level] < min) return;
      const all = { ...base, ...fields };
      let line: string;
      if (opts.format === "json") {
        line = JSON.stringify(
          { level: level.toUpperCase(), message, timestamp: new Date().toISOString(), ...all },
          errorReplacer,
        );
      } else {
        const extras = Object.entries(all)
          .map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v, errorReplacer)}`)
          .join(" ");
        line = `${level === "info" ? "" : `${level}: `}${message}${extras ? ` ${extras}` : ""}`;
      }
      write(redact(line));
    };
    return {
      debug: (m, f) => emit("debug", m, f),
      info: (m, f) => emit("info", m, f),
      warn: (m, f) => emit("warn", m, f),
      error: (m, f) => emit("error", m, f),
      child: (fields) => make({ ...base, ...fields }),
    };
  };
  return make(opts.base ?? {});
}

function errorReplacer(_key: string, value: unknown): unknown {
  if (value instanceof Error) return { name: value.name, message: value.message, ...(value as object) };
  return value;
}

/** Every secret value in a config, for the redactor. */
export function secretsOf(accounts: readonly { credentials: object }[]): string[] {
  return accounts.flatMap((a) => Object.values(a.credentials).filter((v): v is string => typeof v === "string"));
}
