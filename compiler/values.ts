// Compile-time values of a spec's settings, and their JSON form in the Pipeline IR.
// Everything that is not a plain JSON scalar or list is tagged with a `$` key, so the IR stays unambiguous.

export type Value =
  | { kind: "number"; value: number; integer: boolean }
  | { kind: "string"; value: string }
  | { kind: "bool"; value: boolean }
  | { kind: "none" }
  /** A member of an enumeration (`end`, `step`, `f32`). */
  | { kind: "symbol"; name: string }
  | { kind: "list"; items: Value[] }
  | { kind: "record"; fields: Record<string, Value> }
  /** A call of a definition with every argument explicit (defaults filled in). */
  | { kind: "call"; callee: string; definition: string; args: Record<string, Value> }
  /** `a..b` of integers: the classes a, a+1, …, b−1 of a split. */
  | { kind: "range"; start: number; end: number }
  /** A reference to another setting (`data.train`), a value the runtime provides (`logits`) or a site. */
  | { kind: "ref"; path: string }
  /** A definition named without calling it (`zeroshot` passed as a model). */
  | { kind: "definition"; name: string }
  /** A built-in tensor function applied to values the runtime provides: `argmax(logits, axis: 1)`. */
  | { kind: "apply"; fn: string; args: Value[]; named: Record<string, Value> }
  /** Arithmetic over non-constant values, e.g. a weighted sum of losses. */
  | { kind: "op"; op: string; operands: Value[] }
  /** Stands in for a value whose expression had an error (already reported). */
  | { kind: "error" };

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** A JSON object of the IR: settings, a call value (`{$call, args}`), a reference (`{$ref}`). */
export type JsonObject = { readonly [key: string]: JsonValue };

/** Whether `v` is a JSON object (not null, not a list). */
export function isJsonObject(v: JsonValue | undefined): v is JsonObject {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

export function valueToJson(value: Value): JsonValue {
  switch (value.kind) {
    case "number":
    case "string":
    case "bool":
      return value.value;
    case "none":
      return null;
    case "symbol":
      return { $symbol: value.name };
    case "list":
      return value.items.map(valueToJson);
    case "record":
      return { $record: mapValues(value.fields, valueToJson) };
    case "call":
      return { $call: value.callee, definition: value.definition, args: mapValues(value.args, valueToJson) };
    case "ref":
      return { $ref: value.path };
    case "range":
      return { $range: [value.start, value.end] };
    case "definition":
      return { $definition: value.name };
    case "apply":
      return {
        $apply: value.fn,
        args: value.args.map(valueToJson),
        named: mapValues(value.named, valueToJson),
      };
    case "op":
      return { $op: value.op, operands: value.operands.map(valueToJson) };
    case "error":
      return { $error: true };
  }
}

function mapValues<T, U>(record: Record<string, T>, f: (v: T) => U): Record<string, U> {
  const out: Record<string, U> = {};
  for (const key of Object.keys(record)) out[key] = f(record[key]!);
  return out;
}

/** Structural equality, used by lint (a setting overridden to its default). */
export function valuesEqual(a: Value, b: Value): boolean {
  return JSON.stringify(valueToJson(a)) === JSON.stringify(valueToJson(b));
}

export function valueToDisplay(value: Value): string {
  return JSON.stringify(valueToJson(value));
}
