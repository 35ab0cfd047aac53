// The image-sync command line. Exit codes: 0 every scope complete; 1 a scope failed or was incomplete
// (the others are still synced); 2 bad usage or configuration. With --json, stdout holds the JSON alone.
import { createWriteStream } from "node:fs";
import { parseArgs } from "node:util";
import { isLocalEndpoint, loadConfigFile, loadRuntimeSettings, type SyncConfig } from "./config.ts";
import { demoConfig } from "./emulator/demo.ts";
import { DIALECTS } from "./emulator/dialects.ts";
import { startEmulator } from "./emulator/index.ts";
import { ConfigError, isImageSyncError } from "./errors.ts";
import { type HistoryWriter, storeHistoryWriter } from "./events/history.ts";
import { localPublisher, streamRecordForAnomaly, streamRecordsFor, streamRecordsForPointers } from "./events/local.ts";
import { processStreamRecords } from "./events/process.ts";
import {
  defaultSsmClient,
  loadParameterSettings,
  type ParameterPublisher,
  type ParameterSettings,
  ssmParameterPublisher,
} from "./events/ssm-publish.ts";
import type { DeliveredEvent } from "./events/types.ts";
import { createLogger, type Logger, secretsOf } from "./log.ts";
import { type Anomaly, API_IDS, type ApiId, type ChangeKind } from "./model.ts";
import { createHttpClient } from "./providers/http.ts";
import { changesSince, parseSince } from "./query/changes.ts";
import { QueryError } from "./query/errors.ts";
import { latestImage } from "./query/images.ts";
import { DEFAULT_STALE_AFTER_HOURS, scopeStatus } from "./query/status.ts";
import type { ChangeEntry } from "./query/types.ts";
import { type LatestPointer, whereLatest } from "./query/where.ts";
import { openStore } from "./store/open.ts";
import type { Store } from "./store/store.ts";
import type { Change } from "./sync/diff.ts";
import { runSync, type SyncReport } from "./sync/engine.ts";
import type { PointerWrite } from "./sync/pointers.ts";
import { formatSummary } from "./sync/summary.ts";

export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env: Record<string, string | undefined>;
}

const USAGE = `Usage:
  image-sync sync --config <file> [--dry-run] [--json] [--events <file.jsonl>]
  image-sync images --account <name> [--scope <id>] [--all] [--json]
  image-sync latest (--os <family> [--version <v>] | --family <image family>) --scope <id> [--arch <a>]
                    [--account <name>] [--type <imageType>] [--json]
                     newest usable image; exit 1 when none matches, 3 when it matches more than one
                     architecture or image type (name it with --arch / --type)
  image-sync changes --since <24h|7d|ISO time> [--until <time>] [--account <name>] [--scope <id>]
                     [--type added|updated|deprecated|restored|anomaly] [--api <api>] [--json]
  image-sync status [--stale-after-hours <n>] [--json]   freshness per scope; exit 1 when any is stale
  image-sync where (--os <family> [--version <v>] | --family <image family>) [--arch <a>] [--type <t>]
                   [--fresh] [--json]
                     the latest image in every scope of every account, one row per scope, version,
                     architecture and type; stale ones (no usable image left) marked, or left out (--fresh)
  image-sync republish (--since <24h|7d|ISO time> [--until <time>] | --run <runId>) [--dry-run] [--json]
                     re-publish the change events and history of a window or run from the table
                     (needs EVENT_BUS_NAME; EVENTBRIDGE_ENDPOINT for a local bus)
  image-sync demo                      sync the built-in emulator's catalogue (what npm start runs)
  image-sync emulator [--port <n>]     run the provider emulator and print a config for it

Environment: DYNAMODB_ENDPOINT (default: embedded DynamoDB under .image-sync/), TABLE_NAME (image-sync), AWS_REGION;
STACK_NAME (and SSM_ENDPOINT) to publish latest-image parameters under /<STACK_NAME>/latest/ after a sync.`;

