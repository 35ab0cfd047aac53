// The replacement of a deprecated image: same version, else the next higher version, else none; deprecated
// and unavailable candidates never chosen. Pure, over images built by the real diff.
import { describe, expect, it } from "vitest";
import { changeEvent } from "../../../lib/events/change-event.ts";
import type { FetchedImage, StoredImage } from "../../../lib/model.ts";
import { diffScope } from "../../../lib/sync/diff.ts";
import { chooseReplacement, newer, withReplacements } from "../../../lib/sync/replacement.ts";

const key = { account: "acct", api: "tencent-cvm" as const, provider: "tencent" as const, scope: "ap-guangzhou" };
const T0 = "2026-01-01T00:00:00.000Z";
const T1 = "2026-01-02T00:00:00.000Z";

function fetched(id: string, version: string | null, over: Partial<FetchedImage> = {}): FetchedImage {
  return {
    imageId: id,
    name: `Ubuntu ${version ?? ""} ${id}`.trim(),
    description: null,
    osType: "linux",
    osFamily: "ubuntu",
    osVersion: version,
    architecture: "x86_64",
    imageType: "public",
    family: null,
    status: "NORMAL",
    available: true,
    unusable: null,
    sizeGiB: 20,
    createdAt: "2025-01-01T00:00:00Z",
    raw: { ImageId: id },
    ...over,
  };
}

/** The stored images after a baseline of `images`. */
function stored(images: FetchedImage[]): Map<string, StoredImage> {
  const r = diffScope({ key, stored: new Map(), fetched: images, baseline: true, now: T0, runId: "r0" });
  return new Map(r.changes.map((c) => [c.after.imageId, c.after]));
}

/** The next run's changes with replacements, as the engine writes them. */
function next(before: Map<string, StoredImage>, images: FetchedImage[]) {
  const r = diffScope({ key, stored: before, fetched: images, baseline: false, now: T1, runId: "r1" });
  return withReplacements(before, r.changes);
}

const img = (s: Map<string, StoredImage>, id: string) => s.get(id) as StoredImage;

describe("chooseReplacement", () => {
  const old = fetched("u2204-old", "22.04", { createdAt: "2024-01-01T00:00:00Z" });

  it("same version: the newest usable image of the same family and version", () => {
    const s = stored([
      old,
      fetched("u2204-a", "22.04", { createdAt: "2025-03-01T00:00:00Z" }),
      fetched("u2204-b", "22.04", { createdAt: "2025-06-01T00:00:00Z" }),
      fetched("u2404", "24.04", { createdAt: "2026-01-01T00:00:00Z" }),
    ]);
    expect(chooseReplacement(img(s, "u2204-old"), s.values())).toEqual({
      imageId: "u2204-b",
      name: "Ubuntu 22.04 u2204-b",
      osVersion: "22.04",
      architecture: "x86_64",
      why: "same-version",
    });
  });

  it("same version: equal or unknown creation times fall back to the higher image id (dated builds)", () => {
    const s = stored([
      fetched("ubuntu2204_20240101", "22.04", { createdAt: null }),
      fetched("ubuntu2204_20250712", "22.04", { createdAt: null }),
      fetched("ubuntu2204_20250101", "22.04", { createdAt: null }),
    ]);
    expect(chooseReplacement(img(s, "ubuntu2204_20240101"), s.values())?.imageId).toBe("ubuntu2204_20250712");
    expect(newer(img(s, "ubuntu2204_20250712"), img(s, "ubuntu2204_20250101"))).toBeGreaterThan(0);
  });

  it("next version: the lowest higher version with a usable image, numerically (10 above 9, 22.04 above 20.04)", () => {
    const nine = fetched("v9", "9", { osFamily: "debian" });
    const s = stored([
      nine,
      fetched("v10-a", "10", { osFamily: "debian", createdAt: "2025-01-01T00:00:00Z" }),
      fetched("v10-b", "10", { osFamily: "debian", createdAt: "2025-02-01T00:00:00Z" }),
      fetched("v11", "11", { osFamily: "debian", createdAt: "2026-01-01T00:00:00Z" }),
      // "8" sorts above "10" as text; it is below 9 as a version.
      fetched("v8", "8", { osFamily: "debian", createdAt: "2026-06-01T00:00:00Z" }),
    ]);
    expect(chooseReplacement(img(s, "v9"), s.values())).toEqual({
      imageId: "v10-b",
      name: "Ubuntu 10 v10-b",
      osVersion: "10",
      architecture: "x86_64",
      why: "next-version",
    });
    const u = stored([
      fetched("u2004", "20.04"),
      fetched("u2404", "24.04"),
      fetched("u2204", "22.04"),
      fetched("u1804", "18.04", { createdAt: "2027-01-01T00:00:00Z" }),
    ]);
    expect(chooseReplacement(img(u, "u2004"), u.values())).toMatchObject({ imageId: "u2204", why: "next-version" });
  });

  it("a version written differently is the same version (22.4 is 22.04)", () => {
    const s = stored([old, fetched("u224", "22.4")]);
    expect(chooseReplacement(img(s, "u2204-old"), s.values())).toMatchObject({
      imageId: "u224",
      architecture: "x86_64",
      why: "same-version",
    });
  });

  it("none: no usable image of the family at this or a higher version, or no family at all", () => {
    const s = stored([
      old,
      fetched("u2004", "20.04", { createdAt: "2026-01-01T00:00:00Z" }),
      fetched("debian13", "13", { osFamily: "debian" }),
    ]);
    expect(chooseReplacement(img(s, "u2204-old"), s.values())).toBeNull();
    const nameless = stored([fetched("x", "1", { osFamily: null }), fetched("y", "1", { osFamily: null })]);
    expect(chooseReplacement(img(nameless, "x"), nameless.values())).toBeNull();
  });

  it("an image without a version is replaced by another versionless one only, never by a guessed 'higher' version", () => {
    const s = stored([fetched("n1", null), fetched("v22", "22.04")]);
    expect(chooseReplacement(img(s, "n1"), s.values())).toBeNull();
    const t = stored([fetched("n1", null), fetched("n2", null, { createdAt: "2026-01-01T00:00:00Z" })]);
    expect(chooseReplacement(img(t, "n1"), t.values())).toMatchObject({ imageId: "n2", why: "same-version" });
  });

  it("deprecated candidates are skipped, even the newest and even one still marked available", () => {
    const s = stored([
      old,
      fetched("u2204-dep", "22.04", { createdAt: "2026-01-01T00:00:00Z", unusable: "flag", available: true }),
      fetched("u2204-ok", "22.04", { createdAt: "2025-01-01T00:00:00Z" }),
      fetched("u2404-dep", "24.04", { unusable: "status", available: false }),
    ]);
    expect(img(s, "u2204-dep").state).toBe("deprecated");
    expect(chooseReplacement(img(s, "u2204-old"), s.values())?.imageId).toBe("u2204-ok");
    // Without the usable 22.04 one, the deprecated 24.04 is no answer either.
    s.delete("u2204-ok");
    expect(chooseReplacement(img(s, "u2204-old"), s.values())).toBeNull();
  });

  it("active images that are not available yet (CREATING) are skipped; so are other scopes' and accounts' images", () => {
    const s = stored([
      old,
      fetched("u2204-creating", "22.04", { available: false, status: "CREATING", createdAt: "2026-01-01T00:00:00Z" }),
    ]);
    expect(img(s, "u2204-creating").state).toBe("active");
    expect(chooseReplacement(img(s, "u2204-old"), s.values())).toBeNull();
    const elsewhere = { ...img(stored([fetched("u2204-x", "22.04")]), "u2204-x"), scope: "ap-beijing" };
    const otherAccount = { ...img(stored([fetched("u2204-y", "22.04")]), "u2204-y"), account: "other" };
    expect(chooseReplacement(img(s, "u2204-old"), [elsewhere, otherAccount])).toBeNull();
  });
});

