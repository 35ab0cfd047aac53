// The stack as packaged offline by `serverless package` (osls): the CloudFormation template it generates.
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, posix } from "node:path";
import { inflateRawSync } from "node:zlib";
import { beforeAll, describe, expect, it } from "vitest";
import { parserHash } from "../../../lib/build/parser-hash.mjs";
import { evaluateConditions, validateTemplate } from "../../helpers/cfn-validate.ts";

const root = join(import.meta.dirname, "..", "..", "..");
// biome-ignore lint/suspicious/noExplicitAny: a CloudFormation template is untyped JSON.
type Json = any;
type Resource = { Type: string; Properties: Record<string, Json>; Condition?: string };
// dev (packaged into .serverless, whose zips the bundle tests read), prod, and prod with reserved concurrency.
let templates: { dev: Json; prod: Json; reserved: Json };
let resources: Record<string, Resource>;
let outputs: Record<string, unknown>;

/** `serverless package` for a stage into `dir`, and the CloudFormation template it wrote. */
function packageStage(stage: string, dir: string, params: string[] = []): Json {
  const env = {
    ...process.env,
    AWS_ACCESS_KEY_ID: "",
    AWS_SECRET_ACCESS_KEY: "",
    AWS_PROFILE: "",
    SLS_TELEMETRY_DISABLED: "1",
  };
  const args = ["package", "--stage", stage, "--package", dir, ...params.map((p) => `--param=${p}`)];
  execFileSync(join(root, "node_modules/.bin/serverless"), args, { cwd: root, env, stdio: "pipe", timeout: 180_000 });
  return JSON.parse(readFileSync(join(dir, "cloudformation-template-update-stack.json"), "utf8"));
}

