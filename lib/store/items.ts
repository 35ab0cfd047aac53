// Pure builders for the single-table design: keys, items and command inputs. No I/O here.
//
//   item          PK                          SK                    GSI1 (active, sparse)            GSI2 (os)
//   image         IMG#<account>#<scope>       IMAGE#<imageId>       ACTIVE#<account>#<scope> / id    OS#<family> / <version key>#<createdAt>#...
//   scope status  SCOPES                      <account>#<scope>     -                                -
//   anomaly       ANOMALY#<account>#<scope>   <runId>               -                                -   (TTL expiresAt)
//   lease         LEASES                      <account or batch>    -                                -   (TTL expiresAt)
//   manifest      MANIFEST#<account>#<scope>  CHUNK#<nnnn>          -                                -   (see manifest.ts)
//   history       HIST#<YYYY-MM-DD>           <detectedAt>#<eventId> -                               -   (TTL expiresAt)
//   pointer (os)  PTR#<account>#<scope>       OS#<type>#<family>#<version key>#<arch>  LATEST#<family> / <version key>#<account>#<scope>#<type>#<arch>
//   pointer (fam) PTR#<account>#<scope>       FAMILY#<image family>#<arch>  -                        FAMILY#<image family> / <account>#<scope>#<arch>
//   pointer (old) PTR#<account>#<scope>       <family>#<version key> -                               LATEST#<family> / <version key>#<account>#<scope>
import type { PutCommandInput, QueryCommandInput, UpdateCommandInput } from "@aws-sdk/lib-dynamodb";
import type { ChangeEntry } from "../events/history.ts";
import type { Anomaly, LatestPointer, ScopeKey, ScopeStatus, StoredImage } from "../model.ts";

export const GSI_ACTIVE = "GSI1";
export const GSI_OS = "GSI2";
export const IMAGE_ITEM = "image";
export const SCOPE_ITEM = "scope";
export const ANOMALY_ITEM = "anomaly";
export const LEASE_PK = "LEASES";
export const HISTORY_ITEM = "history";
export const POINTER_ITEM = "pointer";
/** Anomaly items expire (DynamoDB TTL) after this long; they exist to be streamed. */
export const ANOMALY_TTL_SECONDS = 30 * 24 * 3600;

export const imagePk = (account: string, scope: string): string => `IMG#${account}#${scope}`;
export const imageSk = (imageId: string): string => `IMAGE#${imageId}`;
export const STATUS_PK = "SCOPES";
export const statusSk = (account: string, scope: string): string => `${account}#${scope}`;

/** A sort key that orders versions numerically: "9" < "10", "20.04" < "22.04"; no version sorts lowest. */
export function versionKey(version: string | null): string {
  if (!version) return "";
  return version
    .split(/[^0-9A-Za-z]+/)
    .filter(Boolean)
    .map((part) => (/^\d+$/.test(part) ? part.replace(/^0+(?=\d)/, "").padStart(10, "0") : part.toLowerCase()))
    .join(".");
}

const KEY_ATTRS = ["PK", "SK", "itemType", "GSI1PK", "GSI1SK", "GSI2PK", "GSI2SK"] as const;

export function imageItem(image: StoredImage): Record<string, unknown> {
  const item: Record<string, unknown> = {
    PK: imagePk(image.account, image.scope),
    SK: imageSk(image.imageId),
    itemType: IMAGE_ITEM,
    ...image,
  };
  if (image.state === "active") {
    item.GSI1PK = `ACTIVE#${image.account}#${image.scope}`;
    item.GSI1SK = image.imageId;
  }
  if (image.osFamily) {
    item.GSI2PK = `OS#${image.osFamily}`;
    item.GSI2SK = `${versionKey(image.osVersion)}#${image.createdAt ?? ""}#${image.account}#${image.scope}#${image.imageId}`;
  }
  return item;
}

/**
 * What the sync reads back to diff against: every attribute of an image but its raw provider record, which
 * is most of an item's size and which the diff never needs (the content hash covers it).
 */
