// Fixed demo credentials the emulator accepts by default. Obviously fake (every value says DEMO) but
// shaped like the real ones, so adapters and config validation see realistic lengths and prefixes.
import type { EmulatorCredentialSet } from "./types.ts";

export const DEMO_CREDENTIALS: EmulatorCredentialSet = Object.freeze({
  zenlayer: Object.freeze({
    accessKeyId: "ZLDEMO7XK2MC9QF3",
    accessKeySecret: "zlDEMOsecret-Q7mV2xK9pR4tW8nB3cF6",
    token: "zlDEMOtoken.eyJ0ZWFtIjoiZGVtbyJ9.K3vQ9mX2pL7wR4tN8bC5",
  }),
  tencent: Object.freeze({
    secretId: "AKIDDEMO7xK2mC9qF3vR8tW4nB6pL1hJ5gZ",
    secretKey: "DEMOsecretKey4emulatorOnly7Qx2Vw9",
  }),
});
