// The emulator core and its Zenlayer dialect over real HTTP: signing as the real gateway checks it,
// paging and filters, every fault action, stats, drift and determinism.
import { Agent, request } from "undici";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  DEMO_CREDENTIALS,
  type Emulator,
  generateCatalogue,
  startEmulator,
  zenlayerDialect,
} from "../../../lib/emulator/index.ts";
import { signZc2 } from "../../../lib/providers/zenlayer/sign.ts";

const VERSIONS = { bmc: "2022-11-20", zec: "2025-09-01", vm: "2023-03-13" } as const;
type Service = keyof typeof VERSIONS;
const CONTENT_TYPE = "application/json; charset=utf-8";

interface CallOptions {
  action?: string;
  /** Unix seconds; default now. */
  ts?: number;
  accessKeyId?: string;
  secret?: string;
  bearer?: string;
  headers?: Record<string, string>;
  /** Change the body after signing it. */
  tamper?: (raw: string) => string;
}

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  // biome-ignore lint/suspicious/noExplicitAny: provider JSON under test.
  json: any;
}

const agent = new Agent({ keepAliveTimeout: 1_000, headersTimeout: 10_000, bodyTimeout: 10_000 });

async function call(emu: Emulator, service: Service, body: unknown, opts: CallOptions = {}): Promise<Answer> {
  const raw = typeof body === "string" ? body : JSON.stringify(body);
  const headers: Record<string, string> = {
    "content-type": CONTENT_TYPE,
    "x-zc-action": opts.action ?? "DescribeImages",
    "x-zc-service": service,
    "x-zc-version": VERSIONS[service],
  };
  if (opts.bearer !== undefined) {
    headers["authorization"] = `Bearer ${opts.bearer}`;
  } else {
    const timestamp = opts.ts ?? Math.floor(Date.now() / 1000);
    const sig = signZc2({
      host: new URL(emu.url).host,
      contentType: CONTENT_TYPE,
      body: raw,
      timestamp,
      accessKeyId: opts.accessKeyId ?? emu.credentials.zenlayer.accessKeyId,
      accessKeyPassword: opts.secret ?? emu.credentials.zenlayer.accessKeySecret,
    });
    headers["x-zc-timestamp"] = String(timestamp);
    headers["x-zc-signature-method"] = "ZC2-HMAC-SHA256";
    headers["authorization"] = sig.authorization;
  }
  const res = await request(`${emu.url}/api/v2/${service}`, {
    method: "POST",
    headers: { ...headers, ...opts.headers },
    body: opts.tamper ? opts.tamper(raw) : raw,
    dispatcher: agent,
  });
  const text = await res.body.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.statusCode, headers: res.headers, text, json };
}

const zoneIds = (emu: Emulator, api: "zenlayer-zec" | "zenlayer-vm", zone: string): string[] =>
  (emu.catalogue.get(api)?.get(zone) ?? []).map((r) => String(r["imageId"]));

let emu: Emulator;

beforeAll(async () => {
  emu = await startEmulator({ dialects: [zenlayerDialect] });
});
afterEach(() => {
  emu.clearFaults();
  emu.stats.reset();
  emu.clockSkewMs = 0;
  emu.latencyMs = 0;
});
afterAll(async () => {
  await emu.close();
  await agent.close();
});