class UsageError extends Error {}

export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case "sync":
        return await syncCommand(rest, io);
      case "images":
        return await imagesCommand(rest, io);
      case "latest":
        return await latestCommand(rest, io);
      case "changes":
        return await changesCommand(rest, io);
      case "status":
        return await statusCommand(rest, io);
      case "where":
        return await whereCommand(rest, io);
      case "republish":
        return await republishCommand(rest, io);
      case "demo":
        return await demoCommand(rest, io);
      case "emulator":
        return await emulatorCommand(rest, io);
      case undefined:
        // Bad usage like any other: the usage goes to stderr, so a script's stdout never takes it for output.
        throw new UsageError("a command is required");
      case "help":
      case "--help":
      case "-h":
        io.stdout(`${USAGE}\n`);
        return 0;
      default:
        throw new UsageError(`unknown command "${command}"`);
    }
  } catch (e) {
    if (
      e instanceof UsageError ||
      e instanceof QueryError ||
      (e as { code?: string }).code?.startsWith("ERR_PARSE_ARGS")
    ) {
      io.stderr(`image-sync: ${(e as Error).message}\n\n${USAGE}\n`);
      return 2;
    }
    if (e instanceof ConfigError) {
      io.stderr(`image-sync: invalid configuration:\n${e.problems.map((p) => `  - ${p}`).join("\n")}\n`);
      return 2;
    }
    io.stderr(`image-sync: ${isImageSyncError(e) ? e.describe() : (e as Error).message}\n`);
    return 1;
  }
}

interface SyncRunOptions {
  dryRun: boolean;
  json: boolean;
  /** Write change events as JSON lines to this file. */
  eventsFile?: string;
  /** Print each event's readable alert line on stdout after the summary. */
  printEvents?: boolean;
}

async function syncAndReport(config: SyncConfig, io: CliIo, opts: SyncRunOptions): Promise<SyncReport> {
  const settings = loadRuntimeSettings(io.env);
  const log = createLogger({
    level: io.env.LOG_LEVEL === "debug" ? "debug" : "warn",
    secrets: secretsOf(config.accounts),
    write: (line) => io.stderr(`${line}\n`),
  });
  const opened = await openStore(settings);
  const http = createHttpClient();
  try {
    io.stderr(
      `syncing ${config.accounts.length} account(s) into ${opened.location}${opts.dryRun ? " (dry run)" : ""}\n`,
    );
    const events = await eventSink(syncSinkOptions(opened.store, settings.region, io, opts, log));
    const report = await runSync({
      config,
      store: opened.store,
      http,
      dryRun: opts.dryRun,
      log,
      onChanges: events.onChanges,
      onAnomaly: events.onAnomaly,
    });
    await events.close();
    printSyncReport(report, events.delivered, io, opts);
    return report;
  } finally {
    await http.close();
    await opened.close();
  }
}

/**
 * The stream consumer's code runs after every sync, as the table's stream would run it on AWS: it turns the
 * writes into events and records the change history that `image-sync changes` reads. A dry run wrote nothing,
 * so it records no history.
 */
function syncSinkOptions(
  store: Store,
  region: string,
  io: CliIo,
  opts: SyncRunOptions,
  log: Logger,
): Parameters<typeof eventSink>[0] {
  // Latest-image parameters only when asked for (STACK_NAME), and never for a dry run, which moved nothing.
  const parameterSettings = opts.dryRun ? null : loadParameterSettings(io.env);
  return {
    ...(opts.eventsFile ? { file: opts.eventsFile } : {}),
    ...(opts.dryRun ? {} : { history: storeHistoryWriter(store, { onError: (m, f) => log.warn(m, f) }) }),
    ...(parameterSettings ? { parameters: parameterPublisher(parameterSettings, region, log) } : {}),
    warn: (message) => io.stderr(`warning: ${message}\n`),
  };
}

