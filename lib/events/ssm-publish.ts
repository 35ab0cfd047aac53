// Latest-image pointers as SSM String parameters, named the way AWS names its public "latest AMI" parameters
// (the architecture in the name, the image id in a leaf):
//   /<stack>/latest/<account>/<scope>/<imageType>/<osFamily>/<osVersion or any>/<arch>/image-id
//   /<stack>/latest/<account>/<scope>/family/<image family>/<arch>/image-id
// each with a sibling `stale` parameter ("false", or "true" while the line has no usable image left, when
// `image-id` keeps naming its last image), so CloudFormation ({{resolve:ssm:...}}) and Terraform
// (aws_ssm_parameter) read both at deploy time. Pointers written before architectures (legacy) keep their
// parameter /<stack>/latest/<account>/<scope>/<osFamily>/<osVersion or any>, which holds the image id itself;
// retired by the upgrade, it gets the sibling `<name>/stale` "true". Written by the stream consumer on moves
// and staleness changes only.
import { PutParameterCommand, SSMClient } from "@aws-sdk/client-ssm";
import { ConfigError } from "../errors.ts";
import type { LatestPointer } from "../model.ts";
import { lineLabel } from "./pointer-event.ts";

/** Publishes pointers; resolves to one boolean per pointer: true when its parameters hold it. Never throws. */
export type ParameterPublisher = (pointers: readonly LatestPointer[]) => Promise<boolean[]>;

/** SSM names allow letters, digits, "_", ".", "-" and "/" (the hierarchy separator, so not inside a segment). */
const UNSAFE = /[^a-zA-Z0-9_.-]/g;

/** One segment of a parameter name: every other character becomes "_" ("ap guangzhou/1" -> "ap_guangzhou_1"). */
export function parameterSegment(value: string): string {
  return value.replace(UNSAFE, "_") || "_";
}

type NamedPointer = Pick<
  LatestPointer,
  "account" | "scope" | "osFamily" | "osVersion" | "line" | "architecture" | "imageType" | "family"
>;

/** The pointer's path below which its parameters live (a legacy pointer's path is its image parameter). */
export function parameterPath(stackName: string, p: NamedPointer): string {
  const lineSegments =
    p.line === "family"
      ? ["family", p.family ?? "", p.architecture ?? ""]
      : p.line === "os"
        ? [p.imageType ?? "", p.osFamily ?? "", p.osVersion ?? "any", p.architecture ?? ""]
        : [p.osFamily ?? "", p.osVersion ?? "any"];
  return `/${[stackName, "latest", p.account, p.scope, ...lineSegments].map(parameterSegment).join("/")}`;
}

/** The parameter holding the pointer's image id. */
export function parameterName(stackName: string, p: NamedPointer): string {
  const path = parameterPath(stackName, p);
  return p.line === undefined ? path : `${path}/image-id`;
}

/** The parameter saying whether the pointer is stale: "true" or "false". */
export const staleParameterName = (stackName: string, p: NamedPointer): string =>
  `${parameterPath(stackName, p)}/stale`;

/** The PutParameter inputs of one pointer: its image id, and whether it is stale. */
export function parameterWrites(
  stackName: string,
  p: LatestPointer,
): Array<{ Name: string; Value: string; Description: string }> {
  const what = `${lineLabel(p)} image in ${p.account} ${p.scope}`;
  const state = p.line === undefined && p.stale ? "superseded by per-architecture pointers, no longer updated: " : "";
  return [
    {
      Name: parameterName(stackName, p),
      Value: p.imageId,
      Description: `image-sync: ${state}newest usable ${what}${p.stale ? ` (stale since ${p.staleSince})` : ""}`,
    },
    {
      Name: staleParameterName(stackName, p),
      Value: String(p.stale === true),
      Description: `image-sync: "true" while ${what} names its last image, none being usable`,
    },
  ].map((w) => ({ ...w, Description: w.Description.slice(0, 1024) }));
}

export interface SsmPublisherOptions {
  client: SSMClient;
  /** The first segment of every name: the deployed stack's name (`image-sync-prod`). */
  stackName: string;
  /** Parallel PutParameter calls: Parameter Store's default throughput is low, and shared with every reader. */
  concurrency?: number;
  onError?: (message: string, fields: Record<string, unknown>) => void;
}

export function ssmParameterPublisher(opts: SsmPublisherOptions): ParameterPublisher {
  const concurrency = opts.concurrency ?? 2;
  return async (pointers) => {
    // Records come in stream order; a pointer written twice in one batch only needs its last state, and
    // putting both at once could leave the older one last.
    const last = new Map<string, number>();
    for (const [i, p] of pointers.entries()) last.set(parameterPath(opts.stackName, p), i);
    const jobs = [...last.values()].flatMap((i) =>
      parameterWrites(opts.stackName, pointers[i] as LatestPointer).map((w) => ({ i, w })),
    );
    const failed = new Set<number>();
    let next = 0;
    const worker = async () => {
      while (next < jobs.length) {
        const { i, w } = jobs[next++] as (typeof jobs)[number];
        try {
          await opts.client.send(new PutParameterCommand({ ...w, Type: "String", Overwrite: true }));
        } catch (e) {
          failed.add(i);
          opts.onError?.("PutParameter failed", { name: w.Name, error: (e as Error).message });
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, jobs.length) }, worker));
    return pointers.map((p) => {
      const i = last.get(parameterPath(opts.stackName, p)) as number;
      return !failed.has(i);
    });
  };
}

export function defaultSsmClient(opts: { endpoint?: string; region?: string; localCredentials?: boolean } = {}) {
  return new SSMClient({
    ...(opts.endpoint ? { endpoint: opts.endpoint } : {}),
    ...(opts.region ? { region: opts.region } : {}),
    ...(opts.localCredentials ? { credentials: { accessKeyId: "local", secretAccessKey: "local" } } : {}),
    // Throttling is the likely failure (a baseline publishes many parameters at once): back off adaptively.
    retryMode: "adaptive",
    maxAttempts: 5,
  });
}

/** Parameter publishing, read once at cold start: on when STACK_NAME is set, off (null) otherwise. */
export interface ParameterSettings {
  stackName: string;
  /** Another SSM endpoint (a local one, for the CLI and tests). */
  endpoint?: string;
}

export function loadParameterSettings(env: Record<string, string | undefined>): ParameterSettings | null {
  const stackName = env.STACK_NAME?.trim();
  const endpoint = env.SSM_ENDPOINT?.trim();
  if (!stackName) {
    if (endpoint) throw new ConfigError(["SSM_ENDPOINT is set but STACK_NAME is not (the parameters' prefix)"]);
    return null;
  }
  if (parameterSegment(stackName) !== stackName)
    throw new ConfigError([`STACK_NAME "${stackName}" may hold only letters, digits, "_", "." and "-"`]);
  return { stackName, ...(endpoint ? { endpoint } : {}) };
}
