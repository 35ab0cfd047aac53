// A local HTTP endpoint speaking SQS's JSON protocol (SendMessageBatch only), so tests drive the real
// @aws-sdk/client-sqs client, which checks each message's MD5.
import { createHash } from "node:crypto";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";

export interface LocalSqs {
  endpoint: string;
  /** Every message sent, in order. */
  messages: Array<{ messageId: string; queueUrl: string; body: string }>;
  close(): Promise<void>;
}

export async function startLocalSqs(): Promise<LocalSqs> {
  const sqs: LocalSqs = { endpoint: "", messages: [], close: async () => {} };
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (c) => {
      body += c;
    });
    req.on("end", () => {
      res.setHeader("content-type", "application/x-amz-json-1.0");
      if (req.headers["x-amz-target"] !== "AmazonSQS.SendMessageBatch") {
        res.writeHead(400);
        res.end(JSON.stringify({ __type: "com.amazonaws.sqs#UnsupportedOperation", message: "not emulated" }));
        return;
      }
      const { QueueUrl, Entries } = JSON.parse(body) as {
        QueueUrl: string;
        Entries: Array<{ Id: string; MessageBody: string }>;
      };
      const Successful = Entries.map((e) => {
        const messageId = `m-${sqs.messages.length + 1}`;
        sqs.messages.push({ messageId, queueUrl: QueueUrl, body: e.MessageBody });
        return {
          Id: e.Id,
          MessageId: messageId,
          MD5OfMessageBody: createHash("md5").update(e.MessageBody).digest("hex"),
        };
      });
      res.writeHead(200);
      res.end(JSON.stringify({ Successful, Failed: [] }));
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  sqs.endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  sqs.close = () =>
    new Promise<void>((r) => {
      server.close(() => r());
      server.closeAllConnections();
    });
  return sqs;
}
