// The real SSM reader used by the Lambda handlers (kept apart so the CLI and tests need no SSM client).
import { GetParametersCommand, SSMClient } from "@aws-sdk/client-ssm";
import type { ParameterFetcher } from "./secrets.ts";

/** Fetches parameters in batches of 10 (the GetParameters limit), decrypting SecureStrings. */
export function ssmFetcher(client: SSMClient = new SSMClient({})): ParameterFetcher {
  return async (names) => {
    const values = new Map<string, string>();
    for (let i = 0; i < names.length; i += 10) {
      const out = await client.send(new GetParametersCommand({ Names: names.slice(i, i + 10), WithDecryption: true }));
      for (const p of out.Parameters ?? []) if (p.Name && p.Value !== undefined) values.set(p.Name, p.Value);
    }
    return values;
  };
}
