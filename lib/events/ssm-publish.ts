// Latest-image pointers as SSM String parameters, /<stack>/latest/<account>/<scope>/<osFamily>/<osVersion>, so
// that CloudFormation ({{resolve:ssm:...}}) and Terraform (aws_ssm_parameter) read them at deploy time the way
// they read AWS's own "latest AMI" parameters. Written by the stream consumer on pointer moves only.
import { PutParameterCommand, SSMClient } from "@aws-sdk/client-ssm";
import { ConfigError } from "../errors.ts";
import type { LatestPointer } from "../model.ts";

/** Publishes pointers; resolves to one boolean per pointer: true when its parameter holds its image. Never throws. */
export type ParameterPublisher = (pointers: readonly LatestPointer[]) => Promise<boolean[]>;

/** SSM names allow letters, digits, "_", ".", "-" and "/" (the hierarchy separator, so not inside a segment). */
const UNSAFE = /[^a-zA-Z0-9_.-]/g;

/** One segment of a parameter name: every other character becomes "_" ("ap guangzhou/1" -> "ap_guangzhou_1"). */
export function parameterSegment(value: string): string {
  return value.replace(UNSAFE, "_") || "_";
}

/** The parameter of a pointer; a pointer without a version uses the segment "any". */
export function parameterName(
  stackName: string,
  p: Pick<LatestPointer, "account" | "scope" | "osFamily" | "osVersion">,
): string {
  return `/${[stackName, "latest", p.account, p.scope, p.osFamily, p.osVersion ?? "any"].map(parameterSegment).join("/")}`;
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
    // Records come in stream order; a pointer that moved twice in one batch only needs its last image, and
    // putting both at once could leave the older one last.
    const last = new Map<string, number>();
    for (const [i, p] of pointers.entries()) last.set(parameterName(opts.stackName, p), i);
    const jobs = [...last.entries()];
    const done = new Map<string, boolean>();
    let next = 0;
    const worker = async () => {
      while (next < jobs.length) {
        const [name, i] = jobs[next++] as [string, number];
        const p = pointers[i] as LatestPointer;
        try {
          await opts.client.send(
            new PutParameterCommand({
              Name: name,
              Value: p.imageId,
              Type: "String",
              Overwrite: true,
              Description:
                `image-sync: newest usable ${p.osFamily} ${p.osVersion ?? "(any version)"} image in ${p.account} ${p.scope}`.slice(
                  0,
                  1024,
                ),
            }),
          );
          done.set(name, true);
        } catch (e) {
          done.set(name, false);
          opts.onError?.("PutParameter failed", { name, error: (e as Error).message });
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, jobs.length) }, worker));
    return pointers.map((p) => done.get(parameterName(opts.stackName, p)) === true);
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
