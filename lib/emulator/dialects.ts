// Every provider dialect the emulator serves.
import { tencentDialect } from "./tencent.ts";
import type { DialectModule } from "./types.ts";
import { zenlayerDialect } from "./zenlayer.ts";

export const DIALECTS: DialectModule[] = [zenlayerDialect, tencentDialect];
