import { readFileSync } from "node:fs";
import { expect, it } from "vitest";
import { cstDts } from "../../grammar/gen-cst.ts";

it("grammar/cst.d.ts matches the grammar (regenerate with `npx tsx grammar/gen-cst.ts`)", () => {
  const committed = readFileSync(new URL("../../grammar/cst.d.ts", import.meta.url), "utf8");
  const squash = (s: string) => s.replace(/\s+/g, "");
  expect(squash(committed)).toBe(squash(cstDts()));
});