function parameterPublisher(settings: ParameterSettings, region: string, log: Logger): ParameterPublisher {
  return ssmParameterPublisher({
    client: defaultSsmClient({
      region,
      ...(settings.endpoint
        ? {
            endpoint: settings.endpoint,
            localCredentials: isLocalEndpoint(settings.endpoint),
          }
        : {}),
    }),
    stackName: settings.stackName,
    onError: (m, f) => log.warn(m, f),
  });
}

function printSyncReport(
  report: SyncReport,
  delivered: readonly DeliveredEvent[],
  io: CliIo,
  opts: SyncRunOptions,
): void {
  if (opts.json) io.stdout(`${JSON.stringify(report, null, 2)}\n`);
  else io.stdout(`${formatSummary(report)}\n`);
  if (opts.printEvents) {
    const lines = delivered.map((e) => `  ${e["detail-type"]}: ${(e.detail as { message: string }).message}`);
    io.stdout(
      `\n${delivered.length} change events${opts.eventsFile ? ` (written to ${opts.eventsFile})` : ""}${lines.length ? `:\n${lines.join("\n")}` : ""}\n`,
    );
  }
}

/**
 * Runs the stream consumer's code on the changes each scope wrote, collecting events as EventBridge delivers
 * them and recording history when given a writer. A history write that fails is a warning, not an error:
 * the scope's images are already written, and failing the scope now would misreport it.
 */
async function eventSink(opts: {
  file?: string;
  history?: HistoryWriter;
  parameters?: ParameterPublisher;
  warn: (message: string) => void;
}) {
  const delivered: DeliveredEvent[] = [];
  const out = opts.file ? createWriteStream(opts.file, { flags: "a" }) : undefined;
  const publish = localPublisher((event) => {
    delivered.push(event);
    out?.write(`${JSON.stringify(event)}\n`);
  });
  const consume = async (records: Parameters<typeof processStreamRecords>[0]) => {
    const result = await processStreamRecords(records, {
      publish,
      ...(opts.history ? { history: opts.history } : {}),
      ...(opts.parameters ? { parameters: opts.parameters } : {}),
    });
    if (result.batchItemFailures.length)
      opts.warn(
        `${result.batchItemFailures.length} write(s) could not be recorded in the change history or published as parameters`,
      );
  };
  return {
    delivered,
    onChanges: async (changes: readonly Change[], _report: unknown, pointers: readonly PointerWrite[] = []) =>
      consume([...streamRecordsFor(changes), ...streamRecordsForPointers(pointers)]),
    onAnomaly: async (anomaly: Anomaly) => consume([streamRecordForAnomaly(anomaly, Date.now())]),
    close: () => new Promise<void>((resolve) => (out ? out.end(() => resolve()) : resolve())),
  };
}

async function syncCommand(args: readonly string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({
    args: [...args],
    options: {
      config: { type: "string" },
      "dry-run": { type: "boolean" },
      json: { type: "boolean" },
      events: { type: "string" },
    },
    strict: true,
    allowPositionals: false,
  });
  if (!values.config) throw new UsageError("sync needs --config <file>");
  const config = await loadConfigFile(values.config, io.env);
  const report = await syncAndReport(config, io, {
    dryRun: values["dry-run"] ?? false,
    json: values.json ?? false,
    ...(values.events ? { eventsFile: values.events } : {}),
  });
  return report.ok ? 0 : 1;
}

async function imagesCommand(args: readonly string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({
    args: [...args],
    options: {
      account: { type: "string" },
      scope: { type: "string" },
      all: { type: "boolean" },
      json: { type: "boolean" },
    },
    strict: true,
    allowPositionals: false,
  });
  if (!values.account) throw new UsageError("images needs --account <name>");
  const opened = await openStore(loadRuntimeSettings(io.env));
  try {
    const images = await opened.store.listImages({
      account: values.account,
      ...(values.scope ? { scope: values.scope } : {}),
      all: values.all ?? false,
    });
    if (values.json) {
      io.stdout(`${JSON.stringify(images)}\n`);
    } else {
      const { renderTable } = await import("./sync/summary.ts");
      const rows = images.map((i) => [
        i.scope,
        i.imageId,
        i.name ?? "",
        i.osFamily ?? "",
        i.osVersion ?? "",
        i.status ?? "",
        i.state,
      ]);
      io.stdout(
        `${renderTable(["scope", "imageId", "name", "os", "version", "status", "state"], rows)}\n${images.length} images\n`,
      );
    }
    return 0;
  } finally {
    await opened.close();
  }
}