describe("DescribeImages (zec, vm, bmc)", () => {
  it("pages a large zec zone in catalogue order with an honest totalCount", async () => {
    const ids: string[] = [];
    const sizes: number[] = [];
    for (let pageNum = 1; pageNum <= 4; pageNum++) {
      const a = await call(emu, "zec", { zoneId: "asia-east-1a", pageNum, pageSize: 1000 });
      expect(a.status).toBe(200);
      expect(a.json.response.totalCount).toBe(2600);
      sizes.push(a.json.response.dataSet.length);
      ids.push(...a.json.response.dataSet.map((r: { imageId: string }) => r.imageId));
    }
    expect(sizes).toEqual([1000, 1000, 600, 0]);
    expect(ids).toEqual(zoneIds(emu, "zenlayer-zec", "asia-east-1a"));
    expect(new Set(ids).size).toBe(2600);
  });

  it("wraps answers in the documented envelope with one request id", async () => {
    const a = await call(emu, "zec", { zoneId: "sa-east-1a" });
    expect(a.json.requestId).toMatch(/^T[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}$/);
    expect(a.json.response.requestId).toBe(a.json.requestId);
    expect(a.json.response.dataSet).toHaveLength(20); // the documented default pageSize
    expect(Object.keys(a.json.response.dataSet[0]).sort()).toEqual(
      [
        "category",
        "imageDescription",
        "imageId",
        "imageName",
        "imageSize",
        "imageSource",
        "imageStatus",
        "imageType",
        "imageVersion",
        "minDiskSize",
        "nicNetworkType",
        "osType",
        "tags",
      ].sort(),
    );
  });

  it("refuses a page size over 1000, a page number under 1 and a missing zone id", async () => {
    const big = await call(emu, "zec", { zoneId: "asia-east-1a", pageSize: 1001 });
    expect([big.status, big.json.code]).toEqual([400, "INVALID_PARAMETER_VALUE"]);
    const zero = await call(emu, "vm", { zoneId: "FRA-A", pageNum: 0 });
    expect([zero.status, zero.json.code]).toEqual([400, "INVALID_PARAMETER_VALUE"]);
    const missing = await call(emu, "vm", { pageSize: 10 });
    expect([missing.status, missing.json.code]).toEqual([400, "INVALID_PARAMETER_MISSING"]);
  });

  it("answers 404 INVALID_ZONE_NOT_FOUND for an unknown zone", async () => {
    const a = await call(emu, "zec", { zoneId: "SEL--A" });
    expect(a.status).toBe(404);
    expect(a.json.code).toBe("INVALID_ZONE_NOT_FOUND");
    expect(a.json.requestId).toMatch(/^T/);
  });

  it("honours the documented filters", async () => {
    const zone = emu.catalogue.get("zenlayer-vm")?.get("FRA-A") ?? [];
    const linux = await call(emu, "vm", { zoneId: "FRA-A", osType: "Linux", pageSize: 1000 });
    expect(linux.json.response.totalCount).toBe(zone.filter((r) => r["osType"] === "linux").length);
    expect(linux.json.response.totalCount).toBeGreaterThan(0);

    const unavailable = await call(emu, "vm", { zoneId: "FRA-A", imageStatus: "UNAVAILABLE", pageSize: 1000 });
    expect(unavailable.json.response.totalCount).toBe(zone.filter((r) => r["imageStatus"] === "UNAVAILABLE").length);

    const picked = [zone[5]?.["imageId"], zone[700]?.["imageId"]];
    const byId = await call(emu, "vm", { zoneId: "FRA-A", imageIds: picked });
    expect(byId.json.response.dataSet.map((r: { imageId: string }) => r.imageId)).toEqual(picked);

    const custom = await call(emu, "zec", { zoneId: "na-west-1a", imageType: "CUSTOM_IMAGE", pageSize: 1000 });
    expect(custom.json.response.dataSet.every((r: { imageType: string }) => r.imageType === "CUSTOM_IMAGE")).toBe(true);
    expect(custom.json.response.totalCount).toBeGreaterThan(0);

    const named = await call(emu, "zec", { zoneId: "na-west-1a", imageName: "Ubuntu Server 22.04", pageSize: 1000 });
    expect(named.json.response.totalCount).toBeGreaterThan(0);
    expect(named.json.response.dataSet.every((r: { imageName: string }) => r.imageName.includes("22.04"))).toBe(true);

    const badType = await call(emu, "zec", { zoneId: "na-west-1a", imageIds: "ubuntu2204_20240712" });
    expect([badType.status, badType.json.code]).toEqual([400, "INVALID_PARAMETER_VALUE"]);
  });

  it("lists every bmc image in one call and filters by catalog whatever its case", async () => {
    const all = await call(emu, "bmc", {});
    const images = emu.catalogue.get("zenlayer-bmc")?.get("global") ?? [];
    expect(all.status).toBe(200);
    expect(all.json.response.images).toEqual(images);
    expect(images.length).toBe(60);
    const centos = await call(emu, "bmc", { catalog: "CENTOS" });
    expect(centos.json.response.images.length).toBe(
      images.filter((r) => String(r["catalog"]).toLowerCase() === "centos").length,
    );
    expect(centos.json.response.images.length).toBeGreaterThan(0);
  });

  it("rejects an unknown action, a malformed body and a wrong version", async () => {
    const action = await call(emu, "zec", {}, { action: "RunInstances" });
    expect([action.status, action.json.code]).toEqual([400, "INVALID_ACTION"]);
    const malformed = await call(emu, "zec", "{zoneId: asia-east-1a");
    expect([malformed.status, malformed.json.code]).toEqual([400, "INVALID_PARAMETER"]);
    const version = await call(emu, "zec", { zoneId: "asia-east-1a" }, { headers: { "x-zc-version": "2022-11-20" } });
    expect(version.status).toBe(400);
  });
});