export const SYNC_READ_ATTRIBUTES = [
  "imageId",
  "name",
  "description",
  "osType",
  "osFamily",
  "osVersion",
  "architecture",
  "imageType",
  "family",
  "status",
  "available",
  "sizeGiB",
  "createdAt",
  "account",
  "api",
  "provider",
  "scope",
  "state",
  "firstSeenAt",
  "lastChangedAt",
  "deprecatedAt",
  "deprecationReason",
  "contentHash",
  "rev",
  "lastChange",
  "replacement",
] as const;

export function scopeIndexQuery(tableName: string, key: Pick<ScopeKey, "account" | "scope">): QueryCommandInput {
  const names = Object.fromEntries(SYNC_READ_ATTRIBUTES.map((a, i) => [`#a${i}`, a]));
  return {
    ...scopeImagesQuery(tableName, key, false),
    ProjectionExpression: Object.keys(names).join(", "),
    ExpressionAttributeNames: names,
  };
}

/**
 * A conditional UpdateItem for a change built from a stored image read without its raw record (an image
 * deprecated because it is missing): every attribute but the raw record is set, the rest of the item kept.
 */
export function updateImageParams(tableName: string, image: StoredImage, previousRev: number): UpdateCommandInput {
  const item = imageItem(image);
  const names: Record<string, string> = { "#rev": "rev" };
  const values: Record<string, unknown> = { ":prevRev": previousRev };
  const sets: string[] = [];
  let i = 0;
  for (const [k, v] of Object.entries(item)) {
    if (k === "PK" || k === "SK" || k === "raw" || v === undefined) continue;
    names[`#u${i}`] = k;
    values[`:u${i}`] = v;
    sets.push(`#u${i} = :u${i}`);
    i++;
  }
  const removes = ["GSI1PK", "GSI1SK", "GSI2PK", "GSI2SK"].filter((k) => !(k in item));
  removes.forEach((k, j) => {
    names[`#r${j}`] = k;
  });
  return {
    TableName: tableName,
    Key: { PK: item.PK, SK: item.SK },
    UpdateExpression: `SET ${sets.join(", ")}${removes.length ? ` REMOVE ${removes.map((_, j) => `#r${j}`).join(", ")}` : ""}`,
    ConditionExpression: "#rev = :prevRev",
    ExpressionAttributeNames: names,
    ExpressionAttributeValues: values,
  };
}

export function imageFromItem(item: Record<string, unknown>): StoredImage {
  const copy: Record<string, unknown> = { ...item };
  for (const k of KEY_ATTRS) delete copy[k];
  return copy as unknown as StoredImage;
}

/** A write conditioned on what we read: a new image must not exist yet; a known one must still be at our rev. */
export function putImageParams(tableName: string, image: StoredImage, previousRev: number | null): PutCommandInput {
  return previousRev === null
    ? {
        TableName: tableName,
        Item: imageItem(image),
        ConditionExpression: "attribute_not_exists(PK)",
      }
    : {
        TableName: tableName,
        Item: imageItem(image),
        ConditionExpression: "#rev = :rev",
        ExpressionAttributeNames: { "#rev": "rev" },
        ExpressionAttributeValues: { ":rev": previousRev },
      };
}

export function scopeImagesQuery(
  tableName: string,
  key: Pick<ScopeKey, "account" | "scope">,
  activeOnly: boolean,
): QueryCommandInput {
  return activeOnly
    ? {
        TableName: tableName,
        IndexName: GSI_ACTIVE,
        KeyConditionExpression: "GSI1PK = :pk",
        ExpressionAttributeValues: { ":pk": `ACTIVE#${key.account}#${key.scope}` },
      }
    : {
        TableName: tableName,
        KeyConditionExpression: "PK = :pk AND begins_with(SK, :img)",
        ExpressionAttributeValues: { ":pk": imagePk(key.account, key.scope), ":img": "IMAGE#" },
      };
}

export function statusItem(status: ScopeStatus): Record<string, unknown> {
  return { PK: STATUS_PK, SK: statusSk(status.account, status.scope), itemType: SCOPE_ITEM, ...status };
}