async function latestCommand(args: readonly string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({
    args: [...args],
    options: {
      os: { type: "string" },
      version: { type: "string" },
      family: { type: "string" },
      scope: { type: "string" },
      arch: { type: "string" },
      account: { type: "string" },
      type: { type: "string" },
      json: { type: "boolean" },
    },
    strict: true,
    allowPositionals: false,
  });
  if (!values.os === !values.family || !values.scope)
    throw new UsageError("latest needs --os <family> or --family <image family>, and --scope <id>");
  const opened = await openStore(loadRuntimeSettings(io.env));
  try {
    const image = await answerLatest(opened.store, values, io);
    if (image === "ambiguous") return 3;
    if (values.json) io.stdout(`${JSON.stringify(image ?? null)}\n`);
    if (!image) {
      const what = [values.os ?? `image family ${values.family}`, values.version, values.arch, values.type]
        .filter(Boolean)
        .join(" ");
      io.stderr(
        `image-sync: no usable ${what} image in scope ${values.scope}${values.account ? ` of ${values.account}` : ""}\n`,
      );
      return 1;
    }
    if (!values.json) await printImage(image, io);
    return 0;
  } finally {
    await opened.close();
  }
}

/** The latest image, or "ambiguous" once the refusal is printed (the question must name what it left open). */
async function answerLatest(
  reader: Parameters<typeof latestImage>[0],
  values: {
    os?: string;
    version?: string;
    family?: string;
    scope?: string;
    arch?: string;
    account?: string;
    type?: string;
  },
  io: CliIo,
): Promise<Awaited<ReturnType<typeof latestImage>> | "ambiguous"> {
  try {
    return await latestImage(reader, {
      scope: values.scope as string,
      ...(values.os ? { osFamily: values.os } : {}),
      ...(values.family ? { family: values.family } : {}),
      ...(values.version ? { osVersion: values.version } : {}),
      ...(values.arch ? { architecture: values.arch } : {}),
      ...(values.account ? { account: values.account } : {}),
      ...(values.type ? { imageType: values.type } : {}),
    });
  } catch (e) {
    if (!(e instanceof QueryError) || e.code !== "AMBIGUOUS_QUERY") throw e;
    io.stderr(`image-sync: ambiguous: ${e.message}\n`);
    return "ambiguous";
  }
}

async function printImage(image: NonNullable<Awaited<ReturnType<typeof latestImage>>>, io: CliIo): Promise<void> {
  const { renderTable } = await import("./sync/summary.ts");
  const rows = [
    ["imageId", image.imageId],
    ["name", image.name ?? ""],
    ["account", image.account],
    ["scope", image.scope],
    ["os", `${image.osFamily ?? ""} ${image.osVersion ?? ""}`.trim()],
    ["architecture", image.architecture ?? "unknown"],
    ["type", image.imageType ?? ""],
    ["family", image.family ?? ""],
    ["status", image.status ?? ""],
    ["created", image.createdAt ?? ""],
    ["first seen", image.firstSeenAt],
  ];
  io.stdout(`${renderTable(["field", "value"], rows)}\n`);
}

const CHANGE_KINDS: readonly (ChangeKind | "anomaly")[] = ["added", "updated", "deprecated", "restored", "anomaly"];

