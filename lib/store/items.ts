// Pure builders for the single-table design: keys, items and command inputs. No I/O here.
//
//   item          PK                          SK                    GSI1 (active, sparse)            GSI2 (os)
//   image         IMG#<account>#<scope>       IMAGE#<imageId>       ACTIVE#<account>#<scope> / id    OS#<family> / <version key>#<createdAt>#...
//   scope status  SCOPES                      <account>#<scope>     -                                -
//   anomaly       ANOMALY#<account>#<scope>   <runId>               -                                -   (TTL expiresAt)
//   lease         LEASES                      <account>             -                                -
import type { PutCommandInput, QueryCommandInput } from "@aws-sdk/lib-dynamodb";
import type { Anomaly, ScopeKey, ScopeStatus, StoredImage } from "../model.ts";

export const GSI_ACTIVE = "GSI1";
export const GSI_OS = "GSI2";
export const IMAGE_ITEM = "image";
export const SCOPE_ITEM = "scope";
export const ANOMALY_ITEM = "anomaly";
export const LEASE_PK = "LEASES";
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

/** Takes the account's lease when it is free, lapsed, or already ours. */
export function acquireLeaseParams(
  tableName: string,
  account: string,
  owner: string,
  nowMs: number,
  ttlMs: number,
): PutCommandInput {
  return {
    TableName: tableName,
    Item: {
      PK: LEASE_PK,
      SK: account,
      itemType: "lease",
      owner,
      leaseUntil: nowMs + ttlMs,
      expiresAt: Math.floor((nowMs + ttlMs) / 1000) + 3600,
    },
    ConditionExpression: "attribute_not_exists(PK) OR leaseUntil < :now OR #owner = :owner",
    ExpressionAttributeNames: { "#owner": "owner" },
    ExpressionAttributeValues: { ":now": nowMs, ":owner": owner },
  };
}
