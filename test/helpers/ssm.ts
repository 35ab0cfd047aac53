// A local HTTP endpoint speaking SSM's JSON protocol (PutParameter only), so tests drive the real
// @aws-sdk/client-ssm client. It keeps every parameter's value and version like Parameter Store does, and
// `failWhen` decides per call whether to answer an error instead.
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";

export interface PutParameterRequest {
  Name: string;
  Value: string;
  Type?: string;
  Overwrite?: boolean;
  Description?: string;
}

export interface LocalSsm {
  endpoint: string;
  /** Every PutParameter request received, in order (failed ones included). */
  puts: PutParameterRequest[];
  /** The stored parameters: value and version (1 for a new one, +1 per overwrite). */
  parameters: Map<string, { value: string; version: number; type: string }>;
  /** Answer this call with an error; `attempt` counts the calls for the same name so far (0 for the first). */
  failWhen: (put: PutParameterRequest, attempt: number) => "throttle" | "denied" | false;
  close(): Promise<void>;
}

// Parameter Store's own name rule: letters, digits, "_", ".", "-" and "/" separators, at most 15 levels.
const VALID_NAME = /^\/?[a-zA-Z0-9_.\-/]{1,1011}$/;

export async function startLocalSsm(): Promise<LocalSsm> {
  const attempts = new Map<string, number>();
  const ssm: LocalSsm = {
    endpoint: "",
    puts: [],
    parameters: new Map(),
    failWhen: () => false,
    close: async () => {},
  };
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (c) => {
      body += c;
    });
    req.on("end", () => {
      const reply = (status: number, payload: object) => {
        res.writeHead(status, { "content-type": "application/x-amz-json-1.1" });
        res.end(JSON.stringify(payload));
      };
      if (
        req.headers["x-amz-target"] !== "AmazonSSM.PutParameter" ||
        !String(req.headers["content-type"]).startsWith("application/x-amz-json-1.1")
      ) {
        reply(400, { __type: "UnknownOperationException", message: String(req.headers["x-amz-target"]) });
        return;
      }
      const put = JSON.parse(body) as PutParameterRequest;
      ssm.puts.push(put);
      const n = attempts.get(put.Name) ?? 0;
      attempts.set(put.Name, n + 1);
      const fail = ssm.failWhen(put, n);
      if (fail === "throttle") {
        reply(400, { __type: "ThrottlingException", message: "Rate exceeded" });
        return;
      }
      if (fail === "denied") {
        reply(400, { __type: "AccessDeniedException", message: "not authorized to perform: ssm:PutParameter" });
        return;
      }
      if (!VALID_NAME.test(put.Name) || put.Name.split("/").length - 1 > 15) {
        reply(400, { __type: "ValidationException", message: `invalid parameter name ${put.Name}` });
        return;
      }
      const existing = ssm.parameters.get(put.Name);
      if (existing && !put.Overwrite) {
        reply(400, { __type: "ParameterAlreadyExists", message: "The parameter already exists." });
        return;
      }
      const version = (existing?.version ?? 0) + 1;
      ssm.parameters.set(put.Name, { value: put.Value, version, type: put.Type ?? "String" });
      reply(200, { Version: version, Tier: "Standard" });
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  ssm.endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  ssm.close = () =>
    new Promise<void>((r) => {
      server.close(() => r());
      server.closeAllConnections();
    });
  return ssm;
}
