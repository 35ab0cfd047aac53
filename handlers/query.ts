// Read-only query entry, invoked with IAM (lambda:InvokeFunction) by consumers that are not TypeScript:
// {action: "latest" | "changes" | "status", ...params} -> JSON (see lib/query/invoke.ts and the README).
import { handleQuery } from "../lib/query/invoke.ts";
import { createQueryReader } from "../lib/query/reader.ts";
import { loadQuerySettings } from "../lib/query/settings.ts";

const settings = loadQuerySettings(process.env);
const reader = createQueryReader({ tableName: settings.tableName, region: settings.region });

export async function handler(event: unknown) {
  return handleQuery(event, { reader, staleAfterHours: settings.staleAfterHours });
}
