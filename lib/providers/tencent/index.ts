// The three Tencent Cloud DescribeImages dialects: API 3.0 (tencent-cvm, TC3-signed POST) and the two legacy
// GET /v2/index.php dialects (tencent-image-v2, tencent-cvm-v2, query-signed). Each fetchPage and each
// discovery is exactly one signed call; the engine owns paging order, retries, pacing and completeness.
export { tencentCvm } from "./api3.ts";
export { tencentCvmV2, tencentImageV2 } from "./legacy.ts";
