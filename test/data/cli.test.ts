// `vlmp data make` and `vlmp data show` end to end, as a user runs them.

import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { readManifest } from "../../runtime/data/synthetic/manifest.ts";
import { vlmp } from "../support/vlmp.ts";

const dir = mkdtempSync(join(tmpdir(), "vlmp-data-cli-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("vlmp data", () => {
  it("make ueo --count 60, then show", async () => {
    const out = join(dir, "tmp");
    const made = await vlmp("data", "make", "ueo", "--out", out, "--count", "60");
    expect(made.code, made.stderr).toBe(0);
    expect(made.stdout).toMatch(/^wrote 60 images of world ueo to /);
    expect(made.stderr).toContain("[data make ueo] 60/60 (100%)");
    const rows = readManifest(join(out, "manifest.csv"));
    expect(rows).toHaveLength(60);
    expect(rows.every((r) => existsSync(join(out, r.path)))).toBe(true);
    expect(JSON.parse(readFileSync(join(out, "world.json"), "utf8"))).toMatchObject({
      world: "ueo",
      seed: 0,
      size: 32,
    });
    const shown = await vlmp("data", "show", out);
    expect(shown.code, shown.stderr).toBe(0);
    expect(existsSync(join(out, "contact-sheet.png"))).toBe(true);
  });

  it("usage errors exit 2 with one line", async () => {
    const bad = await vlmp("data", "make", "nope", "--out", join(dir, "x"));
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe(
      "vlmp: unknown world 'nope' (expected one of ueo, cfr, clap4clip, apex, captions)\n",
    );
    const badSize = await vlmp("data", "make", "cfr", "--out", join(dir, "y"), "--size", "x");
    expect(badSize.code).toBe(2);
    const notWorld = await vlmp("data", "show", dir);
    expect(notWorld.code).toBe(2);
    expect(notWorld.stderr).toMatch(/has no world\.json/);
  });
});