describe("DescribeZones", () => {
  it("lists the catalogue's zones for zec and vm, filtered by zoneIds", async () => {
    const zec = await call(emu, "zec", {}, { action: "DescribeZones" });
    expect(zec.json.response.zoneSet.map((z: { zoneId: string }) => z.zoneId)).toEqual([
      "asia-east-1a",
      "asia-southeast-1a",
      "na-west-1a",
      "eu-central-1a",
      "sa-east-1a",
    ]);
    const vm = await call(emu, "vm", { zoneIds: ["LAX-A", "NOPE-A"] }, { action: "DescribeZones" });
    expect(vm.json.response.zoneSet).toEqual([{ zoneId: "LAX-A", zoneName: "Los Angeles A" }]);
    expect(emu.stats.count({ action: "DescribeZones", scope: "" })).toBe(2);
  });
});

describe("authentication", () => {
  it("rejects a wrong secret, an unknown key and a body changed after signing", async () => {
    const wrong = await call(emu, "zec", { zoneId: "asia-east-1a" }, { secret: "not-the-secret-at-all-000000" });
    expect([wrong.status, wrong.json.code]).toEqual([401, "AUTH_FAILURE_SIGNATURE_INVALID"]);
    const unknown = await call(emu, "zec", { zoneId: "asia-east-1a" }, { accessKeyId: "ZLNOSUCHKEY00000" });
    expect([unknown.status, unknown.json.code]).toEqual([401, "AUTH_FAILURE_ACCESS_KEY_NOT_FOUND"]);
    const tampered = await call(
      emu,
      "zec",
      { zoneId: "asia-east-1a", pageSize: 1 },
      { tamper: (raw) => raw.replace('"pageSize":1', '"pageSize":2') },
    );
    expect([tampered.status, tampered.json.code]).toEqual([401, "AUTH_FAILURE_SIGNATURE_INVALID"]);
    expect(wrong.text).not.toContain(emu.credentials.zenlayer.accessKeySecret);
  });

  it("signs over the Content-Type as sent", async () => {
    const a = await call(emu, "zec", { zoneId: "asia-east-1a" }, { headers: { "content-type": "application/json" } });
    expect([a.status, a.json.code]).toEqual([401, "AUTH_FAILURE_SIGNATURE_INVALID"]);
  });

  it("refuses timestamps more than 300 s away from its clock", async () => {
    const now = Math.floor(Date.now() / 1000);
    const old = await call(emu, "zec", { zoneId: "asia-east-1a" }, { ts: now - 301 });
    expect([old.status, old.json.code]).toEqual([401, "AUTH_FAILURE_SIGNATURE_EXPIRED"]);
    const recent = await call(emu, "zec", { zoneId: "asia-east-1a" }, { ts: now - 200 });
    expect(recent.status).toBe(200);
  });

  it("follows clockSkewMs", async () => {
    emu.clockSkewMs = 10 * 60_000;
    const fresh = await call(emu, "vm", { zoneId: "FRA-A" });
    expect([fresh.status, fresh.json.code]).toEqual([401, "AUTH_FAILURE_SIGNATURE_EXPIRED"]);
    const future = await call(emu, "vm", { zoneId: "FRA-A" }, { ts: Math.floor(Date.now() / 1000) + 600 });
    expect(future.status).toBe(200);
  });

  it("accepts the Bearer token and rejects any other", async () => {
    const ok = await call(emu, "vm", { zoneId: "HKG-A" }, { bearer: emu.credentials.zenlayer.token });
    expect(ok.status).toBe(200);
    const bad = await call(emu, "vm", { zoneId: "HKG-A" }, { bearer: "zl-wrong-token" });
    expect([bad.status, bad.json.code]).toEqual([401, "AUTH_FAILURE_TOKEN_INVALID"]);
  });

  it("uses the demo credentials by default without sharing the frozen object", () => {
    expect(emu.credentials).toEqual(DEMO_CREDENTIALS);
    expect(emu.credentials).not.toBe(DEMO_CREDENTIALS);
    expect(DEMO_CREDENTIALS.zenlayer.accessKeySecret.length).toBeGreaterThanOrEqual(24);
    expect(DEMO_CREDENTIALS.tencent.secretId).toMatch(/^AKID/);
  });
});