async function changesCommand(args: readonly string[], io: CliIo): Promise<number> {
  const { values, since, until } = changesArgs(args);
  const opened = await openStore(loadRuntimeSettings(io.env));
  try {
    const changes = await allChanges(opened.store, since, until, values);
    if (values.json) {
      io.stdout(`${JSON.stringify(changes)}\n`);
    } else {
      const { renderTable } = await import("./sync/summary.ts");
      const rows = changes.map(changeRow);
      io.stdout(
        `${renderTable(["detected", "change", "account", "scope", "imageId", "name", "detail"], rows)}\n` +
          `${changes.length} changes since ${since.toISOString()}\n`,
      );
    }
    return 0;
  } finally {
    await opened.close();
  }
}

/** One row of the changes table: an image's change, or a held mass deprecation (an anomaly). */
function changeRow(c: ChangeEntry): string[] {
  if (c.changeType === "anomaly")
    return [
      c.detectedAt,
      c.changeType,
      c.account,
      c.scope,
      "",
      "",
      `held: ${c.wouldDeprecate} of ${c.knownImages} active`,
    ];
  const detail = c.changeType === "deprecated" ? `reason: ${c.reason ?? "unknown"}` : c.changedFields.join(", ");
  return [c.detectedAt, c.changeType, c.account, c.scope, c.imageId, c.name ?? "", detail];
}

interface ChangesFilter {
  account?: string;
  scope?: string;
  type?: string;
  api?: string;
  json?: boolean;
}

/** The changes command's options, checked, with its window resolved against the time now. */
function changesArgs(args: readonly string[]): { values: ChangesFilter; since: Date; until: Date } {
  const { values } = parseArgs({
    args: [...args],
    options: {
      since: { type: "string" },
      until: { type: "string" },
      account: { type: "string" },
      scope: { type: "string" },
      type: { type: "string" },
      api: { type: "string" },
      json: { type: "boolean" },
    },
    strict: true,
    allowPositionals: false,
  });
  if (!values.since) throw new UsageError("changes needs --since <24h|7d|ISO time>");
  const now = new Date();
  const since = parseSince(values.since, now);
  if (!since) throw new UsageError(`--since "${values.since}" is not a duration (24h, 7d, 30m) or an ISO time`);
  const until = values.until === undefined ? now : parseSince(values.until, now);
  if (!until) throw new UsageError(`--until "${values.until}" is not a duration or an ISO time`);
  if (values.type && !CHANGE_KINDS.includes(values.type as ChangeKind | "anomaly"))
    throw new UsageError(`--type must be one of ${CHANGE_KINDS.join(", ")}`);
  if (values.api && !API_IDS.includes(values.api as ApiId))
    throw new UsageError(`--api must be one of ${API_IDS.join(", ")}`);
  return { values, since, until };
}

/** Every page of the window's changes, in the order changesSince gives them. */
async function allChanges(
  reader: Parameters<typeof changesSince>[0],
  since: Date,
  until: Date,
  values: ChangesFilter,
): Promise<ChangeEntry[]> {
  const changes: ChangeEntry[] = [];
  let pageToken: string | undefined;
  do {
    const page = await changesSince(reader, since, {
      until,
      limit: 1000,
      ...(pageToken ? { pageToken } : {}),
      ...(values.account ? { account: values.account } : {}),
      ...(values.scope ? { scope: values.scope } : {}),
      ...(values.type ? { changeType: values.type as ChangeKind | "anomaly" } : {}),
      ...(values.api ? { api: values.api as ApiId } : {}),
    });
    changes.push(...page.items);
    pageToken = page.nextPageToken;
  } while (pageToken);
  return changes;
}

