// The `vlmp` command: a thin shell over the compiler. Exit codes: 0 no errors (warnings allowed unless
// --deny-warnings), 1 errors, 2 usage errors. No input ever produces a stack trace: an internal error is
// one line saying so and where to report it.

import { Command, CommanderError, Option } from "commander";
import packageJson from "../package.json" with { type: "json" };
import { UsageError } from "./usage-error.ts";

const REPORT_URL = "https://github.com/vlmp-dev/vlmp/issues";

function buildProgram(): Command {
  const program = new Command("vlmp")
    .description("Compile and run declarative CLIP adaptation pipelines (.vlmp) on WebGPU")
    .version(packageJson.version, "-V, --version")
    .showHelpAfterError("(run vlmp --help for usage)")
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });

  program
    .command("lint")
    .description(
      "check specs without running anything: syntax, names, types, shapes, settings, paths, lint rules",
    )
    .argument("<files...>", ".vlmp files or folders, then key.path=value overrides")
    .option("--strict", "missing data and weight paths are errors, not warnings")
    .option("--deny-warnings", "exit 1 when there are warnings")
    .option("--set-file <file>", "YAML file of overrides", collect, [])
    .addOption(
      new Option("--format <format>", "diagnostics format").choices(["text", "json"]).default("text"),
    )
    .action(async (args: string[], options) => {
      const { runLint } = await import("./commands/lint.ts");
      process.exitCode = runLint(args, options);
    });

  program
    .command("fmt")
    .description("rewrite specs in canonical layout (keeps every comment)")
    .argument("<files...>", ".vlmp files or folders")
    .option("--check", "only report files that are not formatted; exit 1 if any")
    .action(async (files: string[], options) => {
      const { runFmt } = await import("./commands/fmt.ts");
      process.exitCode = runFmt(files, options);
    });

  program
    .command("compile")
    .description("compile a spec and print the fully resolved Pipeline IR")
    .argument("<file>", "the .vlmp file")
    .argument("[overrides...]", "key.path=value overrides")
    .addOption(
      new Option(
        "--emit <what>",
        "what to print: the Pipeline IR, the objective's tensor graph, its kernel plan, or its WGSL",
      )
        .choices(["ir", "graph", "plan", "wgsl"])
        .default("ir"),
    )
    .option("--dims <sizes>", "--emit graph: sizes of shape symbols, e.g. N=64,C=10")
    .option(
      "--loss <block>",
      "--emit graph: the block whose objective to lower, e.g. train or calibrate.train",
    )
    .option("--model", "--emit graph: the backbone's forward with the adapters instead (--dims B=…,C=…)")
    .addOption(new Option("--format <format>", "output format").choices(["json", "yaml"]).default("json"))
    .option("--hash", "print only the IR's content hash (the run identity)")
    .option("--pipeline <name>", "which pipeline of the file (default: the first)")
    .option("--set-file <file>", "YAML file of overrides", collect, [])
    .option("--strict", "missing data and weight paths are errors")
    .option("--deny-warnings", "exit 1 when there are warnings")
    .action(async (file: string, overrides: string[], options) => {
      if (options.emit === "graph" || options.emit === "plan" || options.emit === "wgsl") {
        const { runEmitGraph } = await import("./commands/emit-graph.ts");
        process.exitCode = runEmitGraph(file, overrides, options);
        return;
      }
      const { runCompile } = await import("./commands/compile.ts");
      process.exitCode = runCompile(file, overrides, options);
    });

  program
    .command("run")
    .description("run a pipeline: train and evaluate into runs/<pipeline>/<time>-<irhash>/")
    .argument("[file]", "the .vlmp file (omitted with --resume)")
    .argument("[overrides...]", "key.path=value overrides")
    .addOption(
      new Option("--backend <backend>", "where graphs run (auto: WebGPU when an adapter exists)")
        .choices(["auto", "webgpu", "reference"])
        .default("auto"),
    )
    .option("--runs <dir>", "folder of run directories", "runs")
    .option(
      "--resume <run_dir>",
      "continue a training run or task sequence from its last checkpoint (its own spec and IR)",
    )
    .option("--pipeline <name>", "which pipeline of the file (default: the first)")
    .option("--set-file <file>", "YAML file of overrides", collect, [])
    .addOption(
      new Option("--progress <mode>", "progress output")
        .choices(["auto", "bars", "plain", "json", "none"])
        .default("auto"),
    )
    .action(async (file: string | undefined, overrides: string[], options) => {
      const { runRun } = await import("./commands/run.ts");
      process.exitCode = await runRun(file, overrides, options);
    });

  program
    .command("report")
    .description("print the results table of runs: method × data set × metric, mean ± std over seeds")
    .argument("<paths...>", "run directories, or folders searched recursively for summary.json")
    .addOption(new Option("--format <format>", "output format").choices(["md", "json", "csv"]).default("md"))
    .option("--metrics <names>", "only these metrics, comma-separated, in this order")
    .option("--split <label>", "only metrics of this evaluate split (shown without the prefix)")
    .addOption(
      new Option("--stage <stage>", "which metrics: after, before, or both with Δ where runs train")
        .choices(["after", "before", "both"])
        .default("both"),
    )
    .action(async (paths: string[], options) => {
      const { runReport } = await import("./commands/report.ts");
      process.exitCode = runReport(paths, options);
    });

  program
    .command("doctor")
    .description("show the WebGPU backend, adapter, driver, limits and features, and run a self-test kernel")
    .option("--json", "print the report as JSON")
    .option(
      "--tune",
      "time the matmul kernel choices on this adapter now and cache them for vlmp run and embed",
    )
    .action(async (options) => {
      const { runDoctor } = await import("./commands/doctor.ts");
      process.exitCode = await runDoctor(options);
    });

  program
    .command("tokenize")
    .description("print CLIP's token ids of each text, one JSON array per line (start and end included)")
    .argument("<texts...>", "texts to tokenize")
    .option("--model <dir>", "a checkpoint folder in the HF layout (vocab.json + merges.txt)")
    .option(
      "--vocab <file>",
      "bpe_simple_vocab_16e6.txt.gz, vocab.json (merges.txt beside it) or tokenizer.json",
    )
    .action(async (texts: string[], options) => {
      const { runTokenize } = await import("./commands/tokenize.ts");
      process.exitCode = runTokenize(texts, options);
    });

  const model = program.command("model").description("checkpoint utilities");
  model
    .command("make-tiny")
    .description("write a tiny random CLIP checkpoint in the HF layout (clip.tiny's dimensions)")
    .requiredOption("--out <dir>", "output folder (created; existing checkpoint files are replaced)")
    .option("--seed <n>", "random seed", "0")
    .option(
      "--init <kind>",
      "test: random LayerNorms and biases (parity tests); clip: CLIP's start for pre-training",
      "test",
    )
    .option("--patch <n>", "patch size in pixels (clip.tiny's `patch`)", "8")
    .option("--context <n>", "text tokens (clip.tiny's `context`; CLIP's is 77)", "77")
    .action(async (options) => {
      const { runMakeTiny } = await import("./commands/model.ts");
      process.exitCode = runMakeTiny(options);
    });

  model
    .command("export")
    .description("a training run's backbone as a checkpoint folder in the HF layout, with a model card")
    .argument("<run-dir>", "a run directory of a pipeline that trains the backbone")
    .requiredOption("--out <dir>", "output folder (created; existing checkpoint files are replaced)")
    .option("--dtype <dtype>", "f32 or f16 storage", "f32")
    .option("--epoch <n>", "the epoch's checkpoint (default: the last)")
    .option("--evaluation <run-dir...>", "runs that evaluated the exported model: listed in the model card")
    .option("--reproduce <command>", "the command that reproduces the export, for the model card")
    .option("--notes <file>", "markdown appended to the model card")
    .action(async (runDir, options) => {
      const { runExport } = await import("./commands/model.ts");
      process.exitCode = runExport(runDir, options);
    });

  program
    .command("embed")
    .description(
      "CLIP features of images, texts or a pipeline's data entry, in batches, written as safetensors [N, E]",
    )
    .argument("[spec]", "a .vlmp file whose data entry --data names to embed (instead of --model)")
    .argument("[overrides...]", "key.path=value overrides of the spec")
    .option("--model <dir>", "a checkpoint folder in the HF layout")
    .option("--images <paths...>", "image files or folders (walked recursively)")
    .option("--texts <file>", "a text file, one text per line")
    .option("--data <entry>", "with a spec: the data block's source to embed (test, train, …)")
    .option("--pipeline <name>", "with a spec: which pipeline of the file (default: the first)")
    .option("--set-file <file>", "with a spec: YAML file of overrides", collect, [])
    .requiredOption(
      "--out <file>",
      "output .safetensors (image_features or text_features; with a spec: features, labels, groups)",
    )
    .addOption(
      new Option("--backend <backend>", "where to run (auto: webgpu when an adapter exists)")
        .choices(["auto", "reference", "webgpu"])
        .default("auto"),
    )
    .option("--batch <n>", "items per forward (default 32)")
    .option("--arch <name>", "tiny | vit_b32 | vit_b16 | vit_l14 | clip_model (default: by config.json)")
    .option("--workers <n>", "image decoding threads (0: on the main thread)")
    .addOption(
      new Option("--progress <mode>", "progress output")
        .choices(["auto", "bars", "plain", "json", "none"])
        .default("auto"),
    )
    .action(async (spec: string | undefined, overrides: string[], options) => {
      if (spec !== undefined || options.data !== undefined) {
        const { runEmbedData } = await import("./commands/embed-data.ts");
        process.exitCode = await runEmbedData(spec, overrides, options);
        return;
      }
      const { runEmbed } = await import("./commands/embed.ts");
      process.exitCode = await runEmbed(options);
    });

  const data = program.command("data").description("synthetic data sets: generate and inspect");
  data
    .command("make")
    .description(
      "generate a synthetic world (PNG images, CSV manifest, class lists) deterministically by seed",
    )
    .argument("<world>", "ueo | cfr | clap4clip | apex | captions")
    .requiredOption("--out <dir>", "output folder (created; must be empty unless --force)")
    .option("--seed <n>", "random seed (default 0)")
    .option("--size <px>", "image side in pixels (default 32)")
    .option("--count <n>", "about how many images in all (default: the world's)")
    .option("--force", "write into a non-empty folder")
    .addOption(
      new Option("--progress <mode>", "progress output")
        .choices(["auto", "bars", "plain", "json", "none"])
        .default("auto"),
    )
    .action(async (world: string, options) => {
      const { runDataMake } = await import("./commands/data.ts");
      process.exitCode = await runDataMake(world, options);
    });
  data
    .command("show")
    .description("render a contact sheet (PNG) of samples per class of a generated world")
    .argument("<dir>", "a folder made by vlmp data make")
    .option("--out <file>", "output PNG (default DIR/contact-sheet.png)")
    .option("--per-class <n>", "samples per class (default 8)")
    .option("--tile <px>", "tile side in pixels (default 64)")
    .action(async (dir: string, options) => {
      const { runDataShow } = await import("./commands/data.ts");
      process.exitCode = await runDataShow(dir, options);
    });

  return program;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: "user" });
    return Number(process.exitCode ?? 0);
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version end here too, with exit code 0.
      return error.exitCode === 0 ? 0 : 2;
    }
    if (error instanceof UsageError) {
      process.stderr.write(`vlmp: ${error.message}\n`);
      return 2;
    }
    const message = error instanceof Error ? error.message.split("\n")[0] : String(error);
    process.stderr.write(
      `vlmp: internal error: ${message} (please report it at ${REPORT_URL} with the command you ran)\n`,
    );
    if (process.env["VLMP_DEBUG"]) process.stderr.write(`${(error as Error).stack}\n`);
    return 1;
  }
}

const code = await main(process.argv.slice(2));
// Exit explicitly, since a Dawn device (used by `run`) can keep the process alive after the work is done;
// but first let piped output drain, or `vlmp compile … | less` would lose all but the first 64 KiB.
await new Promise<void>((resolve) => process.stdout.write("", () => resolve()));
await new Promise<void>((resolve) => process.stderr.write("", () => resolve()));
process.exit(code);