describe("routing and stats", () => {
  it("answers unknown routes with a JSON 404 and does not count them", async () => {
    const res = await request(`${emu.url}/api/v2/nope`, { method: "POST", body: "{}", dispatcher: agent });
    expect(res.statusCode).toBe(404);
    expect(JSON.parse(await res.body.text()).error).toBe("NotFound");
    expect(emu.stats.total).toBe(0);
  });

  it("counts requests by api, action, scope and page with their statuses", async () => {
    await call(emu, "zec", { zoneId: "eu-central-1a", pageNum: 1, pageSize: 500 });
    await call(emu, "zec", { zoneId: "eu-central-1a", pageNum: 2, pageSize: 500 });
    await call(emu, "zec", { zoneId: "nowhere-1a" });
    await call(emu, "bmc", {});
    expect(emu.stats.total).toBe(4);
    expect(emu.stats.count({ api: "zenlayer-zec" })).toBe(3);
    expect(emu.stats.count({ scope: "eu-central-1a", pageNumber: 2 })).toBe(1);
    expect(emu.stats.count({ api: "zenlayer-bmc", scope: "global", action: "DescribeImages" })).toBe(1);
    expect(emu.stats.log.map((e) => e.status)).toEqual([200, 200, 404, 200]);
    emu.stats.reset();
    expect(emu.stats.total).toBe(0);
  });

  it("applies latencyMs to every request", async () => {
    emu.latencyMs = 120;
    const t0 = performance.now();
    await call(emu, "bmc", {});
    expect(performance.now() - t0).toBeGreaterThanOrEqual(110);
  });
});