async function statusCommand(args: readonly string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({
    args: [...args],
    options: {
      "stale-after-hours": { type: "string" },
      account: { type: "string" },
      json: { type: "boolean" },
    },
    strict: true,
    allowPositionals: false,
  });
  const raw = values["stale-after-hours"];
  const staleAfterHours = raw === undefined ? DEFAULT_STALE_AFTER_HOURS : Number(raw);
  if (!(staleAfterHours > 0)) throw new UsageError("--stale-after-hours must be a positive number");
  const opened = await openStore(loadRuntimeSettings(io.env));
  try {
    const scopes = await scopeStatus(opened.store, {
      staleAfterHours,
      ...(values.account ? { account: values.account } : {}),
    });
    const stale = scopes.filter((s) => s.stale).length;
    if (values.json) {
      io.stdout(`${JSON.stringify({ staleAfterHours, stale, scopes })}\n`);
    } else if (scopes.length === 0) {
      io.stdout(`no scope has been synced yet in ${opened.location}\n`);
    } else {
      const { renderTable } = await import("./sync/summary.ts");
      const rows = scopes.map((s) => [
        s.account,
        s.scope,
        s.lastCompleteAt ?? "never",
        s.ageHours === null ? "-" : `${s.ageHours.toFixed(1)}h`,
        s.lastOutcome,
        String(s.counts?.active ?? 0),
        String(s.counts?.deprecated ?? 0),
        s.stale ? "STALE" : "ok",
        s.lastError ? `${s.lastError.code}: ${s.lastError.message}` : "",
      ]);
      io.stdout(
        `${renderTable(["account", "scope", "last complete", "age", "last run", "active", "deprecated", "fresh", "last error"], rows)}\n` +
          `${scopes.length} scopes, ${stale} stale (no complete sweep within ${staleAfterHours}h)\n`,
      );
    }
    // Like a sync that left a scope incomplete: 1, so a health check can run `image-sync status` alone.
    return stale > 0 ? 1 : 0;
  } finally {
    await opened.close();
  }
}

async function whereCommand(args: readonly string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({
    args: [...args],
    options: {
      os: { type: "string" },
      version: { type: "string" },
      family: { type: "string" },
      arch: { type: "string" },
      type: { type: "string" },
      fresh: { type: "boolean" },
      json: { type: "boolean" },
    },
    strict: true,
    allowPositionals: false,
  });
  if (!values.os === !values.family) throw new UsageError("where needs --os <family> or --family <image family>");
  const query = {
    ...(values.os ? { osFamily: values.os } : {}),
    ...(values.family ? { family: values.family } : {}),
    ...(values.version ? { osVersion: values.version } : {}),
    ...(values.arch ? { architecture: values.arch } : {}),
    ...(values.type ? { imageType: values.type } : {}),
    ...(values.fresh ? { includeStale: false } : {}),
  };
  const opened = await openStore(loadRuntimeSettings(io.env));
  try {
    const pointers: LatestPointer[] = [];
    let pageToken: string | undefined;
    do {
      const page = await whereLatest(opened.store, query, { limit: 1000, ...(pageToken ? { pageToken } : {}) });
      pointers.push(...page.items);
      pageToken = page.nextPageToken;
    } while (pageToken);
    if (values.json) io.stdout(`${JSON.stringify(pointers)}\n`);
    else await printWhere(pointers, [values.os ?? values.family, values.version, values.arch, values.type], io);
    return 0;
  } finally {
    await opened.close();
  }
}

async function printWhere(pointers: LatestPointer[], asked: Array<string | undefined>, io: CliIo): Promise<void> {
  const { renderTable } = await import("./sync/summary.ts");
  const rows = pointers.map((p) => [
    p.account,
    p.scope,
    p.line === "family" ? `family ${p.family}` : (p.osVersion ?? "any"),
    p.architecture ?? "",
    p.imageType ?? "",
    p.imageId,
    p.name ?? "",
    p.stale ? `STALE since ${p.staleSince}` : p.movedAt,
  ]);
  const stale = pointers.filter((p) => p.stale).length;
  io.stdout(
    `${renderTable(["account", "scope", "version", "arch", "type", "imageId", "name", "since"], rows)}\n` +
      `${pointers.length} latest ${asked.filter(Boolean).join(" ")} images in ` +
      `${new Set(pointers.map((p) => `${p.account}#${p.scope}`)).size} scopes` +
      `${stale ? ` (${stale} stale: no usable image left, naming their last one)` : ""}\n`,
  );
}