describe("withReplacements (what the engine writes)", () => {
  it("a deprecation carries the replacement chosen among the images after the run, this run's new images included", () => {
    const before = stored([fetched("u2204-old", "22.04"), fetched("u2004", "20.04")]);
    // The provider withdraws the 22.04 build and publishes a new one in the same sweep.
    const changes = next(before, [fetched("u2004", "20.04"), fetched("u2204-new", "22.04")]);
    const deprecated = changes.find((c) => c.kind === "deprecated");
    expect(deprecated?.after.replacement).toEqual({
      imageId: "u2204-new",
      name: "Ubuntu 22.04 u2204-new",
      osVersion: "22.04",
      architecture: "x86_64",
      why: "same-version",
    });
    const added = changes.find((c) => c.kind === "added");
    expect(added?.after).not.toHaveProperty("replacement");
    // The event carries it, and the alert line says where to go.
    const event = changeEvent(deprecated?.before ?? null, deprecated?.after as StoredImage);
    expect(event.detail.replacement).toMatchObject({ imageId: "u2204-new", why: "same-version" });
    expect(event.detail.message).toMatch(/; replacement: Ubuntu 22\.04 u2204-new \(u2204-new\), same version$/);
  });

  it("the image deprecated in the same run is no candidate for another deprecation; next version, then none", () => {
    const before = stored([fetched("u2004", "20.04"), fetched("u2204", "22.04"), fetched("u2404", "24.04")]);
    const both = next(before, [fetched("u2404", "24.04")]);
    const by = (id: string) => both.find((c) => c.after.imageId === id)?.after.replacement;
    expect(by("u2004")).toMatchObject({ imageId: "u2404", why: "next-version" });
    expect(by("u2204")).toMatchObject({ imageId: "u2404", why: "next-version" });
    const last = next(
      new Map([...before].map(([id, i]) => [id, both.find((c) => c.after.imageId === id)?.after ?? i])),
      [],
    );
    expect(last.map((c) => [c.after.imageId, c.after.replacement])).toEqual([["u2404", null]]);
  });

  it("images written active, restored or added, carry no replacement; an unchanged run adds none", () => {
    const before = stored([fetched("a", "22.04"), fetched("b", "22.04", { unusable: "status", available: false })]);
    const changes = next(before, [fetched("a", "22.04"), fetched("b", "22.04")]);
    expect(changes.map((c) => c.kind)).toEqual(["restored"]);
    expect(changes[0]?.after).not.toHaveProperty("replacement");
    expect(next(stored([fetched("a", "22.04")]), [fetched("a", "22.04")])).toEqual([]);
  });
});