export function statusFromItem(item: Record<string, unknown>): ScopeStatus {
  const copy: Record<string, unknown> = { ...item };
  for (const k of KEY_ATTRS) delete copy[k];
  return copy as unknown as ScopeStatus;
}

export function statusesQuery(tableName: string, account?: string): QueryCommandInput {
  return account
    ? {
        TableName: tableName,
        KeyConditionExpression: "PK = :pk AND begins_with(SK, :acct)",
        ExpressionAttributeValues: { ":pk": STATUS_PK, ":acct": `${account}#` },
      }
    : { TableName: tableName, KeyConditionExpression: "PK = :pk", ExpressionAttributeValues: { ":pk": STATUS_PK } };
}

export function anomalyItem(a: Anomaly, nowMs: number): Record<string, unknown> {
  return {
    PK: `ANOMALY#${a.account}#${a.scope}`,
    SK: a.runId,
    itemType: ANOMALY_ITEM,
    ...a,
    expiresAt: Math.floor(nowMs / 1000) + ANOMALY_TTL_SECONDS,
  };
}

/** Lease items are kept this long after their last run (DynamoDB TTL): fan-out batch keys come and go. */
export const LEASE_ITEM_TTL_SECONDS = 30 * 24 * 3600;

/**
 * Scope leases. One lease item per account holds a hold per scope (`S#<scope>`: owner and expiry), so at most one
 * sweep of a scope runs at any time whatever mix of inline runs, fan-out workers, redeliveries and re-plans, and
 * a steady run still writes the item twice (take, let go) per LEASE_CHUNK scopes. The owner is unique to one
 * invocation of the engine: a redelivered message with the same run id is another owner.
 */
export const holdAttr = (scope: string): string => `S#${scope}`;
/** The record of a scope swept completely and found unchanged: `W#<scope>` = {at, runId} (see mergeSweepRecords). */
export const sweptAttr = (scope: string): string => `W#${scope}`;
/** Scopes one lease update names (each costs about 50 characters of a 4 KB expression). */
export const LEASE_CHUNK = 50;

/** The lease item's top-level owner while it carries scope holds (what an older version reads as held). */
export const SCOPED_OWNER = "scoped";

/** A scope's hold as stored on the lease item. */
export interface ScopeHold {
  owner: string;
  until: number;
}

/**
 * Takes the holds of these scopes, all or none: each must be free or lapsed, and no account-wide lease of an
 * older version (owner, leaseUntil) may be live. The sweep records already on the item stay.
 */
export function acquireScopesParams(
  tableName: string,
  account: string,
  scopes: readonly string[],
  owner: string,
  nowMs: number,
  ttlMs: number,
): UpdateCommandInput {
  const names: Record<string, string> = { "#o": "owner", "#lu": "leaseUntil", "#u": "until" };
  // owner "scoped" and leaseUntil keep an older version's account-wide acquire (attribute_not_exists(owner) OR
  // leaseUntil < now OR owner = its own) off the account while these holds may be live.
  const sets = ["itemType = :type", "expiresAt = :expires", "#o = :scoped", "#lu = :until"];
  const conditions = ["(attribute_not_exists(#o) OR #o = :scoped OR #lu < :now)"];
  scopes.forEach((scope, i) => {
    names[`#a${i}`] = holdAttr(scope);
    sets.push(`#a${i} = :hold`);
    conditions.push(`(attribute_not_exists(#a${i}) OR #a${i}.#u < :now)`);
  });
  return {
    TableName: tableName,
    Key: { PK: LEASE_PK, SK: account },
    UpdateExpression: `SET ${sets.join(", ")}`,
    ConditionExpression: conditions.join(" AND "),
    ExpressionAttributeNames: names,
    ExpressionAttributeValues: {
      ":type": "lease",
      ":hold": { owner, until: nowMs + ttlMs } satisfies ScopeHold,
      ":scoped": SCOPED_OWNER,
      ":until": nowMs + ttlMs,
      ":now": nowMs,
      ":expires": Math.floor((nowMs + ttlMs) / 1000) + LEASE_ITEM_TTL_SECONDS,
    },
  };
}

