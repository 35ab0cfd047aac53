// What the query Lambda needs from its environment, read once at cold start, every problem named at once.
import { ConfigError } from "../errors.ts";
import { DEFAULT_STALE_AFTER_HOURS } from "./status.ts";

export interface QuerySettings {
  tableName: string;
  region: string;
  /** The default threshold of the "status" action. */
  staleAfterHours: number;
}

export function loadQuerySettings(env: Record<string, string | undefined>): QuerySettings {
  const problems: string[] = [];
  const tableName = env.TABLE_NAME?.trim();
  if (!tableName) problems.push("TABLE_NAME is not set (the images table to query)");
  const staleAfterHours = Number(env.STALE_AFTER_HOURS ?? String(DEFAULT_STALE_AFTER_HOURS));
  if (!(staleAfterHours > 0)) problems.push("STALE_AFTER_HOURS must be a positive number");
  if (problems.length) throw new ConfigError(problems);
  return { tableName: tableName as string, region: env.AWS_REGION?.trim() || "us-east-1", staleAfterHours };
}
