// Validates a CloudFormation template's resources against AWS's own resource schemas (the CloudFormation
// registry, as packaged by @aws-cdk/aws-service-spec): the type exists, every property is known and of its
// type, required ones are present, and resource attributes (DeletionPolicy, ...) are ones CloudFormation has.
// Fn::If is resolved with the template's own conditions (they compare literals once serverless has substituted
// its parameters) and Ref AWS::NoValue drops the property; other intrinsic functions stand for any value.
import { loadAwsServiceSpec } from "@aws-cdk/aws-service-spec";
import type { Property, PropertyType, SpecDatabase } from "@aws-cdk/service-spec-types";

// biome-ignore lint/suspicious/noExplicitAny: a CloudFormation template is untyped JSON.
type Json = any;

const RESOURCE_KEYS = new Set([
  "Type",
  "Properties",
  "DependsOn",
  "Condition",
  "DeletionPolicy",
  "UpdateReplacePolicy",
  "Metadata",
  "UpdatePolicy",
  "CreationPolicy",
]);
const POLICIES = new Set(["Delete", "Retain", "RetainExceptOnCreate", "Snapshot"]);
const NO_VALUE = Symbol("AWS::NoValue");

let db: Promise<SpecDatabase> | undefined;
export const loadSpec = (): Promise<SpecDatabase> => {
  db ??= loadAwsServiceSpec();
  return db;
};

const isObject = (v: unknown): v is Record<string, Json> => typeof v === "object" && v !== null && !Array.isArray(v);
const intrinsicName = (v: unknown): string | undefined => {
  if (!isObject(v)) return undefined;
  const keys = Object.keys(v);
  return keys.length === 1 && (keys[0] === "Ref" || keys[0]?.startsWith("Fn::")) ? keys[0] : undefined;
};

/** Evaluates the template's conditions (Fn::Equals of literals, Fn::Not, Fn::And, Fn::Or, Condition). */
export function evaluateConditions(conditions: Record<string, Json> = {}): Map<string, boolean> {
  const done = new Map<string, boolean>();
  const evaluate = (c: Json): boolean => {
    if (isObject(c) && "Condition" in c) return byName(c.Condition);
    if (isObject(c) && "Fn::Equals" in c) {
      const [a, b] = c["Fn::Equals"] as Json[];
      if (intrinsicName(a) || intrinsicName(b))
        throw new Error(`condition compares an intrinsic: ${JSON.stringify(c)}`);
      return String(a) === String(b);
    }
    if (isObject(c) && "Fn::Not" in c) return !evaluate(c["Fn::Not"][0]);
    if (isObject(c) && "Fn::And" in c) return (c["Fn::And"] as Json[]).every(evaluate);
    if (isObject(c) && "Fn::Or" in c) return (c["Fn::Or"] as Json[]).some(evaluate);
    throw new Error(`unsupported condition ${JSON.stringify(c)}`);
  };
  const byName = (name: string): boolean => {
    if (!done.has(name)) {
      if (!(name in conditions)) throw new Error(`unknown condition ${name}`);
      done.set(name, evaluate(conditions[name]));
    }
    return done.get(name) as boolean;
  };
  for (const name of Object.keys(conditions)) byName(name);
  return done;
}

/** The value with every Fn::If resolved and every Ref AWS::NoValue marked for removal. */
function resolve(value: Json, conditions: Map<string, boolean>): Json {
  if (Array.isArray(value)) return value.map((v) => resolve(v, conditions)).filter((v) => v !== NO_VALUE);
  if (!isObject(value)) return value;
  if (value.Ref === "AWS::NoValue") return NO_VALUE;
  if ("Fn::If" in value && Object.keys(value).length === 1) {
    const [name, yes, no] = value["Fn::If"] as [string, Json, Json];
    if (!conditions.has(name)) throw new Error(`Fn::If names an unknown condition ${name}`);
    return resolve(conditions.get(name) ? yes : no, conditions);
  }
  const out: Record<string, Json> = {};
  for (const [k, v] of Object.entries(value)) {
    const r = resolve(v, conditions);
    if (r !== NO_VALUE) out[k] = r;
  }
  return out;
}

class Checker {
  readonly errors: string[] = [];
  constructor(private readonly spec: SpecDatabase) {}

