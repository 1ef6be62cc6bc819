// The `vlmp` command as a user runs it: `node bin/vlmp.js ...` in the repository root. Every invocation is
// spawned once, all in parallel before the assertions, so the file stays fast (one spawn is ~0.5 s).

import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { type Outcome, runVlmp } from "../support/vlmp.ts";

const run = promisify(execFile);

const dir = mkdtempSync(path.join(tmpdir(), "vlmp-cli-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// A fine-tuning spec whose data and weight paths exist in the repository, so it lints with no finding.
const CLEAN = `use clip
use losses
use adapters.affine
use optim.sgd
use data.{lines, folder}
use metrics.accuracy

pipeline ft {
  backbone = clip.vit_b16(weights: "test/fixtures")
  data {
    classes = lines("README.md")
    train = folder("docs", classes: classes)
    test = folder("stdlib", classes: classes)
  }
  adapt affine(sites: visual.layernorms)
  train {
    objective = losses.ce(logits, labels)
    optimizer = sgd(lr: 1e-3, momentum: 0.9)
    epochs = 10
    batch = 32
  }
  evaluate test {
    metrics = [accuracy()]
  }
}
`;

const files = {
  clean: path.join(dir, "clean.vlmp"),
  /** One warning: an unused import. */
  warn: path.join(dir, "warn.vlmp"),
  /** One error: `epochs = 2.5` (line 19, column 14). */
  bad: path.join(dir, "bad.vlmp"),
  badYaml: path.join(dir, "bad.yaml"),
  missing: path.join(dir, "missing.vlmp"),
};

const vlmp = (...args: string[]): Promise<Outcome> =>
  runVlmp(args, { timeout: 60_000, env: { ...process.env, NO_COLOR: "1" } });

const invocations = {
  version: () => vlmp("--version"),
  help: () => vlmp("--help"),
  unknownCommand: () => vlmp("frobnicate", files.clean),
  unknownOption: () => vlmp("lint", "--frobnicate", files.clean),
  lintMissing: () => vlmp("lint", files.missing),
  lintBad: () => vlmp("lint", files.bad),
  lintWarn: () => vlmp("lint", files.warn),
  lintWarnDeniedJson: () => vlmp("lint", "--deny-warnings", "--format", "json", files.warn),
  hash1: () => vlmp("compile", "--hash", files.clean),
  hash2: () => vlmp("compile", "--hash", files.clean),
  hashOverridden: () => vlmp("compile", "--hash", files.clean, "train.epochs=20"),
  json: () => vlmp("compile", "--format", "json", files.clean),
  yaml: () => vlmp("compile", "--format", "yaml", files.clean),
  unknownOverride: () => vlmp("compile", files.clean, "train.epoch=20", "--set-file", files.badYaml),
  /** APEX's IR is over 100 KiB, more than a pipe holds: three tries, since losing the tail was intermittent. */
  largeIr: () =>
    run("sh", [
      "-c",
      `for i in 1 2 3; do "${process.execPath}" bin/vlmp.js compile pipelines/apex.vlmp | wc -c; done`,
    ]).then(({ stdout, stderr }) => ({ code: 0, stdout, stderr })),
};

type Name = keyof typeof invocations;
const results = {} as Record<Name, Outcome>;

beforeAll(async () => {
  writeFileSync(files.clean, CLEAN);
  writeFileSync(
    files.warn,
    CLEAN.replace("use metrics.accuracy\n", "use metrics.accuracy\nuse prompts.imagenet80\n"),
  );
  writeFileSync(files.bad, CLEAN.replace("epochs = 10", "epochs = 2.5"));
  writeFileSync(files.badYaml, "train:\n  epochs: 3\n  epoch: 4\n");
  const names = Object.keys(invocations) as Name[];
  const outcomes = await Promise.all(names.map((name) => invocations[name]()));
  names.forEach((name, i) => {
    results[name] = outcomes[i]!;
  });
}, 120_000);

describe("vlmp CLI", () => {
  it("--version prints package.json's version and exits 0", () => {
    const { version } = JSON.parse(readFileSync("package.json", "utf8")) as { version: string };
    expect(results.version).toMatchObject({ code: 0, stdout: `${version}\n` });
  });

  it("--help exits 0 and lists lint, fmt and compile", () => {
    expect(results.help.code).toBe(0);
    for (const command of ["lint", "fmt", "compile"])
      expect(results.help.stdout).toMatch(new RegExp(`^\\s+${command}\\b`, "m"));
  });

  it("an unknown command or option exits 2", () => {
    expect(results.unknownCommand.code).toBe(2);
    expect(results.unknownCommand.stderr).toContain("unknown command 'frobnicate'");
    expect(results.unknownOption.code).toBe(2);
    expect(results.unknownOption.stderr).toContain("unknown option '--frobnicate'");
  });

  it("prints a large IR whole into a pipe (output drains before the explicit exit)", () => {
    const sizes = results.largeIr.stdout.trim().split(/\s+/).map(Number);
    expect(sizes).toHaveLength(3);
    expect(new Set(sizes).size).toBe(1);
    expect(sizes[0]).toBeGreaterThan(100_000);
  });

  it("lint of a missing file exits 2 with a one-line message", () => {
    expect(results.lintMissing.code).toBe(2);
    expect(results.lintMissing.stderr).toBe(`vlmp: no such file or folder: ${files.missing}\n`);
  });

  it("lint of a spec with an error exits 1 and prints file:line:col: error[code]", () => {
    expect(results.lintBad.code).toBe(1);
    expect(results.lintBad.stderr).toContain(
      `${files.bad}:19:14: error[V3012]: expected an integer, found 2.5`,
    );
    expect(results.lintBad.stderr).toContain("1 error, 0 warnings");
  });

  it("warnings alone exit 0, and 1 with --deny-warnings", () => {
    expect(results.lintWarn.code).toBe(0);
    expect(results.lintWarn.stderr).toContain(
      `${files.warn}:7:13: warning[V7001]: 'imagenet80' is imported but never used`,
    );
    expect(results.lintWarnDeniedJson.code).toBe(1);
  });

  it("--format json prints a JSON array with code, line and col", () => {
    const diagnostics = JSON.parse(results.lintWarnDeniedJson.stdout) as unknown;
    expect(diagnostics).toEqual([
      expect.objectContaining({
        code: "V7001",
        severity: "warning",
        file: files.warn,
        line: 7,
        col: 13,
        endLine: 7,
        endCol: 23,
      }),
    ]);
    expect(results.lintWarnDeniedJson.stderr).toBe("");
  });

  it("compile --hash prints 16 hex digits, the same on every run", () => {
    expect(results.hash1.code).toBe(0);
    expect(results.hash1.stdout).toMatch(/^[0-9a-f]{16}\n$/);
    expect(results.hash2.stdout).toBe(results.hash1.stdout);
  });

  it("an override on the command line changes the hash", () => {
    expect(results.hashOverridden.code).toBe(0);
    expect(results.hashOverridden.stdout).toMatch(/^[0-9a-f]{16}\n$/);
    expect(results.hashOverridden.stdout).not.toBe(results.hash1.stdout);
  });

  it("compile --format yaml parses back to the same object as --format json", () => {
    expect(results.json.code).toBe(0);
    expect(results.yaml.code).toBe(0);
    const fromJson = JSON.parse(results.json.stdout) as { pipeline?: string };
    expect(fromJson.pipeline).toBe("ft");
    expect(parseYaml(results.yaml.stdout)).toEqual(fromJson);
  });

  it("an override naming an unknown setting exits 1 with a diagnostic in <command line>", () => {
    expect(results.unknownOverride.code).toBe(1);
    expect(results.unknownOverride.stdout).toBe("");
    expect(results.unknownOverride.stderr).toContain(
      "<command line>:1:7: error[V6002]: block 'train' has no setting or block 'epoch'",
    );
    expect(results.unknownOverride.stderr).toContain("help: did you mean 'epochs'?");
  });

  it("a YAML override file's errors point into the YAML file", () => {
    expect(results.unknownOverride.stderr).toContain(
      `${files.badYaml}:3:3: error[V6002]: block 'train' has no setting or block 'epoch'`,
    );
  });

  it("never prints a stack trace", () => {
    const traced = Object.entries(results).filter(([, o]) => `${o.stdout}${o.stderr}`.includes("    at "));
    expect(traced.map(([name]) => name)).toEqual([]);
  });
});
