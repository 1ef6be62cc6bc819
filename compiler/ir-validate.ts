// Validates Pipeline IR against compiler/ir.schema.json, when it is emitted and when it is loaded.

import { readFileSync } from "node:fs";
import { Ajv, type ErrorObject, type ValidateFunction } from "ajv";
import type { PipelineIr } from "./ir.ts";

let compiled: ValidateFunction | undefined;

/** Compiled on first use: `vlmp lint` never needs it. */
function validator(): ValidateFunction {
  if (!compiled) {
    const schema = JSON.parse(readFileSync(new URL("./ir.schema.json", import.meta.url), "utf8"));
    compiled = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true }).compile(schema);
  }
  return compiled;
}

export class IrValidationError extends Error {
  constructor(
    readonly source: string,
    readonly problems: string[],
  ) {
    super(`${source} is not valid vlmp IR: ${problems.join("; ")}`);
  }
}

function describe(error: ErrorObject): string {
  return `${error.instancePath || "/"} ${error.message ?? "is invalid"}`;
}

/** Throws IrValidationError (naming `source`) unless `value` is valid IR. */
export function assertValidIr(value: unknown, source: string): asserts value is PipelineIr {
  const validate = validator();
  if (!validate(value)) throw new IrValidationError(source, (validate.errors ?? []).map(describe));
}

/** Reads and validates an IR file written by `vlmp compile --emit ir`. */
export function loadIr(path: string): PipelineIr {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, "utf8"));
  } catch (error) {
    throw new IrValidationError(path, [(error as Error).message]);
  }
  assertValidIr(parsed, path);
  return parsed;
}