  properties(path: string, props: Record<string, Property>, value: Json): void {
    if (!isObject(value)) {
      if (!intrinsicName(value)) this.errors.push(`${path}: expected an object, got ${JSON.stringify(value)}`);
      return;
    }
    for (const [name, v] of Object.entries(value)) {
      const prop = props[name];
      if (!prop) this.errors.push(`${path}.${name}: unknown property (known: ${Object.keys(props).sort().join(", ")})`);
      else this.anyOf(`${path}.${name}`, [prop.type, ...(prop.previousTypes ?? [])], v);
    }
    for (const [name, prop] of Object.entries(props)) {
      if (prop.required && !(name in value)) this.errors.push(`${path}.${name}: required property missing`);
    }
  }

  private anyOf(path: string, types: readonly PropertyType[], value: Json): void {
    const attempts = types.map((t) => {
      const sub = new Checker(this.spec);
      sub.type(path, t, value);
      return sub.errors;
    });
    if (attempts.some((e) => e.length === 0)) return;
    // Report the closest attempt (fewest problems).
    this.errors.push(...(attempts.sort((a, b) => a.length - b.length)[0] ?? []));
  }

  private type(path: string, t: PropertyType, value: Json): void {
    if (intrinsicName(value)) return;
    const fail = (what: string) => this.errors.push(`${path}: expected ${what}, got ${JSON.stringify(value)}`);
    switch (t.type) {
      case "string":
      case "date-time":
        if (!["string", "number", "boolean"].includes(typeof value)) fail("a string");
        else if (t.type === "string" && t.allowedValues && !t.allowedValues.includes(String(value)))
          fail(`one of ${t.allowedValues.join(", ")}`);
        return;
      case "integer":
      case "number": {
        const n = typeof value === "string" && value.trim() !== "" ? Number(value) : value;
        if (typeof n !== "number" || Number.isNaN(n) || (t.type === "integer" && !Number.isInteger(n))) fail(t.type);
        return;
      }
      case "boolean":
        if (typeof value !== "boolean" && value !== "true" && value !== "false") fail("a boolean");
        return;
      case "json":
        if (!isObject(value) && !Array.isArray(value) && typeof value !== "string") fail("JSON");
        return;
      case "null":
        if (value !== null) fail("null");
        return;
      case "tag":
        this.properties(path, TAG, value);
        return;
      case "array":
        if (!Array.isArray(value)) fail("a list");
        else for (const [i, v] of value.entries()) this.anyOf(`${path}[${i}]`, [t.element], v);
        return;
      case "map":
        if (!isObject(value)) fail("a map");
        else for (const [k, v] of Object.entries(value)) this.anyOf(`${path}.${k}`, [t.element], v);
        return;
      case "union":
        this.anyOf(path, t.types, value);
        return;
      case "ref":
        this.properties(path, this.spec.get("typeDefinition", t.reference).properties, value);
        return;
    }
  }
}

const TAG: Record<string, Property> = {
  Key: { type: { type: "string" }, required: true },
  Value: { type: { type: "string" }, required: true },
};

/** Every problem with the template's resources, one line each (an empty list: valid). */
export async function validateTemplate(template: Json): Promise<string[]> {
  const spec = await loadSpec();
  const conditions = evaluateConditions(template.Conditions);
  const checker = new Checker(spec);
  for (const [id, resource] of Object.entries<Json>(template.Resources ?? {})) {
    for (const key of Object.keys(resource)) {
      if (!RESOURCE_KEYS.has(key)) checker.errors.push(`${id}: unknown resource attribute ${key}`);
    }
    for (const key of ["DeletionPolicy", "UpdateReplacePolicy"]) {
      if (key in resource && !POLICIES.has(resource[key])) checker.errors.push(`${id}.${key}: ${resource[key]}`);
    }
    if (resource.Condition && !conditions.has(resource.Condition))
      checker.errors.push(`${id}: unknown condition ${resource.Condition}`);
    const found = spec.lookup("resource", "cloudFormationType", "equals", resource.Type);
    const type = found[0];
    if (!type) {
      checker.errors.push(`${id}: unknown resource type ${resource.Type}`);
      continue;
    }
    checker.properties(`${id}.Properties`, type.properties, resolve(resource.Properties ?? {}, conditions));
  }
  return checker.errors;
}