describe("faults", () => {
  const page = (zoneId: string, pageNum = 1) => ({ zoneId, pageNum, pageSize: 1000 });

  it("failure: the dialect's envelope, Retry-After, once by default", async () => {
    emu.inject({
      match: { api: "zenlayer-zec" },
      action: { type: "failure", failure: "throttle", retryAfterSeconds: 3 },
    });
    const throttled = await call(emu, "zec", page("asia-east-1a"));
    expect([throttled.status, throttled.json.code]).toEqual([429, "REQUEST_LIMIT_EXCEEDED"]);
    expect(throttled.headers["retry-after"]).toBe("3");
    expect(throttled.json.requestId).toMatch(/^T/);
    expect((await call(emu, "zec", page("asia-east-1a"))).status).toBe(200);
  });

  it("failure: each kind maps to the documented status and code", async () => {
    const kinds = [
      ["internal", 500, "INTERNAL_SERVER_ERROR"],
      ["unavailable", 503, "SERVICE_TEMPORARY_UNAVAILABLE"],
      ["auth", 401, "AUTH_FAILURE_SIGNATURE_INVALID"],
      ["expired", 401, "AUTH_FAILURE_SIGNATURE_EXPIRED"],
    ] as const;
    for (const [failure, status, code] of kinds) {
      emu.inject({ action: { type: "failure", failure } });
      const a = await call(emu, "vm", page("SIN-A"));
      expect([a.status, a.json.code]).toEqual([status, code]);
    }
  });

  it("http: sends the raw reply", async () => {
    emu.inject({
      action: { type: "http", status: 403, body: "<html>challenge</html>", headers: { "cf-mitigated": "challenge" } },
    });
    const a = await call(emu, "bmc", {});
    expect(a.status).toBe(403);
    expect(a.headers["cf-mitigated"]).toBe("challenge");
    expect(a.text).toBe("<html>challenge</html>");
  });

  it("truncate: only the first half of the body arrives", async () => {
    const whole = await call(emu, "vm", page("SIN-A"));
    emu.inject({ action: { type: "truncate" } });
    const cut = await call(emu, "vm", page("SIN-A"));
    expect(cut.status).toBe(200);
    expect(cut.json).toBeUndefined();
    expect(cut.text.length).toBeGreaterThan(whole.text.length / 2 - 50);
    expect(cut.text.length).toBeLessThan(whole.text.length / 2 + 50);
    const anonymous = (text: string) => text.replaceAll(/T[0-9A-F-]{36}/g, "T-ID");
    expect(anonymous(whole.text).startsWith(anonymous(cut.text))).toBe(true);
  });

  it("truncate with abort: the connection dies mid-body", async () => {
    emu.inject({ action: { type: "truncate", abort: true } });
    await expect(call(emu, "vm", page("SIN-A"))).rejects.toThrow();
    expect(emu.stats.log[0]?.status).toBe(200);
  });

  it("reset: the socket closes without an answer", async () => {
    emu.inject({ match: { scope: "HKG-A" }, action: { type: "reset" } });
    await expect(call(emu, "vm", page("HKG-A"))).rejects.toThrow();
    expect(emu.stats.log[0]?.status).toBe(0);
    expect((await call(emu, "vm", page("HKG-A"))).status).toBe(200);
  });

  it("delay: answers normally, late", async () => {
    emu.inject({ action: { type: "delay", ms: 150 } });
    const t0 = performance.now();
    const a = await call(emu, "bmc", {});
    expect(performance.now() - t0).toBeGreaterThanOrEqual(140);
    expect(a.status).toBe(200);
  });

  it("mutate: an image disappears between page 1 and page 2", async () => {
    const local = await startEmulator({ dialects: [zenlayerDialect], scale: 0.5 });
    try {
      const before = zoneIds(local, "zenlayer-zec", "asia-east-1a");
      expect(before.length).toBe(1300);
      local.inject({
        match: { scope: "asia-east-1a", pageNumber: 2 },
        action: { type: "mutate", apply: (c) => c.get("zenlayer-zec")?.get("asia-east-1a")?.splice(0, 1) },
      });
      const p1 = await call(local, "zec", page("asia-east-1a", 1));
      const p2 = await call(local, "zec", page("asia-east-1a", 2));
      expect(p1.json.response.totalCount).toBe(1300);
      expect(p2.json.response.totalCount).toBe(1299);
      const seen = [...p1.json.response.dataSet, ...p2.json.response.dataSet].map(
        (r: { imageId: string }) => r.imageId,
      );
      // The shift makes the first image of page 2 slide onto page 1's range: a naive walk misses it.
      expect(seen).not.toContain(before[1000]);
      expect(seen.length).toBe(1299);
    } finally {
      await local.close();
    }
  });

  it("transform: a lying totalCount and an empty list with HTTP 200", async () => {
    emu.inject({
      action: {
        type: "transform",
        apply: (j) => ({ ...j, response: { ...j.response, totalCount: 5, dataSet: [] } }),
      },
    });
    const a = await call(emu, "zec", page("eu-central-1a"));
    expect(a.status).toBe(200);
    expect(a.json.response.totalCount).toBe(5);
    expect(a.json.response.dataSet).toEqual([]);
    expect(a.headers["content-length"]).toBe(String(Buffer.byteLength(a.text)));
  });

  it("after and times: lets N through, then fails M, then recovers", async () => {
    emu.inject({ match: { api: "zenlayer-vm" }, after: 2, times: 2, action: { type: "failure", failure: "internal" } });
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await call(emu, "vm", page("LAX-A"))).status);
    // Requests to other APIs do not consume the fault's budget.
    expect((await call(emu, "bmc", {})).status).toBe(200);
    expect(statuses).toEqual([200, 200, 500, 500, 200]);
  });

  it("times: Infinity lasts until clearFaults()", async () => {
    emu.inject({ times: Number.POSITIVE_INFINITY, action: { type: "failure", failure: "unavailable" } });
    for (let i = 0; i < 3; i++) expect((await call(emu, "bmc", {})).status).toBe(503);
    emu.clearFaults();
    expect((await call(emu, "bmc", {})).status).toBe(200);
  });

  it("rejects nonsense fault budgets", () => {
    expect(() => emu.inject({ times: 0, action: { type: "reset" } })).toThrow(RangeError);
    expect(() => emu.inject({ after: -1, action: { type: "reset" } })).toThrow(RangeError);
  });

  it("close() ends promptly with a request still delayed", async () => {
    const local = await startEmulator({ dialects: [zenlayerDialect], scale: 0.01 });
    local.inject({ action: { type: "delay", ms: 30_000 } });
    const pending = call(local, "bmc", {}).catch((err: unknown) => err);
    await new Promise((r) => setTimeout(r, 50));
    const t0 = performance.now();
    await local.close();
    expect(performance.now() - t0).toBeLessThan(1_000);
    expect(await pending).toBeInstanceOf(Error);
  });
});

