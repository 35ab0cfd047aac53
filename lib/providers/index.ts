// The adapter registry: one factory per API dialect.
import type { ApiId } from "../model.ts";
import { tencentCvm, tencentCvmV2, tencentImageV2 } from "./tencent/index.ts";
import type { AdapterFactory } from "./types.ts";
import { zenlayerBmc, zenlayerVm, zenlayerZec } from "./zenlayer/index.ts";

export const ADAPTERS: Record<ApiId, AdapterFactory> = {
  "zenlayer-bmc": zenlayerBmc,
  "zenlayer-zec": zenlayerZec,
  "zenlayer-vm": zenlayerVm,
  "tencent-cvm": tencentCvm,
  "tencent-image-v2": tencentImageV2,
  "tencent-cvm-v2": tencentCvmV2,
};