/**
 * Lets these scopes' holds go, only if every one is still ours, and records the ones swept completely and found
 * unchanged (their status items are not rewritten: see mergeSweepRecords).
 */
export function releaseScopesParams(
  tableName: string,
  account: string,
  scopes: readonly string[],
  owner: string,
  record: SweepRecord,
  nowMs: number,
): UpdateCommandInput {
  const names: Record<string, string> = { "#ow": "owner" };
  const values: Record<string, unknown> = {
    ":owner": owner,
    ":expires": Math.floor(nowMs / 1000) + LEASE_ITEM_TTL_SECONDS,
  };
  const sets = ["expiresAt = :expires"];
  const removes: string[] = [];
  const conditions: string[] = [];
  scopes.forEach((scope, i) => {
    names[`#a${i}`] = holdAttr(scope);
    removes.push(`#a${i}`);
    conditions.push(`#a${i}.#ow = :owner`);
    const at = record.scopes[`${account}#${scope}`];
    names[`#w${i}`] = sweptAttr(scope);
    // A scope this run did not find unchanged had its status written: an older record (from a run whose clock
    // ran ahead, say) must not hide it.
    if (at === undefined) {
      removes.push(`#w${i}`);
      return;
    }
    values[`:w${i}`] = { at, runId: record.runId };
    sets.push(`#w${i} = :w${i}`);
  });
  return {
    TableName: tableName,
    Key: { PK: LEASE_PK, SK: account },
    UpdateExpression: `REMOVE ${removes.join(", ")} SET ${sets.join(", ")}`,
    ConditionExpression: conditions.join(" AND "),
    ExpressionAttributeNames: names,
    ExpressionAttributeValues: values,
  };
}

/** The scopes whose holds on a lease item are live at `nowMs`, by owner (the item as GetItem returns it). */
export function liveHolds(item: Record<string, unknown> | undefined, nowMs: number): Map<string, string> {
  const out = new Map<string, string>();
  for (const [k, v] of Object.entries(item ?? {})) {
    if (!k.startsWith("S#") || typeof v !== "object" || v === null) continue;
    const hold = v as Partial<ScopeHold>;
    if (typeof hold.until === "number" && hold.until >= nowMs && typeof hold.owner === "string")
      out.set(k.slice(2), hold.owner);
  }
  return out;
}

/** True when the lease item carries a live account-wide lease of an older version of this code. */
export function legacyLeaseLive(item: Record<string, unknown> | undefined, nowMs: number): boolean {
  return (
    typeof item?.owner === "string" &&
    item.owner !== SCOPED_OWNER &&
    !(typeof item.leaseUntil === "number" && item.leaseUntil < nowMs)
  );
}

/**
 * What a run records on its lease as it lets go: the scopes it swept completely and found unchanged, with the
 * time of each sweep. Their status items are not rewritten (nothing about them changed but the time), which
 * keeps a steady run at two writes per lease; readers fold the record into the statuses (mergeSweepRecords).
 */
export interface SweepRecord {
  runId: string;
  /** "<account>#<scope>" -> ISO time of the complete, unchanged sweep. */
  scopes: Record<string, string>;
}

export function leasesQuery(tableName: string): QueryCommandInput {
  return { TableName: tableName, KeyConditionExpression: "PK = :pk", ExpressionAttributeValues: { ":pk": LEASE_PK } };
}

/**
 * Statuses as of the latest sweeps: a scope recorded on a lease as swept unchanged after its status item was
 * last written counts as complete at that time (counts, baseline and manifest are the item's: unchanged).
 */