async function republishCommand(args: readonly string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({
    args: [...args],
    options: {
      since: { type: "string" },
      until: { type: "string" },
      run: { type: "string" },
      "dry-run": { type: "boolean" },
      json: { type: "boolean" },
    },
    strict: true,
    allowPositionals: false,
  });
  if (!values.since && !values.run) throw new UsageError("republish needs --since <time> or --run <runId>");
  const now = new Date();
  const since = values.since === undefined ? undefined : parseSince(values.since, now);
  if (values.since !== undefined && !since)
    throw new UsageError(`--since "${values.since}" is not a duration or an ISO time`);
  const until = values.until === undefined ? undefined : parseSince(values.until, now);
  if (values.until !== undefined && !until)
    throw new UsageError(`--until "${values.until}" is not a duration or an ISO time`);
  const { republishFromEnv } = await import("./events/republish-env.ts");
  const opened = await openStore(loadRuntimeSettings(io.env));
  try {
    const selection = {
      ...(since ? { since } : {}),
      ...(until ? { until } : {}),
      ...(values.run ? { runId: values.run } : {}),
    };
    const result = await republishFromEnv(opened.store, selection, io.env, {
      dryRun: values["dry-run"] === true,
      warn: (m) => io.stderr(`image-sync: ${m}\n`),
    });
    io.stdout(
      values.json
        ? `${JSON.stringify(result)}\n`
        : `${values["dry-run"] ? "would re-publish" : "re-published"} ${result.events} change events, ${result.anomalies} anomalies, ` +
            `${result.pointerEvents} pointer moves (${result.records} records from ${result.scopes} scopes); ` +
            `history: ${result.recorded}; failed: ${result.failed}\n`,
    );
    return result.failed === 0 ? 0 : 1;
  } finally {
    await opened.close();
  }
}

async function demoCommand(args: readonly string[], io: CliIo): Promise<number> {
  parseArgs({ args: [...args], options: {}, strict: true, allowPositionals: false });
  const emulator = await startEmulator();
  try {
    io.stderr(`provider emulator listening on ${emulator.url}\n`);
    const apis = DIALECTS.flatMap((d) => d.apis);
    const report = await syncAndReport(demoConfig(emulator.url, emulator.credentials, apis), io, {
      dryRun: false,
      json: false,
      printEvents: true,
    });
    return report.ok ? 0 : 1;
  } finally {
    await emulator.close();
  }
}

async function emulatorCommand(args: readonly string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({
    args: [...args],
    options: { port: { type: "string" }, scale: { type: "string" } },
    strict: true,
    allowPositionals: false,
  });
  const port = values.port ? Number(values.port) : 0;
  const scale = values.scale ? Number(values.scale) : 1;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError("--port must be 0-65535");
  if (!(scale > 0)) throw new UsageError("--scale must be a positive number");
  const emulator = await startEmulator({ port, scale });
  io.stderr(`provider emulator listening on ${emulator.url} (Ctrl-C to stop); a config for it:\n`);
  io.stdout(`${JSON.stringify(demoConfig(emulator.url, emulator.credentials), null, 2)}\n`);
  await new Promise<void>((resolve) => {
    process.once("SIGINT", resolve);
    process.once("SIGTERM", resolve);
  });
  await emulator.close();
  return 0;
}

// Run when executed as the CLI (the bundle's entry), not when imported by tests.
const entry = process.argv[1] ?? "";
if (/(?:^|[\\/])(?:cli\.(?:mjs|ts)|image-sync)$/.test(entry)) {
  // The CLI supports Node 20 on purpose; the AWS SDK's upgrade notice would only clutter its output.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
  main(process.argv.slice(2), {
    stdout: (t) => process.stdout.write(t),
    stderr: (t) => process.stderr.write(t),
    env: process.env,
  }).then((code) => {
    process.exitCode = code;
  });
}
