import { describe, expect, it } from "vitest";
import { osFamilyFrom, versionFrom } from "../../../lib/providers/normalize.ts";

describe("shared normalisation helpers", () => {
  it("reads the version, not architecture or word-size digits", () => {
    expect(versionFrom("x86_64 Rocky 9.3")).toBe("9.3");
    expect(versionFrom("Server 24.04 LTS")).toBe("24.04");
    expect(versionFrom("Ubuntu Server 22.04 LTS 64bit")).toBe("22.04");
    expect(versionFrom("CentOS 6.6 32位")).toBe("6.6");
    expect(versionFrom("Windows2019-Datacenter")).toBe("2019");
    expect(versionFrom("centos6.6x86_32")).toBe("6.6");
    expect(versionFrom(null, "Debian 11.5 Amd x86 64-bit")).toBe("11.5");
    expect(versionFrom("no digits")).toBeNull();
  });

  it("maps categories, platforms and names onto lower-case families, unknown ones kept", () => {
    expect(osFamilyFrom("Ubuntu")).toBe("ubuntu");
    expect(osFamilyFrom(null, "AlmaLinux 9.2")).toBe("almalinux");
    expect(osFamilyFrom("TencentOS")).toBe("tencentos");
    expect(osFamilyFrom("Plan9")).toBe("plan9");
    expect(osFamilyFrom(null, "")).toBeNull();
  });
});
