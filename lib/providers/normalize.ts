// Small pure helpers shared by the adapters' normalisation code.

export function lowerOrNull(v: unknown): string | null {
  return typeof v === "string" && v.trim() !== "" ? v.trim().toLowerCase() : null;
}

export function strOrNull(v: unknown): string | null {
  return typeof v === "string" ? v : null;
}

/** A number from a number or numeric string ("30"), else null. */
export function numOrNull(v: unknown): number | null {
  const n = typeof v === "number" ? v : typeof v === "string" && v.trim() !== "" ? Number(v) : Number.NaN;
  // Beyond 2^53 a number is rounded (and DynamoDB's marshaller refuses it): no size is that large.
  return Number.isFinite(n) && Math.abs(n) <= Number.MAX_SAFE_INTEGER ? n : null;
}

/** The first dotted version in a text: "Server 22.04 LTS" -> "22.04", "CentOS 7.4.1708" -> "7.4.1708", "2019" -> "2019". */
export function versionFrom(...texts: unknown[]): string | null {
  for (const t of texts) {
    if (typeof t !== "string") continue;
    // Architecture and word-size tokens carry digits that are not versions ("x86_64 Rocky 9.3", "64-bit").
    const cleaned = t.replace(
      /x86[_ -]?64|x64|amd64|arm64|aarch64|i[3-6]86|\b(?:32|64)[ -]?bits?\b|\b(?:32|64)位/gi,
      " ",
    );
    const m = /(\d+(?:\.\d+)*)/.exec(cleaned);
    if (m) return m[1] as string;
  }
  return null;
}

const FAMILIES = [
  // Before "centos", which it contains.
  "tencentos",
  "ubuntu",
  "centos",
  "debian",
  "windows",
  "rocky",
  "almalinux",
  "alma",
  "opensuse",
  "suse",
  "fedora",
  "freebsd",
  "coreos",
  "opencloudos",
  "redhat",
  "rhel",
  "oracle",
  "esxi",
  "android",
];

/** The OS family named in a category, platform or name, lower case; the provider's value as is when unknown. */
export function osFamilyFrom(...texts: unknown[]): string | null {
  for (const t of texts) {
    const s = lowerOrNull(t);
    if (!s) continue;
    const compact = s.replace(/[\s_-]+/g, "");
    // A family the text starts with wins over one it merely contains ("tencentos" contains "centos").
    const hit = FAMILIES.find((f) => compact.startsWith(f)) ?? FAMILIES.find((f) => compact.includes(f));
    if (hit) return hit === "alma" ? "almalinux" : hit === "rhel" ? "redhat" : hit;
  }
  return lowerOrNull(texts.find((t) => typeof t === "string" && t.trim() !== ""));
}