describe("drift", () => {
  it("changes distinct images and reports exactly what it did", async () => {
    const local = await startEmulator({ dialects: [zenlayerDialect], scale: 0.1, seed: 7 });
    try {
      const before = structuredClone(local.catalogue);
      const report = local.drift({ add: 6, remove: 5, unusable: 4, touch: 3 });
      expect([report.added.length, report.removed.length, report.unusable.length, report.touched.length]).toEqual([
        6, 5, 4, 3,
      ]);
      const all = [...report.added, ...report.removed, ...report.unusable, ...report.touched];
      expect(new Set(all.map((c) => `${c.api}/${c.scope}/${c.imageId}`)).size).toBe(18);

      const find = (c: { api: string; scope: string; imageId: string }, cat = local.catalogue) =>
        cat
          .get(c.api as "zenlayer-zec")
          ?.get(c.scope)
          ?.find((r) => r["imageId"] === c.imageId);
      for (const c of report.removed) expect(find(c)).toBeUndefined();
      for (const c of report.added) {
        expect(find(c, before)).toBeUndefined();
        expect(find(c)).toBeDefined();
      }
      for (const c of report.unusable) {
        expect(c.api).not.toBe("zenlayer-bmc");
        expect(find(c, before)?.["imageStatus"]).toBe("AVAILABLE");
        expect(find(c)?.["imageStatus"]).toBe("UNAVAILABLE");
      }
      for (const c of report.touched) expect(find(c)).not.toEqual(find(c, before));
      // Only usable images are changed, so each change is visible to the next sync as exactly one event.
      for (const c of [...report.removed, ...report.touched]) {
        const was = find(c, before);
        expect(c.api === "zenlayer-bmc" || was?.["imageStatus"] === "AVAILABLE").toBe(true);
      }

      let total = 0;
      for (const scopes of local.catalogue.values()) for (const r of scopes.values()) total += r.length;
      let totalBefore = 0;
      for (const scopes of before.values()) for (const r of scopes.values()) totalBefore += r.length;
      expect(total).toBe(totalBefore + 6 - 5);

      // The wire agrees with the report.
      const gone = report.removed.find((c) => c.api === "zenlayer-zec" || c.api === "zenlayer-vm");
      if (gone) {
        const service = gone.api === "zenlayer-zec" ? "zec" : "vm";
        const a = await call(local, service, { zoneId: gone.scope, imageIds: [gone.imageId] });
        expect(a.json.response.totalCount).toBe(0);
      }
    } finally {
      await local.close();
    }
  });

  it("never marks bmc images unusable: they carry no status and can only disappear", async () => {
    // The second emulator's dialect lacks the optional isUsable: the core's own probe still decides.
    const { isUsable: _, ...plain } = zenlayerDialect;
    for (const dialects of [[zenlayerDialect], [plain]]) {
      const local = await startEmulator({ scale: 0.05, dialects });
      try {
        const report = local.drift({ unusable: 3, remove: 1, apis: ["zenlayer-bmc"] });
        expect(report.unusable).toEqual([]);
        expect(report.removed).toHaveLength(1);
        const vm = local.drift({ unusable: 2, apis: ["zenlayer-vm"] });
        expect(vm.unusable).toHaveLength(2);
      } finally {
        await local.close();
      }
    }
  });

  it("is reproducible for a seed and limited to the chosen APIs", () => {
    const a = generateCatalogue([zenlayerDialect], 11, 0.05);
    const b = generateCatalogue([zenlayerDialect], 11, 0.05);
    expect(a).toEqual(b);
    return Promise.all([
      startEmulator({ catalogue: a, dialects: [zenlayerDialect] }),
      startEmulator({ catalogue: b, dialects: [zenlayerDialect] }),
    ]).then(async ([x, y]) => {
      try {
        const rx = x.drift({ add: 3, remove: 3, touch: 3, unusable: 3, apis: ["zenlayer-vm"], seed: 99 });
        const ry = y.drift({ add: 3, remove: 3, touch: 3, unusable: 3, apis: ["zenlayer-vm"], seed: 99 });
        expect(rx).toEqual(ry);
        expect(x.catalogue).toEqual(y.catalogue);
        const apis = new Set([...rx.added, ...rx.removed, ...rx.unusable, ...rx.touched].map((c) => c.api));
        expect([...apis]).toEqual(["zenlayer-vm"]);
      } finally {
        await Promise.all([x.close(), y.close()]);
      }
    });
  });
});