beforeAll(() => {
  execFileSync(process.execPath, [join(root, "lib/build/build.mjs")], { cwd: root, stdio: "pipe" });
  const scratch = mkdtempSync(join(tmpdir(), "image-sync-package-"));
  try {
    // Each run empties .serverless first: dev goes last.
    const prod = packageStage("prod", join(scratch, "prod"));
    const reserved = packageStage("prod", join(scratch, "reserved"), ["syncReservedConcurrency=1"]);
    templates = { dev: packageStage("dev", join(root, ".serverless")), prod, reserved };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  resources = templates.dev.Resources;
  outputs = templates.dev.Outputs;
}, 300_000);

/** The files of a zip (stored or deflated entries, no ZIP64: what serverless writes for a small function). */
function readZip(file: string): Map<string, Buffer> {
  const zip = readFileSync(file);
  const end = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  const files = new Map<string, Buffer>();
  let at = zip.readUInt32LE(end + 16);
  for (let i = 0; i < zip.readUInt16LE(end + 10); i++) {
    const method = zip.readUInt16LE(at + 10);
    const size = zip.readUInt32LE(at + 20);
    const nameLength = zip.readUInt16LE(at + 28);
    const name = zip.toString("utf8", at + 46, at + 46 + nameLength);
    const local = zip.readUInt32LE(at + 42);
    const start = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
    const data = zip.subarray(start, start + size);
    if (!name.endsWith("/")) files.set(name, method === 8 ? inflateRawSync(data) : Buffer.from(data));
    at += 46 + nameLength + zip.readUInt16LE(at + 30) + zip.readUInt16LE(at + 32);
  }
  return files;
}

const ofType = (type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);

describe("serverless package", () => {
  it("runs the sync hourly with an SQS on-failure destination", () => {
    const sync = resources.SyncLambdaFunction?.Properties;
    expect(sync).toMatchObject({ Runtime: "nodejs22.x", Architectures: ["arm64"], Timeout: 900 });
    expect(sync?.Handler).toBe("dist/handlers/sync.handler");
    const schedules = ofType("AWS::Events::Rule").filter(([, r]) => r.Properties.ScheduleExpression);
    expect(schedules.map(([, r]) => r.Properties.ScheduleExpression)).toEqual(["rate(1 hour)"]);
    expect(resources.SyncLambdaEvConf?.Properties.DestinationConfig.OnFailure.Destination).toEqual({
      "Fn::GetAtt": ["SyncFailureQueue", "Arn"],
    });
  });

  it("maps the table stream to the change function with partial batch responses, bisecting, bounded retries and a filter", () => {
    const [[, mapping] = []] = ofType("AWS::Lambda::EventSourceMapping");
    expect(mapping?.Properties).toMatchObject({
      FunctionResponseTypes: ["ReportBatchItemFailures"],
      BisectBatchOnFunctionError: true,
      MaximumRetryAttempts: 10,
      MaximumRecordAgeInSeconds: 21600,
      EventSourceArn: { "Fn::GetAtt": ["ImagesTable", "StreamArn"] },
      DestinationConfig: { OnFailure: { Destination: { "Fn::GetAtt": ["ChangesFailureQueue", "Arn"] } } },
    });
    const filters = mapping?.Properties.FilterCriteria.Filters.map((f: { Pattern: string }) => JSON.parse(f.Pattern));
    expect(filters).toEqual([
      { eventName: ["INSERT", "MODIFY"], dynamodb: { NewImage: { itemType: { S: ["image", "anomaly", "pointer"] } } } },
    ]);
    expect(resources.ImagesTable?.Properties.StreamSpecification).toEqual({ StreamViewType: "NEW_AND_OLD_IMAGES" });
    expect(resources.ImagesTable?.Properties).toMatchObject({
      BillingMode: "PAY_PER_REQUEST",
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      TimeToLiveSpecification: { AttributeName: "expiresAt", Enabled: true },
    });
  });

  it("alarms on sync errors, failed, incomplete and stale scopes and both failure queues, to the alert topic", () => {
    const alarms = ofType("AWS::CloudWatch::Alarm").map(([, r]) => r.Properties);
    const metrics = alarms.map((a) => `${a.Namespace}/${a.MetricName}`).sort();
    expect(metrics).toEqual([
      "AWS/Lambda/Errors",
      "AWS/Lambda/Errors",
      "AWS/Lambda/IteratorAge",
      "AWS/SQS/ApproximateNumberOfMessagesVisible",
      "AWS/SQS/ApproximateNumberOfMessagesVisible",
      "AWS/SQS/ApproximateNumberOfMessagesVisible",
      "AWS/SQS/ApproximateNumberOfMessagesVisible",
      "ImageSync/FailedScopes",
      "ImageSync/IncompleteScopes",
      "ImageSync/StaleScopes",
    ]);
    expect(alarms.every((a) => JSON.stringify(a.AlarmActions) === JSON.stringify([{ Ref: "AlertTopic" }]))).toBe(true);
    const rules = ofType("AWS::Events::Rule").filter(([, r]) => r.Properties.EventPattern);
    expect(rules.flatMap(([, r]) => r.Properties.EventPattern["detail-type"]).sort()).toEqual([
      "Image Added",
      "Image Deprecated",
      "Image Restored",
      "Sync Anomaly",
      "Sync Digest",
    ]);
    expect(resources.AlertEmailSubscription?.Condition).toBe("HasAlertEmail");
  });

  it("fans scope sweeps out through SQS to a worker with partial batch responses and a dead-letter queue", () => {
    const worker = resources.SyncWorkerLambdaFunction?.Properties;
    expect(worker).toMatchObject({ Timeout: 900, Handler: "dist/handlers/sync-worker.handler" });
    const sqsMapping = ofType("AWS::Lambda::EventSourceMapping").find(([, r]) =>
      JSON.stringify(r.Properties.EventSourceArn).includes("FanoutQueue"),
    );
    expect(sqsMapping?.[1].Properties).toMatchObject({
      BatchSize: 1,
      FunctionResponseTypes: ["ReportBatchItemFailures"],
      ScalingConfig: { MaximumConcurrency: 10 },
    });
    expect(resources.FanoutQueue?.Properties.RedrivePolicy.deadLetterTargetArn).toEqual({
      "Fn::GetAtt": ["FanoutDeadLetterQueue", "Arn"],
    });
    expect(resources.SyncLambdaFunction?.Properties.Environment.Variables.FANOUT_QUEUE_URL).toEqual({
      Ref: "FanoutQueue",
    });
  });

  it("exports the table name and ARN, stream ARN, bus ARN and alert topic", () => {
    expect(Object.keys(outputs)).toEqual(
      expect.arrayContaining([
        "ImagesTableName",
        "ImagesTableArn",
        "ImagesTableStreamArn",
        "ChangeEventBusArn",
        "AlertTopicArn",
        "QueryFunctionArn",
      ]),
    );
    expect(outputs.QueryFunctionArn).toMatchObject({ Value: { "Fn::GetAtt": ["QueryLambdaFunction", "Arn"] } });
  });

  it("runs the query function read-only: GetItem and Query on the table and its two indexes, no event source", () => {
    const query = resources.QueryLambdaFunction?.Properties;
    expect(query?.Handler).toBe("dist/handlers/query.handler");
    expect(query?.Role).toEqual({ "Fn::GetAtt": ["QueryRole", "Arn"] });
    expect(query?.Environment.Variables.TABLE_NAME).toEqual({ Ref: "ImagesTable" });
    const statements: Json[] = resources.QueryRole?.Properties.Policies.flatMap(
      (p: Json) => p.PolicyDocument.Statement,
    );
    const data = statements.filter((s) => [s.Action].flat().some((a: string) => a.startsWith("dynamodb:")));
    expect(data).toHaveLength(1);
    expect([data[0]?.Action].flat().sort()).toEqual(["dynamodb:GetItem", "dynamodb:Query"]);
    expect(JSON.stringify(data[0]?.Resource)).toMatch(/index\/GSI1/);
    expect(JSON.stringify(data[0]?.Resource)).toMatch(/index\/GSI2/);
    expect(statements.flatMap((s) => [s.Action].flat()).sort()).toEqual([
      "dynamodb:GetItem",
      "dynamodb:Query",
      "logs:CreateLogStream",
      "logs:PutLogEvents",
    ]);
    // Invoked directly with IAM: nothing maps an event source or a URL to it.
    const invokers = [
      ...ofType("AWS::Lambda::EventSourceMapping"),
      ...ofType("AWS::Lambda::Permission"),
      ...ofType("AWS::Lambda::Url"),
    ].filter(([, r]) => JSON.stringify(r.Properties).includes("QueryLambdaFunction"));
    expect(invokers).toEqual([]);
  });

  it("lets the sync functions send every DynamoDB command the store sends, and nothing else", () => {
    // The commands lib/store/store.ts builds (table creation aside: local endpoints only), as IAM actions.
    const source = readFileSync(join(process.cwd(), "lib", "store", "store.ts"), "utf8");
    const toAction: Record<string, string> = {
      Get: "GetItem",
      Put: "PutItem",
      Update: "UpdateItem",
      Delete: "DeleteItem",
      Query: "Query",
      BatchWrite: "BatchWriteItem",
      BatchGet: "BatchGetItem",
    };
    const sent = new Set<string>();
    for (const m of source.matchAll(/new (\w+?)Command\(/g)) {
      const name = m[1] as string;
      if (name === "CreateTable" || name === "DescribeTable") continue;
      expect(toAction[name], `unmapped command ${name}Command`).toBeDefined();
      sent.add(`dynamodb:${toAction[name]}`);
    }
    // paginateQuery sends Query commands too.
    if (source.includes("paginateQuery(")) sent.add("dynamodb:Query");
    expect(sent).toContain("dynamodb:UpdateItem");
    for (const role of ["SyncRole", "SyncWorkerRole"]) {
      const statements: Json[] = resources[role]?.Properties.Policies.flatMap((p: Json) => p.PolicyDocument.Statement);
      const table = statements.filter((s) => JSON.stringify(s.Resource).includes("ImagesTable"));
      const allowed = new Set(table.flatMap((s) => [s.Action].flat()).filter((a: string) => a.startsWith("dynamodb:")));
      expect([...allowed].sort(), role).toEqual([...sent].sort());
    }
  });

  it("lets the change function record history: PutItem on the table only, with the table name in its environment", () => {
    const statements: Json[] = resources.ChangesRole?.Properties.Policies.flatMap(
      (p: Json) => p.PolicyDocument.Statement,
    );
    const writes = statements.filter((s) => [s.Action].flat().some((a: string) => a.startsWith("dynamodb:Put")));
    expect(writes).toEqual([
      { Effect: "Allow", Action: "dynamodb:PutItem", Resource: { "Fn::GetAtt": ["ImagesTable", "Arn"] } },
    ]);
    expect(resources.ChangesLambdaFunction?.Properties.Environment.Variables).toMatchObject({
      TABLE_NAME: { Ref: "ImagesTable" },
      HISTORY_TTL_DAYS: "30",
    });
  });

  it("lets the change function publish pointer parameters: PutParameter under /<stack>/latest/ only, STACK_NAME set", () => {
    const statements: Json[] = resources.ChangesRole?.Properties.Policies.flatMap(
      (p: Json) => p.PolicyDocument.Statement,
    );
    const ssm = statements.filter((s) => [s.Action].flat().some((a: string) => a.startsWith("ssm:")));
    expect(ssm).toHaveLength(1);
    expect(ssm[0]?.Action).toBe("ssm:PutParameter");
    expect(JSON.stringify(ssm[0]?.Resource)).toContain(":parameter/image-sync-dev/latest/*");
    expect(resources.ChangesLambdaFunction?.Properties.Environment.Variables.STACK_NAME).toBe("image-sync-dev");
    // No other role writes parameters.
    const others = ["SyncRole", "QueryRole"].flatMap((id) =>
      resources[id]?.Properties.Policies.flatMap((p: Json) => p.PolicyDocument.Statement),
    );
    expect(others.flatMap((s: Json) => [s.Action].flat()).filter((a: string) => a.startsWith("ssm:Put"))).toEqual([]);
  });

  it("scopes every IAM statement: no wildcard action, no wildcard table resource, PutEvents only on the bus", () => {
    const roles = ofType("AWS::IAM::Role");
    expect(roles.map(([id]) => id).sort()).toEqual(["ChangesRole", "QueryRole", "SyncRole", "SyncWorkerRole"]);
    expect(resources.IamRoleLambdaExecution).toBeUndefined();
    const statements = roles.flatMap(([, r]) => r.Properties.Policies.flatMap((p: Json) => p.PolicyDocument.Statement));
    for (const s of statements) {
      const actions: string[] = [s.Action].flat();
      expect(
        actions.every((a) => !a.includes("*")),
        JSON.stringify(s),
      ).toBe(true);
      const res = JSON.stringify(s.Resource);
      expect(res).not.toBe('"*"');
      if (actions.some((a) => a.startsWith("dynamodb:"))) expect(res).not.toMatch(/table\/\*|index\/\*/);
      if (actions.includes("events:PutEvents")) expect(s.Resource).toEqual({ "Fn::GetAtt": ["ChangeEventBus", "Arn"] });
      // Reads of the configuration under /image-sync/<stage>/; writes of pointer parameters under /<stack>/latest/.
      if (actions.some((a) => a.startsWith("ssm:Get"))) expect(res).toContain("parameter/image-sync/dev/*");
      if (actions.some((a) => a.startsWith("ssm:Put"))) {
        expect(actions).toEqual(["ssm:PutParameter"]);
        expect(s.Resource).toEqual({ "Fn::Sub": expect.stringMatching(/:parameter\/image-sync-dev\/latest\/\*$/) });
      }
    }
    const fns = ofType("AWS::Lambda::Function").map(([, r]) => r.Properties.Role);
    expect(fns).toEqual(
      expect.arrayContaining([
        { "Fn::GetAtt": ["SyncRole", "Arn"] },
        { "Fn::GetAtt": ["ChangesRole", "Arn"] },
        { "Fn::GetAtt": ["QueryRole", "Arn"] },
      ]),
    );
  });

  it("packages each handler with its own chunks only, every import resolving inside the zip, and loads it from there", () => {
    const handlers = { sync: "sync", syncWorker: "sync-worker", changes: "changes", query: "query" };
    for (const [fn, name] of Object.entries(handlers)) {
      const files = readZip(join(root, ".serverless", `${fn}.zip`));
      const names = [...files.keys()];
      expect(names).toEqual(expect.arrayContaining([`dist/handlers/${name}.mjs`, `dist/handlers/${name}.mjs.map`]));
      const chunks = names.filter((n) => n.startsWith(`dist/handlers/chunks/${name}/`));
      expect(names.length - chunks.length, fn).toBe(2);
      // Relative module specifiers, static and dynamic (lazily loaded chunks: credential providers, SSM, fan-out).
      for (const [file, data] of files) {
        if (!file.endsWith(".mjs")) continue;
        for (const [, spec] of data.toString("utf8").matchAll(/["'](\.{1,2}\/[^"']+\.mjs)["']/g)) {
          expect(names, `${file} -> ${spec}`).toContain(posix.join(posix.dirname(file), spec as string));
        }
      }
      // Unpacked outside the project (no node_modules to fall back on), the handler and every chunk load.
      const dir = mkdtempSync(join(tmpdir(), `image-sync-${name}-`));
      try {
        for (const [file, data] of files) {
          mkdirSync(join(dir, dirname(file)), { recursive: true });
          writeFileSync(join(dir, file), data);
        }
        const modules = [`dist/handlers/${name}.mjs`, ...chunks.filter((c) => c.endsWith(".mjs"))];
        const script = `for (const m of ${JSON.stringify(modules)}) await import("./" + m);
          const { handler } = await import("./dist/handlers/${name}.mjs");
          if (typeof handler !== "function") throw new Error("no handler export");`;
        execFileSync(process.execPath, ["--input-type=module", "-e", script], {
          cwd: dir,
          stdio: "pipe",
          env: {
            ...process.env,
            TABLE_NAME: "images",
            EVENT_BUS_NAME: "bus",
            AWS_REGION: "eu-central-1",
            IMAGE_SYNC_CONFIG: JSON.stringify({
              accounts: [{ name: "a", api: "zenlayer-bmc", credentials: { token: "t" } }],
            }),
          },
        });
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }
  });

  it("builds the sweeping functions with the hash of the parsing code, so a deployment that changes it parses every page", () => {
    const hash = parserHash(root);
    expect(hash).toMatch(/^[0-9a-f]{12}$/);
    for (const fn of ["sync", "syncWorker"]) {
      const code = [...readZip(join(root, ".serverless", `${fn}.zip`))]
        .filter(([file]) => file.endsWith(".mjs"))
        .map(([, data]) => data.toString("utf8"))
        .join("\n");
      expect(code, fn).toContain(hash);
    }
  });

  it("hashes the parsing code only: a provider change moves the hash, a query change does not", () => {
    const dir = mkdtempSync(join(tmpdir(), "image-sync-parser-"));
    try {
      for (const [file, text] of [
        ["lib/providers/zenlayer/normalize.ts", "export const a = 1;"],
        ["lib/model.ts", "export type M = 1;"],
        ...["hash", "engine", "pages", "sweep"].map((m) => [`lib/sync/${m}.ts`, "export {};"] as const),
        ["lib/query/index.ts", "export const q = 1;"],
      ] as const) {
        mkdirSync(join(dir, dirname(file)), { recursive: true });
        writeFileSync(join(dir, file), text);
      }
      const before = parserHash(dir);
      writeFileSync(join(dir, "lib/query/index.ts"), "export const q = 2;");
      expect(parserHash(dir)).toBe(before);
      writeFileSync(join(dir, "lib/providers/zenlayer/normalize.ts"), "export const a = 2;");
      expect(parserHash(dir)).not.toBe(before);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("keeps each handler's zip under 1 MB", () => {
    for (const name of ["sync", "syncWorker", "changes", "query"]) {
      expect(statSync(join(root, ".serverless", `${name}.zip`)).size).toBeLessThan(1024 * 1024);
    }
  });
});

const stages = () =>
  [
    ["dev", templates.dev],
    ["prod", templates.prod],
  ] as const;
const alarmsOf = (template: Json): Array<[string, Json]> =>
  Object.entries<Json>(template.Resources)
    .filter(([, r]) => r.Type === "AWS::CloudWatch::Alarm")
    .map(([id, r]) => [id, r.Properties]);

/** Seconds between ticks of a `rate(n unit)` schedule expression. */
function rateSeconds(expression: string): number {
  const m = /^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$/.exec(expression);
  if (!m) throw new Error(`not a rate expression: ${expression}`);
  const unit = { minute: 60, hour: 3600, day: 86_400 }[m[2]?.replace(/s$/, "") as "minute" | "hour" | "day"];
  return Number(m[1]) * unit;
}

/**
 * CloudWatch's M-of-N evaluation of a metric published at `ticks` (seconds), at time `now`: the N most recent
 * periods, the one in progress included (counted missing until its datapoint arrives: the worst case), each
 * breaching when it has no datapoint (TreatMissingData breaching) or a value above the threshold.
 */
function alarmFires(alarm: Json, ticks: ReadonlyArray<{ at: number; value: number }>, now: number): boolean {
  const period = Number(alarm.Period);
  const current = Math.floor(now / period);
  let breaching = 0;
  for (let p = current - alarm.EvaluationPeriods + 1; p <= current; p++) {
    const points = ticks.filter((t) => t.at <= now && Math.floor(t.at / period) === p);
    if (points.length === 0 || Math.max(...points.map((t) => t.value)) > alarm.Threshold) breaching++;
  }
  return breaching >= (alarm.DatapointsToAlarm ?? alarm.EvaluationPeriods);
}

describe("the stack an operator deploys and forgets (dev and prod)", () => {
  it("makes the sync's reserved concurrency an opt-in parameter: none by default, the number when set", () => {
    for (const [stage, t] of stages()) {
      expect(t.Resources.SyncLambdaFunction.Properties.ReservedConcurrentExecutions, stage).toEqual({
        "Fn::If": ["HasSyncReservedConcurrency", "", { Ref: "AWS::NoValue" }],
      });
      expect(evaluateConditions(t.Conditions).get("HasSyncReservedConcurrency"), stage).toBe(false);
    }
    const reserved = templates.reserved;
    expect(evaluateConditions(reserved.Conditions).get("HasSyncReservedConcurrency")).toBe(true);
    expect(reserved.Resources.SyncLambdaFunction.Properties.ReservedConcurrentExecutions["Fn::If"][1]).toBe("1");
    // No other function reserves any.
    for (const [stage, t] of [...stages(), ["reserved", reserved] as const]) {
      const others = Object.entries<Json>(t.Resources).filter(
        ([id, r]) => r.Type === "AWS::Lambda::Function" && id !== "SyncLambdaFunction",
      );
      expect(
        others.filter(([, r]) => "ReservedConcurrentExecutions" in r.Properties).map(([id]) => id),
        stage,
      ).toEqual([]);
    }
  });

  it("evaluates StaleScopes so that a healthy schedule never fires it and a stopped one does within four periods", () => {
    for (const [stage, t] of stages()) {
      const alarm = t.Resources.StaleScopesAlarm.Properties;
      expect(alarm, stage).toMatchObject({
        Namespace: "ImageSync",
        MetricName: "StaleScopes",
        Dimensions: [{ Name: "service", Value: "image-sync" }],
        Statistic: "Maximum",
        Threshold: 0,
        ComparisonOperator: "GreaterThanThreshold",
        TreatMissingData: "breaching",
      });
      const interval = rateSeconds(t.Resources.SyncScheduleRule.Properties.ScheduleExpression);
      expect(Number(alarm.Period)).toBeGreaterThanOrEqual(interval);
      // A healthy hourly schedule whose ticks wander up to 3 minutes either side, straddling period edges: for
      // every minute of two days, the alarm stays quiet.
      const ticks = Array.from({ length: 80 }, (_, i) => ({
        at: 86_400 + i * interval + (i % 2 === 0 ? -170 : 170) - 10,
        value: 0,
      }));
      for (let now = 2 * 86_400; now < 4 * 86_400; now += 60)
        expect(alarmFires(alarm, ticks, now), `${now}`).toBe(false);
      // The sync stops after the tick at 2 days: the alarm fires, at most four periods later.
      const stopped = ticks.filter((k) => k.at <= 2 * 86_400);
      const last = Math.max(...stopped.map((k) => k.at));
      expect(alarmFires(alarm, stopped, last + 4 * Number(alarm.Period))).toBe(true);
      // A stale scope reported at every tick fires it too.
      const stale = ticks.map((k) => ({ ...k, value: k.at > 2 * 86_400 ? 1 : 0 }));
      expect(alarmFires(alarm, stale, 2 * 86_400 + 4 * Number(alarm.Period))).toBe(true);
    }
  });

  it("alarms on the stream consumer's errors and iterator age, named for each stage's function", () => {
    for (const [stage, t] of stages()) {
      const fn = `image-sync-${stage}-changes`;
      const errors = t.Resources.ChangesErrorsAlarm.Properties;
      expect(errors).toMatchObject({ Namespace: "AWS/Lambda", MetricName: "Errors", Statistic: "Sum", Threshold: 0 });
      expect(errors.Dimensions).toEqual([{ Name: "FunctionName", Value: fn }]);
      // A crash loop alerts within 15 minutes, not after the six hours of stream retries.
      expect(errors.Period * errors.EvaluationPeriods).toBeLessThanOrEqual(900);
      const age = t.Resources.ChangesIteratorAgeAlarm.Properties;
      expect(age).toMatchObject({ Namespace: "AWS/Lambda", MetricName: "IteratorAge", Statistic: "Maximum" });
      expect(age.Dimensions).toEqual([{ Name: "FunctionName", Value: fn }]);
      // Well before the stream consumer gives records up (MaximumRecordAgeInSeconds).
      expect(age.Threshold / 1000 + age.Period * age.EvaluationPeriods).toBeLessThan(21_600 / 4);
      expect(t.Resources.ChangesLambdaFunction.Properties.FunctionName).toBe(fn);
    }
  });

  it("lets only this account's rules and alarms publish to the alert topic", () => {
    for (const [stage, t] of stages()) {
      const statements: Json[] = t.Resources.AlertTopicPolicy.Properties.PolicyDocument.Statement;
      for (const s of statements)
        expect(s.Condition.StringEquals, stage).toEqual({ "aws:SourceAccount": { Ref: "AWS::AccountId" } });
      const sources = (service: string) =>
        statements.find((s) => s.Principal.Service === service)?.Condition.ArnEquals["aws:SourceArn"];
      const alarms = alarmsOf(t).map(([id]) => ({ "Fn::GetAtt": [id, "Arn"] }));
      expect(sources("cloudwatch.amazonaws.com")).toEqual(expect.arrayContaining(alarms));
      expect(sources("cloudwatch.amazonaws.com")).toHaveLength(alarms.length);
      const alertRules = Object.entries<Json>(t.Resources)
        .filter(([, r]) => r.Type === "AWS::Events::Rule" && JSON.stringify(r).includes("AlertTopic"))
        .map(([id]) => ({ "Fn::GetAtt": [id, "Arn"] }));
      expect(sources("events.amazonaws.com")).toEqual(alertRules);
    }
  });

  it("keeps the table on stack deletion and replacement", () => {
    for (const [stage, t] of stages()) {
      expect(t.Resources.ImagesTable, stage).toMatchObject({ DeletionPolicy: "Retain", UpdateReplacePolicy: "Retain" });
    }
    expect(templates.prod.Resources.ImagesTable.Properties.DeletionProtectionEnabled).toEqual({
      "Fn::If": ["IsDev", false, true],
    });
  });

  it("gives every EventBridge target a retry policy and a dead-letter queue that only those rules may write", () => {
    for (const [stage, t] of stages()) {
      const rules = Object.entries<Json>(t.Resources).filter(([, r]) => r.Type === "AWS::Events::Rule");
      expect(rules.map(([id]) => id).sort(), stage).toEqual([
        "DigestAlertRule",
        "ImageChangeAlertRule",
        "SyncScheduleRule",
      ]);
      for (const [id, rule] of rules) {
        for (const target of rule.Properties.Targets) {
          expect(target.DeadLetterConfig, id).toEqual({ Arn: { "Fn::GetAtt": ["EventTargetDeadLetterQueue", "Arn"] } });
          expect(target.RetryPolicy.MaximumRetryAttempts, id).toBeGreaterThan(0);
          expect(target.RetryPolicy.MaximumEventAgeInSeconds, id).toBeGreaterThan(0);
        }
      }
      // A tick older than the schedule's interval is superseded by the next one: not retried longer.
      const schedule = t.Resources.SyncScheduleRule.Properties;
      expect(schedule.Targets[0].RetryPolicy.MaximumEventAgeInSeconds).toBeLessThanOrEqual(
        rateSeconds(schedule.ScheduleExpression),
      );
      expect(schedule.Targets[0].Arn).toEqual({ "Fn::GetAtt": ["SyncLambdaFunction", "Arn"] });
      expect(t.Resources.SyncSchedulePermission.Properties).toMatchObject({
        Principal: "events.amazonaws.com",
        SourceArn: { "Fn::GetAtt": ["SyncScheduleRule", "Arn"] },
      });
      const [statement, ...more] = t.Resources.EventTargetDeadLetterQueuePolicy.Properties.PolicyDocument.Statement;
      expect(more).toEqual([]);
      expect(statement.Condition.ArnEquals["aws:SourceArn"]).toEqual(
        expect.arrayContaining(rules.map(([id]) => ({ "Fn::GetAtt": [id, "Arn"] }))),
      );
      expect(alarmsOf(t).some(([id]) => id === "EventTargetDeadLetterAlarm")).toBe(true);
    }
  });

  it("sets the fan-out queue's visibility timeout to six times the worker's timeout, and keeps messages for every receive", () => {
    for (const [stage, t] of stages()) {
      const queue = t.Resources.FanoutQueue.Properties;
      const timeout = t.Resources.SyncWorkerLambdaFunction.Properties.Timeout;
      expect(queue.VisibilityTimeout, stage).toBe(6 * timeout);
      expect(queue.MessageRetentionPeriod).toBeGreaterThanOrEqual(
        queue.RedrivePolicy.maxReceiveCount * queue.VisibilityTimeout,
      );
    }
  });

  it("runs every function on nodejs22.x, the runtime the suite also runs on and the bundles target", () => {
    for (const [stage, t] of stages()) {
      const fns = Object.entries<Json>(t.Resources).filter(([, r]) => r.Type === "AWS::Lambda::Function");
      expect(
        fns.map(([, r]) => r.Properties.Runtime),
        stage,
      ).toEqual(fns.map(() => "nodejs22.x"));
    }
    const build = readFileSync(join(root, "lib/build/build.mjs"), "utf8");
    expect(build).toContain('target: "node22"');
  });

  it("logs every function as JSON at the configured level, so Lambda sets AWS_LAMBDA_LOG_LEVEL", () => {
    for (const [stage, t] of stages()) {
      const fns = Object.entries<Json>(t.Resources).filter(([, r]) => r.Type === "AWS::Lambda::Function");
      expect(fns).toHaveLength(4);
      for (const [id, fn] of fns) {
        expect(fn.Properties.LoggingConfig, `${stage} ${id}`).toEqual({
          LogFormat: "JSON",
          ApplicationLogLevel: "INFO",
          SystemLogLevel: "WARN",
        });
        expect(fn.Properties.Environment.Variables.POWERTOOLS_SERVICE_NAME).toBe("image-sync");
      }
    }
  });

  it("draws a dashboard: per scope images, changes, requests, writes, duration, staleness; per run failures; the consumer", () => {
    for (const [stage, t] of stages()) {
      const body = JSON.parse(t.Resources.Dashboard.Properties.DashboardBody["Fn::Sub"]);
      const lines: Json[] = body.widgets.flatMap((w: Json) => w.properties.metrics);
      const text = JSON.stringify(lines);
      for (const metric of [
        "ImagesFetched",
        "ImageChanges",
        "ProviderRequests",
        "ImageWrites",
        "ScopeDuration",
        "HoursSinceCompleteSweep",
        "ScopeComplete",
      ])
        expect(text, `${stage} ${metric}`).toContain(`{ImageSync,Account,Scope,service} MetricName=\\"${metric}\\"`);
      for (const metric of ["FailedScopes", "IncompleteScopes", "StaleScopes", "SyncRuns"])
        expect(lines, metric).toContainEqual(["ImageSync", metric, "service", "image-sync", { label: metric }]);
      const changes = `image-sync-${stage}-changes`;
      for (const metric of ["Errors", "IteratorAge"])
        expect(lines, metric).toContainEqual(["AWS/Lambda", metric, "FunctionName", changes, { label: changes }]);
      // biome-ignore lint/suspicious/noTemplateCurlyInString: the Fn::Sub placeholder CloudFormation substitutes.
      expect(body.widgets.every((w: Json) => w.properties.region === "${AWS::Region}")).toBe(true);
    }
  });

  it("validates every resource of the dev and prod templates against the CloudFormation registry schemas", async () => {
    for (const [stage, t] of [...stages(), ["reserved", templates.reserved] as const]) {
      expect(await validateTemplate(t), stage).toEqual([]);
    }
  });

  it("fails the schema check on a typo'd property, a wrong type, a missing required property and an unknown type", async () => {
    const broken = structuredClone(templates.dev);
    const queue = broken.Resources.FanoutQueue.Properties;
    queue.VisibiltyTimeout = queue.VisibilityTimeout;
    delete queue.VisibilityTimeout;
    broken.Resources.SyncScheduleRule.Properties.Targets[0].RetryPolicy.MaximumRetryAttempts = "ten";
    delete broken.Resources.SyncLambdaFunction.Properties.Role;
    broken.Resources.ImagesTable.DeletionPolicy = "Keep";
    broken.Resources.ChangeEventBus.Type = "AWS::Events::EventBuss";
    const errors = await validateTemplate(broken);
    expect(errors.sort()).toEqual([
      "ChangeEventBus: unknown resource type AWS::Events::EventBuss",
      expect.stringMatching(
        /^FanoutQueue\.Properties\.VisibiltyTimeout: unknown property \(known: .*VisibilityTimeout\)$/,
      ),
      "ImagesTable.DeletionPolicy: Keep",
      "SyncLambdaFunction.Properties.Role: required property missing",
      'SyncScheduleRule.Properties.Targets[0].RetryPolicy.MaximumRetryAttempts: expected integer, got "ten"',
    ]);
  });
});
