// The dialect modules the emulator serves by default, in dispatch order (the first whose describe()
// claims a request answers it).
import type { DialectModule } from "./types.ts";
import { zenlayerDialect } from "./zenlayer.ts";

export const DIALECTS: DialectModule[] = [zenlayerDialect];
