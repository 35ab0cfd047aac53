// The stack's CloudWatch dashboard (serverless.yml: DashboardBody: ${file(./lib/deploy/dashboard.cjs)}).
// CommonJS because the osls CLI loads variable files with require(). Per scope: images, changes, requests,
// writes, duration, hours since the last complete sweep and completion, one line per account and scope (SEARCH
// over the Account/Scope dimensions the sync publishes); per run: failed, incomplete and stale scopes and runs;
// the functions' errors and durations; the stream consumer's errors and iterator age.

const NAMESPACE = "ImageSync";
const PERIOD = 3600;

/** One line per account and scope for a per-scope metric (dimensions service, Account, Scope). */
function perScope(title, metric, stat) {
  const search = `SEARCH('{${NAMESPACE},Account,Scope,service} MetricName="${metric}"', '${stat}', ${PERIOD})`;
  return { title, metrics: [[{ expression: search, id: "e1", label: "" }]], stat, period: PERIOD };
}

/** The per-run counts (dimension service only), the ones the alarms watch. */
function perRun(title, names, stat) {
  return {
    title,
    metrics: names.map((name) => [NAMESPACE, name, "service", "image-sync", { label: name }]),
    stat,
    period: PERIOD,
  };
}

function lambda(title, metric, functions, stat, period) {
  return {
    title,
    metrics: functions.map((fn) => ["AWS/Lambda", metric, "FunctionName", fn, { label: fn }]),
    stat,
    period,
  };
}

function widgets(prefix) {
  const fns = ["sync", "syncWorker", "changes"].map((f) => `${prefix}-${f}`);
  const changes = `${prefix}-changes`;
  return [
    perScope("Images fetched per scope", "ImagesFetched", "Maximum"),
    perScope("Image changes per scope", "ImageChanges", "Sum"),
    perScope("Provider requests per scope", "ProviderRequests", "Sum"),
    perScope("Image writes per scope", "ImageWrites", "Sum"),
    perScope("Sweep duration per scope (ms)", "ScopeDuration", "Maximum"),
    perScope("Hours since the last complete sweep", "HoursSinceCompleteSweep", "Maximum"),
    perScope("Scope complete (1) or not (0)", "ScopeComplete", "Minimum"),
    perRun(
      "Failed, incomplete and stale scopes per run",
      ["FailedScopes", "IncompleteScopes", "StaleScopes"],
      "Maximum",
    ),
    perRun("Runs", ["SyncRuns"], "Sum"),
    lambda("Function errors", "Errors", fns, "Sum", 300),
    lambda("Function duration (ms)", "Duration", fns, "Maximum", 300),
    lambda("Change consumer errors", "Errors", [changes], "Sum", 300),
    lambda("Change consumer iterator age (ms)", "IteratorAge", [changes], "Maximum", 300),
  ];
}

/** The dashboard body as CloudFormation needs it: a JSON string, with the region substituted at deploy time. */
function dashboardBody(prefix) {
  const placed = widgets(prefix).map((w, i) => ({
    type: "metric",
    x: (i % 2) * 12,
    y: Math.floor(i / 2) * 6,
    width: 12,
    height: 6,
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a Fn::Sub placeholder, substituted by CloudFormation.
    properties: { view: "timeSeries", stacked: false, region: "${AWS::Region}", ...w },
  }));
  return { "Fn::Sub": JSON.stringify({ widgets: placed }) };
}

module.exports = async ({ resolveVariable }) => {
  const [service, stage] = await Promise.all([resolveVariable("self:service"), resolveVariable("sls:stage")]);
  return dashboardBody(`${service}-${stage}`);
};
module.exports.dashboardBody = dashboardBody;
