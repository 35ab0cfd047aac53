// The configuration that points one account of every dialect at a running emulator (npm start).
import type { SyncConfig } from "../config.ts";
import type { ApiId } from "../model.ts";
import type { EmulatorCredentialSet } from "./types.ts";

export function demoConfig(url: string, credentials: EmulatorCredentialSet, apis?: readonly ApiId[]): SyncConfig {
  const zl = { accessKeyId: credentials.zenlayer.accessKeyId, accessKeySecret: credentials.zenlayer.accessKeySecret };
  const tc = { secretId: credentials.tencent.secretId, secretKey: credentials.tencent.secretKey };
  const accounts: SyncConfig["accounts"] = [
    { name: "zenlayer-bmc", api: "zenlayer-bmc", endpoint: url, credentials: zl },
    { name: "zenlayer-zec", api: "zenlayer-zec", endpoint: url, credentials: zl },
    // Bearer-token auth, the Zenlayer alternative to request signing.
    { name: "zenlayer-vm", api: "zenlayer-vm", endpoint: url, credentials: { token: credentials.zenlayer.token } },
    { name: "tencent-cvm", api: "tencent-cvm", endpoint: url, credentials: tc },
    { name: "tencent-image-v2", api: "tencent-image-v2", endpoint: url, credentials: tc },
    { name: "tencent-cvm-v2", api: "tencent-cvm-v2", endpoint: url, credentials: tc, signatureMethod: "HmacSHA1" },
  ];
  return { accounts: apis ? accounts.filter((a) => apis.includes(a.api)) : accounts };
}