describe("catalogue", () => {
  it("is deterministic for one seed and differs for another", () => {
    const a = generateCatalogue([zenlayerDialect], 20240712, 0.2);
    expect(generateCatalogue([zenlayerDialect], 20240712, 0.2)).toEqual(a);
    expect(generateCatalogue([zenlayerDialect], 20240713, 0.2)).not.toEqual(a);
  });

  it("is the default emulator's catalogue, sized so big zones take several pages", () => {
    expect(generateCatalogue([zenlayerDialect], 20240712, 1)).toEqual(emu.catalogue);
    const sizes = (api: "zenlayer-zec" | "zenlayer-vm") =>
      [...(emu.catalogue.get(api)?.values() ?? [])].map((records) => records.length);
    expect(sizes("zenlayer-zec")).toEqual([2600, 1700, 1300, 900, 450]);
    expect(sizes("zenlayer-vm")).toEqual([1500, 1100, 700, 300]);
  });

  it("keeps ids unique per zone and shaped like the documented ones", () => {
    for (const [api, scopes] of emu.catalogue) {
      for (const records of scopes.values()) {
        const ids = records.map((r) => String(r["imageId"]));
        expect(new Set(ids).size).toBe(ids.length);
        for (const id of ids) {
          if (api === "zenlayer-vm") expect(id).toMatch(/^img-[A-Za-z0-9]{25}$/);
          if (api === "zenlayer-bmc")
            expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
          if (api === "zenlayer-zec") expect(id).toMatch(/^(img-[a-z0-9]{20}|[a-z0-9-]+_\d{8})$/);
        }
      }
    }
  });

  it("keeps at least one image per zone at a tiny scale", () => {
    const tiny = generateCatalogue([zenlayerDialect], 1, 0.0001);
    for (const scopes of tiny.values()) for (const records of scopes.values()) expect(records.length).toBe(1);
  });
});