export function mergeSweepRecords(
  statuses: readonly ScopeStatus[],
  leaseItems: readonly Record<string, unknown>[],
): ScopeStatus[] {
  const latest = new Map<string, { at: string; runId: string }>();
  const note = (k: string, at: unknown, runId: unknown) => {
    if (typeof at !== "string") return;
    const seen = latest.get(k);
    if (!seen || at > seen.at) latest.set(k, { at, runId: String(runId) });
  };
  for (const item of leaseItems) {
    // Written by this version: one attribute per scope, so workers of one account never overwrite each other.
    for (const [attr, v] of Object.entries(item))
      if (attr.startsWith("W#") && typeof v === "object" && v !== null)
        note(`${String(item.SK)}#${attr.slice(2)}`, (v as { at?: unknown }).at, (v as { runId?: unknown }).runId);
    // Written by an older version: one record per lease item.
    const record = item.sweeps as SweepRecord | undefined;
    if (!record || typeof record !== "object" || !record.scopes) continue;
    for (const [k, at] of Object.entries(record.scopes)) note(k, at, record.runId);
  }
  return statuses.map((s) => {
    const swept = latest.get(statusSk(s.account, s.scope));
    if (!swept || swept.at <= s.lastAttemptAt) return s;
    return {
      ...s,
      lastRunId: swept.runId,
      lastAttemptAt: swept.at,
      lastOutcome: "complete",
      lastCompleteAt: swept.at,
      lastError: null,
    };
  });
}

/** Removes the scope's manifest reference (before its images change); the status item must exist. */
export function clearManifestParams(tableName: string, key: Pick<ScopeKey, "account" | "scope">): UpdateCommandInput {
  return {
    TableName: tableName,
    Key: { PK: STATUS_PK, SK: statusSk(key.account, key.scope) },
    UpdateExpression: "REMOVE manifest",
    ConditionExpression: "attribute_exists(PK)",
  };
}

// Change history: one item per change event, partitioned by the UTC day it was detected so that
// "what changed since T" is one Query per day, each reading only that day's changes in time order.
// The sort key starts with the ISO time (fixed width, so string order is time order) and ends with
// the event id, which makes a re-delivered stream record overwrite its own item.

/** History items expire (DynamoDB TTL) this long after the change by default. */
export const HISTORY_TTL_SECONDS = 30 * 24 * 3600;
const HISTORY_PK_PREFIX = "HIST#";

/** The history partition of a UTC day, "YYYY-MM-DD". */
export const historyPk = (day: string): string => `${HISTORY_PK_PREFIX}${day}`;
export const historySk = (detectedAt: string, eventId: string): string => `${detectedAt}#${eventId}`;
/** The UTC day of an ISO time. */
export const dayOf = (iso: string): string => iso.slice(0, 10);

export function historyItem(entry: ChangeEntry, ttlSeconds: number = HISTORY_TTL_SECONDS): Record<string, unknown> {
  const detectedMs = Date.parse(entry.detectedAt);
  // Expiry counts from the change, not from the write, so a re-delivered record writes the identical item.
  const base = Number.isFinite(detectedMs) ? Math.floor(detectedMs / 1000) : Math.floor(Date.now() / 1000);
  return {
    PK: historyPk(dayOf(entry.detectedAt)),
    SK: historySk(entry.detectedAt, entry.eventId),
    itemType: HISTORY_ITEM,
    ...entry,
    expiresAt: base + ttlSeconds,
  };
}

export function historyFromItem(item: Record<string, unknown>): ChangeEntry {
  const copy: Record<string, unknown> = { ...item };
  for (const k of [...KEY_ATTRS, "expiresAt"]) delete copy[k];
  return copy as unknown as ChangeEntry;
}

/**
 * One day's history, oldest first, with times at or after `fromIso` and before `toIso` when given.
 * A sort key is "<time>#<eventId>": it is >= "<from>" exactly when time >= from, and <= "<to>" exactly when
 * time < to (at time == to the key continues past "<to>" with "#", so it sorts above it).
 */
export function historyDayQuery(tableName: string, day: string, fromIso?: string, toIso?: string): QueryCommandInput {
  const values: Record<string, unknown> = { ":pk": historyPk(day) };
  let condition = "PK = :pk";
  if (fromIso !== undefined && toIso !== undefined) {
    condition += " AND SK BETWEEN :from AND :to";
    values[":from"] = fromIso;
    values[":to"] = toIso;
  } else if (fromIso !== undefined) {
    condition += " AND SK >= :from";
    values[":from"] = fromIso;
  } else if (toIso !== undefined) {
    condition += " AND SK <= :to";
    values[":to"] = toIso;
  }
  return { TableName: tableName, KeyConditionExpression: condition, ExpressionAttributeValues: values };
}

