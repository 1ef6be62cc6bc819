// Validation of attributes that arrive untyped (the JSON form, lowering by op name) against
// ops.ts's ATTR_SCHEMA, so a node can never carry attributes of the wrong kind.

import { GraphError } from "./errors.ts";
import { ATTR_SCHEMA, type AttrKind, DTYPES, type Op, type OpAttrs } from "./ops.ts";

function fits(kind: AttrKind, v: unknown): boolean {
  switch (kind) {
    case "int":
      return Number.isSafeInteger(v);
    case "ints":
      return Array.isArray(v) && v.every((x) => Number.isSafeInteger(x));
    case "number":
      return typeof v === "number";
    case "numbers":
      return Array.isArray(v) && v.every((x) => typeof x === "number");
    case "bool":
      return typeof v === "boolean";
    case "string":
      return typeof v === "string";
    case "dtype":
      return (DTYPES as readonly unknown[]).includes(v);
  }
}

/** Checks that `attrs` has exactly the attributes `op` takes, each of the right kind; throws GraphError("attrs"). */
export function validateAttrs<K extends Op>(op: K, attrs: unknown): OpAttrs[K] {
  if (typeof attrs !== "object" || attrs === null || Array.isArray(attrs)) {
    throw new GraphError("attrs", `${op}: attributes must be an object`);
  }
  const schema: Readonly<Record<string, AttrKind>> = ATTR_SCHEMA[op];
  const given = attrs as Record<string, unknown>;
  for (const key of Object.keys(given)) {
    if (!(key in schema)) throw new GraphError("attrs", `${op}: unknown attribute '${key}'`);
  }
  for (const [key, kind] of Object.entries(schema)) {
    if (!(key in given)) throw new GraphError("attrs", `${op}: missing attribute '${key}' (${kind})`);
    if (!fits(kind, given[key])) throw new GraphError("attrs", `${op}: attribute '${key}' must be ${kind}`);
  }
  return attrs as OpAttrs[K];
}