// Latest-image pointers: one item per account, scope and line (lib/model.ts PointerLine), in the scope's own
// partition (the sync reads a scope's pointers with one Query) and in GSI2, so that one Query lists the latest
// image of an OS family (LATEST#<family>) or of an image family (FAMILY#<family>) in every scope of every
// account. The OS#<family> partitions of the images are apart. Pointers written before lines existed keep
// their sort key <family>#<version key> (lower case, so never equal to an "OS#" or "FAMILY#" one).

export const pointerPk = (account: string, scope: string): string => `PTR#${account}#${scope}`;
/** A pointer's version segment: the version key, or "any" for images that state no version. */
export const pointerVersionKey = (osVersion: string | null): string => versionKey(osVersion) || "any";
/** The sort key of a legacy pointer (one per OS family and version, before architectures and image types). */
export const legacyPointerSk = (osFamily: string, osVersion: string | null): string =>
  `${osFamily}#${pointerVersionKey(osVersion)}`;
export const latestPk = (osFamily: string): string => `LATEST#${osFamily}`;
export const familyPk = (family: string): string => `FAMILY#${family}`;

/** What identifies a pointer within its scope. */
export type PointerKey = Pick<
  LatestPointer,
  "line" | "osFamily" | "osVersion" | "architecture" | "imageType" | "family"
>;

export function pointerSk(p: PointerKey): string {
  if (p.line === "family") return `FAMILY#${p.family ?? ""}#${p.architecture}`;
  if (p.line === "os") return `OS#${p.imageType}#${p.osFamily}#${pointerVersionKey(p.osVersion)}#${p.architecture}`;
  return legacyPointerSk(p.osFamily ?? "", p.osVersion);
}

function pointerIndexKey(p: LatestPointer): { GSI2PK: string; GSI2SK: string } {
  if (p.line === "family")
    return { GSI2PK: familyPk(p.family ?? ""), GSI2SK: `${p.account}#${p.scope}#${p.architecture}` };
  const version = pointerVersionKey(p.osVersion);
  const tail = p.line === "os" ? `#${p.imageType}#${p.architecture}` : "";
  return { GSI2PK: latestPk(p.osFamily ?? ""), GSI2SK: `${version}#${p.account}#${p.scope}${tail}` };
}

export function pointerItem(pointer: LatestPointer): Record<string, unknown> {
  return {
    PK: pointerPk(pointer.account, pointer.scope),
    SK: pointerSk(pointer),
    itemType: POINTER_ITEM,
    ...pointer,
    ...pointerIndexKey(pointer),
  };
}

export function pointerFromItem(item: Record<string, unknown>): LatestPointer {
  const copy: Record<string, unknown> = { ...item };
  for (const k of KEY_ATTRS) delete copy[k];
  return copy as unknown as LatestPointer;
}

/** Like an image write: a new pointer must not exist yet; a known one must still be at the rev we read. */
export function putPointerParams(
  tableName: string,
  pointer: LatestPointer,
  previousRev: number | null,
): PutCommandInput {
  return previousRev === null
    ? { TableName: tableName, Item: pointerItem(pointer), ConditionExpression: "attribute_not_exists(PK)" }
    : {
        TableName: tableName,
        Item: pointerItem(pointer),
        ConditionExpression: "#rev = :rev",
        ExpressionAttributeNames: { "#rev": "rev" },
        ExpressionAttributeValues: { ":rev": previousRev },
      };
}

export function scopePointersQuery(tableName: string, key: Pick<ScopeKey, "account" | "scope">): QueryCommandInput {
  return {
    TableName: tableName,
    KeyConditionExpression: "PK = :pk",
    ExpressionAttributeValues: { ":pk": pointerPk(key.account, key.scope) },
  };
}
