// Golden diagnostics: the spec of the checker. Each case is a small, realistic spec with ONE thing wrong,
// and asserts every diagnostic it produces: code, severity, exact span (line:col-endLine:endCol), the text
// under the span, the key words of the message and the `help` line where there is one. Missing data and
// weight paths (V5001 warnings: the data is not in the repository) are left out unless a case is about them.

import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { type CompileMode, compileFile } from "../../compiler/compile.ts";
import { type Code, type Diagnostic, type Severity, sortDiagnostics } from "../../compiler/diagnostics.ts";
import { COMMAND_LINE, parseCommandLineOverrides, parseOverrideFile } from "../../compiler/overrides.ts";

const dir = mkdtempSync(path.join(tmpdir(), "vlmp-golden-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const SPEC = path.join(dir, "spec.vlmp");
const FIXTURES = "test/fixtures/specs";

interface Expected {
  code: Code;
  severity: Severity;
  /** `line:col-endLine:endCol`, 1-based, end exclusive. */
  span: string;
  /** The source text under the span. */
  text: string;
  /** Key words (substrings) of the message. */
  message: string[];
  /** A substring of the help line ("did you mean ..."). */
  help?: string;
  /** The file the span is in, when it is not the spec itself (`<command line>`, a YAML file, a fixture). */
  file?: string;
}

interface Case {
  name: string;
  /** The spec's text (written to SPEC through the `text` option). */
  source?: string;
  /** Lint this file instead (relative imports, import cycles). */
  entry?: string;
  mode?: CompileMode;
  strict?: boolean;
  pipeline?: string;
  /** Command-line overrides (`train.epochs=3`). */
  args?: string[];
  /** A YAML override file's text (named `overrides.yaml`). */
  yaml?: string;
  /** Keep V5001 (missing path) diagnostics. */
  paths?: boolean;
  expect: Expected[];
}

const YAML_FILE = "overrides.yaml";

/** Replaces the one occurrence of `from` in `text` (fails loudly when it is missing or ambiguous). */
function edit(text: string, from: string, to: string): string {
  const at = text.indexOf(from);
  if (at < 0 || text.indexOf(from, at + 1) >= 0) throw new Error(`'${from}' must occur exactly once`);
  return text.slice(0, at) + to + text.slice(at + from.length);
}

// A zero-shot pipeline (a stripped-down pipelines/zeroshot.vlmp). Line numbers, for reading the spans:
//  1 use clip                      6   backbone = clip.vit_b16(...)      11   evaluate test {
//  2 use data.{lines, folder}      7   data {                            12     metrics = [accuracy()]
//  3 use metrics.accuracy          8     classes = lines(...)            13   }
//  4                               9     test = folder(...)              14 }
//  5 pipeline zs {                10   }
const ZS = `use clip
use data.{lines, folder}
use metrics.accuracy

pipeline zs {
  backbone = clip.vit_b16(weights: "models/clip-vit-base-patch16")
  data {
    classes = lines("data/office-home/classes.txt")
    test = folder("data/office-home/Art", classes: classes)
  }
  evaluate test {
    metrics = [accuracy()]
  }
}
`;

// A fine-tuning pipeline (a stripped-down pipelines/ueo.vlmp): lines 15-21 are the adapter and train block.
const FT = `use clip
use losses
use adapters.affine
use optim.sgd
use data.{lines, folder}
use metrics.accuracy

pipeline ft {
  backbone = clip.vit_b16(weights: "models/clip-vit-base-patch16")
  data {
    classes = lines("data/office-home/classes.txt")
    train = folder("data/office-home/Art", classes: classes)
    test = folder("data/office-home/Clipart", classes: classes)
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

const E = "error" as const;
const W = "warning" as const;

const syntax: Case[] = [
  {
    name: "unterminated string (the string runs to the end of the line and takes the `)` with it)",
    source: edit(ZS, '"models/clip-vit-base-patch16")', '"models/clip-vit-base-patch16)'),
    expect: [
      {
        code: "V1002",
        severity: E,
        span: "6:36-6:66",
        text: '"models/clip-vit-base-patch16)',
        message: ["no closing '\"'"],
      },
      {
        code: "V1005",
        severity: E,
        span: "7:3-7:7",
        text: "data",
        message: ["expected ')'", "call opened at 6:26", "found 'data'"],
      },
    ],
  },
  {
    name: "stray character after a setting",
    source: edit(ZS, 'lines("data/office-home/classes.txt")', 'lines("data/office-home/classes.txt") $'),
    expect: [
      { code: "V1001", severity: E, span: "8:53-8:54", text: "$", message: ["unexpected character '$'"] },
    ],
  },
  {
    name: "missing `)` closing a call",
    source: edit(ZS, '"models/clip-vit-base-patch16")', '"models/clip-vit-base-patch16"'),
    expect: [
      {
        code: "V1005",
        severity: E,
        span: "7:3-7:7",
        text: "data",
        message: ["expected ')' to close the call opened at 6:26", "found 'data'"],
      },
    ],
  },
  {
    name: "missing `=` in a let",
    source: "loss l(logits: [N, C]) {\n  let p softmax(logits, axis: 1)\n  return sum(p)\n}\n",
    expect: [
      {
        code: "V1005",
        severity: E,
        span: "2:9-2:16",
        text: "softmax",
        message: ["expected '='", "found 'softmax'"],
      },
    ],
  },
  {
    name: "missing `=` in a setting",
    source: edit(ZS, "metrics = [accuracy()]", "metrics = [accuracy()]\n    batch 128"),
    expect: [
      {
        code: "V1004",
        severity: E,
        span: "13:5-13:10",
        text: "batch",
        message: ["expected a setting (name = value)", "found 'batch'"],
      },
    ],
  },
  {
    name: "three syntax errors are reported in one pass",
    source: `${edit(edit(ZS, "metrics = [accuracy()]", "metrics = [accuracy()] ?"), 'classes = lines("data/office-home/classes.txt")', 'classes = lines("data/office-home/classes.txt") $')}
loss l(logits: [N, C]) {
  let p = softmax(logits, axis: 1
  return sum(p)
}
`,
    expect: [
      { code: "V1001", severity: E, span: "8:53-8:54", text: "$", message: ["'$'"] },
      { code: "V1001", severity: E, span: "12:28-12:29", text: "?", message: ["'?'"] },
      {
        code: "V1005",
        severity: E,
        span: "18:3-18:9",
        text: "return",
        message: ["expected ')'", "call opened at 17:18"],
      },
    ],
  },
  {
    name: "invalid escape in a string",
    source: edit(ZS, '"models/clip-vit-base-patch16"', '"models\\clip-vit-base-patch16"'),
    expect: [
      { code: "V1003", severity: E, span: "6:43-6:45", text: "\\c", message: ["unknown escape '\\c'"] },
    ],
  },
  {
    name: "comparisons chained without parentheses",
    source: "fn between(a: [N], b: [N], c: [N]) -> [N] {\n  return where(a < b < c, a, b)\n}\n",
    expect: [
      {
        code: "V1007",
        severity: E,
        span: "2:22-2:23",
        text: "<",
        message: ["comparisons do not chain", "a < b and b < c"],
      },
    ],
  },
  {
    name: "positional argument after a named one",
    source: "loss l(logits: [N, C]) {\n  return sum(softmax(axis: 1, logits))\n}\n",
    expect: [
      {
        code: "V1008",
        severity: E,
        span: "2:31-2:37",
        text: "logits",
        message: ["positional argument after the named argument 'axis'"],
      },
    ],
  },
  {
    name: "unexpected end of file inside a body",
    source: "loss l(logits: [N, C]) {\n  return sum(softmax(logits, axis: 1))\n",
    expect: [
      {
        code: "V1006",
        severity: E,
        span: "3:1-3:1",
        text: "",
        message: ["unexpected end of file", "expected '}'", "body opened at 1:24"],
      },
    ],
  },
];

const names: Case[] = [
  {
    name: "unknown name, with a did-you-mean",
    source: edit(ZS, "metrics = [accuracy()]", "metrics = [acuracy()]"),
    expect: [
      {
        code: "V7001",
        severity: W,
        span: "3:13-3:21",
        text: "accuracy",
        message: ["'accuracy' is imported but never used"],
      },
      {
        code: "V2001",
        severity: E,
        span: "12:16-12:23",
        text: "acuracy",
        message: ["unknown name 'acuracy'"],
        help: "did you mean 'accuracy'?",
      },
    ],
  },
  {
    name: "unknown module",
    source: edit(ZS, "use clip\n", "use clip\nuse lossess\n"),
    expect: [
      {
        code: "V2002",
        severity: E,
        span: "2:5-2:12",
        text: "lossess",
        message: ["unknown module 'lossess'"],
        help: "did you mean 'losses'?",
      },
    ],
  },
  {
    name: "name not exported by a stdlib module",
    source: edit(ZS, "use metrics.accuracy", "use metrics.{accuracy, acurracy}"),
    expect: [
      {
        code: "V2003",
        severity: E,
        span: "3:24-3:32",
        text: "acurracy",
        message: ["module 'metrics' has no definition 'acurracy'"],
        help: "did you mean 'accuracy'?",
      },
    ],
  },
  {
    name: "name not exported by a file imported by relative path",
    entry: `${FIXTURES}/user.vlmp`,
    source:
      'use "./common.vlmp".{weighted_ce, weighted_mse}\n\nloss l(logits: [N, C], labels: [N], w: [N]) {\n  return weighted_ce(logits, labels, w)\n}\n',
    expect: [
      {
        code: "V2003",
        severity: E,
        span: "1:35-1:47",
        text: "weighted_mse",
        message: ["module 'common' has no definition 'weighted_mse'"],
        help: "did you mean 'weighted_ce'?",
        file: `${FIXTURES}/user.vlmp`,
      },
    ],
  },
  {
    name: "unknown member of a module: clip.vit_b61",
    source: edit(ZS, "clip.vit_b16", "clip.vit_b61"),
    expect: [
      {
        code: "V2006",
        severity: E,
        span: "6:19-6:26",
        text: "vit_b61",
        message: ["module 'clip' has no definition 'vit_b61'"],
        help: "did you mean 'vit_b16'?",
      },
    ],
  },
  {
    name: "duplicate definition of a fn",
    source: "fn scale(x: [N]) -> [N] {\n  return 2 * x\n}\n\nfn scale(x: [N]) -> [N] {\n  return 3 * x\n}\n",
    expect: [
      {
        code: "V2005",
        severity: E,
        span: "5:4-5:9",
        text: "scale",
        message: ["'scale' is defined twice"],
        help: "rename one of them",
      },
    ],
  },
  {
    name: "duplicate pipeline name",
    source: `${ZS}\npipeline zs {\n  backbone = clip.vit_b32(weights: "models/clip-vit-base-patch32")\n}\n`,
    expect: [
      { code: "V2005", severity: E, span: "16:10-16:12", text: "zs", message: ["'zs' is defined twice"] },
    ],
  },
  {
    name: "unknown pipeline to extend",
    source: `${ZS}\npipeline zs_b32 extends zero {\n  backbone = clip.vit_b32(weights: "models/clip-vit-base-patch32")\n}\n`,
    expect: [
      {
        code: "V2007",
        severity: E,
        span: "16:25-16:29",
        text: "zero",
        message: ["no pipeline 'zero' to extend"],
      },
    ],
  },
  {
    name: "inheritance cycle",
    source: "pipeline a extends b {\n  seed = 1\n}\n\npipeline b extends a {\n  seed = 2\n}\n",
    expect: [
      { code: "V2008", severity: E, span: "1:20-1:21", text: "b", message: ["inheritance cycle: b → a → b"] },
      { code: "V2008", severity: E, span: "5:20-5:21", text: "a", message: ["inheritance cycle: a → b → a"] },
    ],
  },
  {
    name: "import cycle across two files",
    entry: `${FIXTURES}/cycle_a.vlmp`,
    expect: [
      {
        code: "V2004",
        severity: E,
        span: "2:1-2:26",
        text: 'use "./cycle_a.vlmp" as a',
        message: [
          `import cycle: ${FIXTURES}/cycle_a.vlmp → ${FIXTURES}/cycle_b.vlmp → ${FIXTURES}/cycle_a.vlmp`,
        ],
        help: "third file",
        file: `${FIXTURES}/cycle_b.vlmp`,
      },
    ],
  },
  {
    name: "imported file not found",
    source: edit(ZS, "use clip\n", 'use clip\nuse "./common.vlmp" as common\n'),
    expect: [
      {
        code: "V2009",
        severity: E,
        span: "2:5-2:20",
        text: '"./common.vlmp"',
        message: ["imported file './common.vlmp' not found"],
        help: "relative to the file",
      },
    ],
  },
  {
    name: "unknown site for an adapter: visual.layernorm",
    source: edit(FT, "sites: visual.layernorms", "sites: visual.layernorm"),
    expect: [
      {
        code: "V2011",
        severity: E,
        span: "15:23-15:39",
        text: "visual.layernorm",
        message: ["no site 'visual.layernorm'"],
        help: "did you mean 'layernorms'?",
      },
    ],
  },
  {
    name: "unknown function in a loss body",
    source: "loss l(logits: [N, C]) {\n  return sum(sofmax(logits, axis: 1))\n}\n",
    expect: [
      {
        code: "V2001",
        severity: E,
        span: "2:14-2:20",
        text: "sofmax",
        message: ["unknown function 'sofmax'"],
        help: "did you mean 'softmax'?",
      },
    ],
  },
  {
    name: "compile a file with no pipeline",
    mode: "compile",
    source: "fn double(x: [N]) -> [N] {\n  return 2 * x\n}\n",
    expect: [
      { code: "V2010", severity: E, span: "1:1-1:1", text: "", message: ["defines no pipeline to compile"] },
    ],
  },
  {
    name: "compile a pipeline the file does not define",
    mode: "compile",
    pipeline: "z",
    source: ZS,
    expect: [
      {
        code: "V2010",
        severity: E,
        span: "1:1-1:1",
        text: "",
        message: ["no pipeline 'z'"],
        help: "did you mean 'zs'?",
      },
    ],
  },
];

const settings: Case[] = [
  {
    name: "type mismatch: a string for a bool setting",
    source: edit(ZS, "metrics = [accuracy()]", 'metrics = [accuracy()]\n    shuffle = "yes"'),
    expect: [
      {
        code: "V3001",
        severity: E,
        span: "13:15-13:20",
        text: '"yes"',
        message: ["expected bool, found string"],
      },
    ],
  },
  {
    name: "type mismatch: one metric where a list is expected",
    source: edit(ZS, "metrics = [accuracy()]", "metrics = accuracy()"),
    expect: [
      {
        code: "V3001",
        severity: E,
        span: "12:15-12:25",
        text: "accuracy()",
        message: ["expected list<metric>, found metric"],
      },
    ],
  },
  {
    name: "unknown setting, with a suggestion",
    source: edit(ZS, "metrics = [accuracy()]", "metrics = [accuracy()]\n    bacth = 128"),
    expect: [
      {
        code: "V3002",
        severity: E,
        span: "13:5-13:10",
        text: "bacth",
        message: ["block 'evaluate' has no setting 'bacth'"],
        help: "did you mean 'batch'?",
      },
    ],
  },
  {
    name: "unknown argument of an optimizer, with a suggestion",
    source: edit(FT, "sgd(lr: 1e-3", "sgd(lrr: 1e-3"),
    expect: [
      {
        code: "V3002",
        severity: E,
        span: "18:21-18:24",
        text: "lrr",
        message: ["'sgd' has no setting 'lrr'"],
        help: "did you mean 'lr'?",
      },
    ],
  },
  {
    name: "unknown argument of a builtin in a loss",
    source: "loss l(logits: [N, C]) {\n  return sum(softmax(logits, axs: 1))\n}\n",
    expect: [
      {
        code: "V3002",
        severity: E,
        span: "2:30-2:33",
        text: "axs",
        message: ["'softmax' has no setting 'axs'"],
        help: "did you mean 'axis'?",
      },
    ],
  },
  {
    name: "missing required setting: epochs in train",
    source: edit(FT, "    epochs = 10\n", ""),
    expect: [
      {
        code: "V3003",
        severity: E,
        span: "16:3-16:8",
        text: "train",
        message: ["block 'train' needs the setting 'epochs'"],
      },
    ],
  },
  {
    name: "setting given twice",
    source: edit(FT, "batch = 32", "batch = 32\n    epochs = 20"),
    expect: [
      { code: "V3004", severity: E, span: "21:5-21:11", text: "epochs", message: ["'epochs' is set twice"] },
    ],
  },
  {
    name: "unknown block, with a suggestion",
    source: edit(ZS, "evaluate test", "evalute test"),
    expect: [
      {
        code: "V3005",
        severity: E,
        span: "11:3-11:10",
        text: "evalute",
        message: ["unknown block 'evalute'"],
        help: "did you mean 'evaluate'?",
      },
    ],
  },
  {
    name: "block not allowed here: evaluate inside data",
    source: edit(
      ZS,
      "  }\n  evaluate test {\n    metrics = [accuracy()]\n  }\n",
      "    evaluate test {\n      metrics = [accuracy()]\n    }\n  }\n",
    ),
    expect: [
      {
        code: "V3006",
        severity: E,
        span: "10:5-10:13",
        text: "evaluate",
        message: ["block 'evaluate' is not allowed inside 'data'"],
      },
    ],
  },
  {
    name: "wrong label use: a labelled block without its label",
    source: edit(ZS, "evaluate test {", "evaluate {"),
    expect: [
      {
        code: "V3003",
        severity: E,
        span: "11:3-11:11",
        text: "evaluate",
        message: ["block 'evaluate' needs a label", "evaluate test"],
      },
    ],
  },
  {
    name: "wrong label use: a label on a block that takes none",
    source: edit(ZS, "data {", "data main {"),
    expect: [
      {
        code: "V3001",
        severity: E,
        span: "7:8-7:12",
        text: "main",
        message: ["block 'data' takes no label"],
      },
    ],
  },
  {
    name: "not callable: a module called like a model",
    source: edit(ZS, "clip.vit_b16(", "clip("),
    expect: [
      {
        code: "V3007",
        severity: E,
        span: "6:14-6:18",
        text: "clip",
        message: ["module 'clip' cannot be called"],
      },
    ],
  },
  {
    name: "too many positional arguments to an extern",
    source: edit(
      ZS,
      'lines("data/office-home/classes.txt")',
      'lines("data/office-home/classes.txt", "data/office-home/more.txt")',
    ),
    expect: [
      {
        code: "V3008",
        severity: E,
        span: "8:53-8:80",
        text: '"data/office-home/more.txt"',
        message: ["'lines' takes 1 argument"],
      },
    ],
  },
  {
    name: "too many positional arguments to a builtin",
    source: "loss l(x: [N]) {\n  return sum(x, x, x)\n}\n",
    expect: [
      {
        code: "V3008",
        severity: E,
        span: "2:10-2:22",
        text: "sum(x, x, x)",
        message: ["'sum' takes 1 tensor argument, found 3"],
      },
    ],
  },
  {
    name: "expected an integer: epochs = 2.5",
    source: edit(FT, "epochs = 10", "epochs = 2.5"),
    expect: [
      {
        code: "V3012",
        severity: E,
        span: "19:14-19:17",
        text: "2.5",
        message: ["expected an integer, found 2.5"],
        help: "write 3",
      },
    ],
  },
  {
    name: "wrong kind of definition: a schedule as the optimizer",
    source: edit(FT, "sgd(lr: 1e-3, momentum: 0.9)", "cosine()"),
    expect: [
      {
        code: "V7001",
        severity: W,
        span: "4:11-4:14",
        text: "sgd",
        message: ["'sgd' is imported but never used"],
      },
      {
        code: "V3011",
        severity: E,
        span: "18:17-18:25",
        text: "cosine()",
        message: ["optimizer", "'optim.cosine' is a schedule"],
      },
    ],
  },
  {
    name: "wrong kind of definition: an optimizer as an adapter",
    source: edit(
      FT,
      "adapt affine(sites: visual.layernorms)",
      "adapt affine(sites: visual.layernorms)\n  adapt sgd()",
    ),
    expect: [
      {
        code: "V3011",
        severity: E,
        span: "16:9-16:14",
        text: "sgd()",
        message: ["adapter", "'optim.sgd' is an optimizer"],
      },
    ],
  },
  {
    name: "value not allowed in a spec: indexing in a pipeline",
    source: edit(ZS, "metrics = [accuracy()]", "metrics = [accuracy()]\n    output = logits[:, 0]"),
    expect: [
      {
        code: "V3013",
        severity: E,
        span: "13:14-13:26",
        text: "logits[:, 0]",
        message: ["indexing", "belong in a fn or loss"],
      },
    ],
  },
];

const shapes: Case[] = [
  {
    name: "cannot broadcast [N] * [C]",
    source: "loss weighted(x: [N], y: [C]) {\n  return sum(x * y)\n}\n",
    expect: [
      {
        code: "V4002",
        severity: E,
        span: "2:14-2:19",
        text: "x * y",
        message: ["cannot broadcast [N] with [C]"],
        help: "x[:, new]",
      },
    ],
  },
  {
    name: "matrix product inner dimensions disagree",
    source: "fn project(x: [N, D], w: [E, K]) -> [N, K] {\n  return x @ w\n}\n",
    expect: [
      {
        code: "V4004",
        severity: E,
        span: "2:10-2:15",
        text: "x @ w",
        message: ["inner dimensions disagree", "[N, D] @ [E, K]", "D vs E"],
      },
    ],
  },
  {
    name: "axis out of range",
    source: "fn probs(logits: [N, C]) -> [N, C] {\n  return softmax(logits, axis: 2)\n}\n",
    expect: [
      {
        code: "V4003",
        severity: E,
        span: "2:10-2:34",
        text: "softmax(logits, axis: 2)",
        message: ["axis 2 is out of range for a tensor of rank 2"],
      },
    ],
  },
  {
    name: "loss is not a scalar",
    source: "loss per_sample(logits: [N, C]) {\n  return entropy(softmax(logits, axis: 1), axis: 1)\n}\n",
    expect: [
      {
        code: "V4006",
        severity: E,
        span: "1:6-1:16",
        text: "per_sample",
        message: ["returns a tensor of shape [N], not a scalar"],
        help: "mean(",
      },
    ],
  },
  {
    name: "missing return",
    source: "loss nothing(logits: [N, C]) {\n  sum(softmax(logits, axis: 1))\n}\n",
    expect: [
      {
        code: "V4008",
        severity: E,
        span: "1:6-1:13",
        text: "nothing",
        message: ["loss 'nothing' never returns a value"],
        help: "return",
      },
    ],
  },
  {
    name: "too many indices",
    source: "fn first(x: [N, C]) -> [N] {\n  return x[:, 0, 1]\n}\n",
    expect: [
      {
        code: "V4007",
        severity: E,
        span: "2:10-2:20",
        text: "x[:, 0, 1]",
        message: ["3 indices for a tensor of shape [N, C]"],
      },
    ],
  },
  {
    name: "symbol bound twice with different sizes",
    source:
      "fn square(x: [N, N]) -> [N, N] {\n  return x\n}\n\nfn crop(a: [4, 5]) -> [4, 4] {\n  return square(a)\n}\n",
    expect: [
      {
        code: "V4005",
        severity: E,
        span: "6:17-6:18",
        text: "a",
        message: ["'N' stands for 4 already", "but is 5 here"],
      },
    ],
  },
  {
    name: "shape mismatch: argument of the wrong rank",
    source:
      "fn double(x: [N]) -> [N] {\n  return 2 * x\n}\n\nloss l(x: [N, C]) {\n  return sum(double(x))\n}\n",
    expect: [
      {
        code: "V4001",
        severity: E,
        span: "6:21-6:22",
        text: "x",
        message: ["argument 'x' of 'double'", "[N]", "[N, C]"],
      },
    ],
  },
  {
    name: "shape mismatch: a let annotation",
    source: "fn f(x: [N, C]) -> [N, C] {\n  let y: [N] = x\n  return x + 0 * y[:, new]\n}\n",
    expect: [
      {
        code: "V4001",
        severity: E,
        span: "2:16-2:17",
        text: "x",
        message: ["[N]", "found 2 dimensions [N, C]"],
      },
    ],
  },
  {
    name: "tensor expected",
    source: "fn f(x: [N], s: string) -> [N] {\n  return x * s\n}\n",
    expect: [
      {
        code: "V4009",
        severity: E,
        span: "2:10-2:15",
        text: "x * s",
        message: ["'*' needs numbers or tensors", "string"],
      },
    ],
  },
];

const paths: Case[] = [
  {
    name: "missing data path: a warning under lint",
    paths: true,
    source: ZS,
    expect: [
      {
        code: "V5001",
        severity: W,
        span: "6:36-6:66",
        text: '"models/clip-vit-base-patch16"',
        message: ["'models/clip-vit-base-patch16' does not exist"],
      },
      {
        code: "V5001",
        severity: W,
        span: "8:21-8:51",
        text: '"data/office-home/classes.txt"',
        message: ["does not exist"],
      },
      {
        code: "V5001",
        severity: W,
        span: "9:19-9:41",
        text: '"data/office-home/Art"',
        message: ["'data/office-home/Art' does not exist"],
      },
    ],
  },
  {
    name: "missing data path: an error under --strict",
    paths: true,
    strict: true,
    source: edit(ZS, '"data/office-home/classes.txt"', '"README.md"').replace(
      '"models/clip-vit-base-patch16"',
      '"docs"',
    ),
    expect: [
      {
        code: "V5001",
        severity: E,
        span: "9:19-9:41",
        text: '"data/office-home/Art"',
        message: ["'data/office-home/Art' does not exist"],
        help: "override it",
      },
    ],
  },
];

const CL = COMMAND_LINE;
const overrides: Case[] = [
  {
    name: "malformed override: no `=`",
    source: FT,
    args: ["train.epochs"],
    expect: [
      {
        code: "V6001",
        severity: E,
        span: "1:1-1:13",
        text: "train.epochs",
        message: ["'train.epochs' is not an override"],
        help: "key.path=value",
        file: CL,
      },
    ],
  },
  {
    name: "malformed override: an empty value",
    source: FT,
    args: ["train.batch=64", "train.epochs="],
    expect: [
      {
        code: "V6001",
        severity: E,
        span: "1:22-1:28",
        text: "epochs",
        message: ["no value", "'train.epochs'"],
        file: CL,
      },
    ],
  },
  {
    name: "override names an unknown setting, with a suggestion",
    source: FT,
    args: ["train.epoch=3"],
    expect: [
      {
        code: "V6002",
        severity: E,
        span: "1:7-1:12",
        text: "epoch",
        message: ["block 'train' has no setting or block 'epoch'"],
        help: "did you mean 'epochs'?",
        file: CL,
      },
    ],
  },
  {
    name: "override of a labelled block without the label",
    source: FT,
    args: ["evaluate.batch=64"],
    expect: [
      {
        code: "V6002",
        severity: E,
        span: "1:1-1:9",
        text: "evaluate",
        message: ["'evaluate' is labelled", "evaluate.test."],
        file: CL,
      },
    ],
  },
  {
    name: "override with a bad value points into the command line",
    source: FT,
    args: ["train.batch=64", "train.epochs=abc"],
    expect: [
      {
        code: "V2001",
        severity: E,
        span: "1:29-1:32",
        text: "abc",
        message: ["unknown name 'abc'"],
        file: CL,
      },
    ],
  },
  {
    name: "override with a non-integer value",
    source: FT,
    args: ["train.epochs=2.5"],
    expect: [
      {
        code: "V3012",
        severity: E,
        span: "1:14-1:17",
        text: "2.5",
        message: ["expected an integer, found 2.5"],
        file: CL,
      },
    ],
  },
  {
    name: "override with an out-of-range value",
    source: FT,
    args: ["train.optimizer=sgd(lr:20)"],
    expect: [
      {
        code: "V7005",
        severity: W,
        span: "1:24-1:26",
        text: "20",
        message: ["lr = 20 is outside the usual range [1e-8, 10]"],
        file: CL,
      },
    ],
  },
  {
    name: "override equal to the current value",
    source: FT,
    args: ["train.epochs=10"],
    expect: [
      {
        code: "V7003",
        severity: W,
        span: "1:1-1:16",
        text: "train.epochs=10",
        message: ["the value the setting already has"],
        help: "remove",
        file: CL,
      },
    ],
  },
  {
    name: "YAML override file that is not valid YAML (a tab)",
    source: FT,
    yaml: "train:\n\tepochs: 3\n",
    expect: [
      {
        code: "V6003",
        severity: E,
        span: "2:1-2:2",
        text: "\t",
        message: ["not valid YAML", "Tabs"],
        file: YAML_FILE,
      },
    ],
  },
  {
    name: "YAML override of an unknown setting points at its key",
    source: FT,
    yaml: "train:\n  epochs: 3\n  epoch: 4\n",
    expect: [
      {
        code: "V6002",
        severity: E,
        span: "3:3-3:8",
        text: "epoch",
        message: ["no setting or block 'epoch'"],
        help: "did you mean 'epochs'?",
        file: YAML_FILE,
      },
    ],
  },
  {
    name: "YAML override with a dotted key",
    source: FT,
    yaml: "train.epoch: 4\n",
    expect: [
      {
        code: "V6002",
        severity: E,
        span: "1:7-1:12",
        text: "epoch",
        message: ["no setting or block 'epoch'"],
        help: "did you mean 'epochs'?",
        file: YAML_FILE,
      },
    ],
  },
  {
    name: "YAML override with a block list",
    source: FT,
    yaml: "train:\n  augment:\n    - flip()\n",
    expect: [
      {
        code: "V6001",
        severity: E,
        span: "3:5-4:1",
        text: "- flip()\n",
        message: ["write lists inline"],
        file: YAML_FILE,
      },
    ],
  },
  {
    name: "YAML override key that is not a setting path",
    source: FT,
    yaml: "train:\n  ep-ochs: 3\n",
    expect: [
      {
        code: "V6001",
        severity: E,
        span: "2:3-2:10",
        text: "ep-ochs",
        message: ["'ep-ochs' is not a setting path"],
        file: YAML_FILE,
      },
    ],
  },
  {
    name: "YAML override whose value has the wrong type",
    source: FT,
    yaml: 'train:\n  epochs: "3"\n',
    expect: [
      {
        code: "V3001",
        severity: E,
        span: "2:11-2:14",
        text: '"3"',
        message: ["expected int, found string"],
        file: YAML_FILE,
      },
    ],
  },
  {
    name: "YAML override file whose top level is not a mapping",
    source: FT,
    yaml: "3\n",
    expect: [
      {
        code: "V6001",
        severity: E,
        span: "1:1-1:2",
        text: "3",
        message: ["must be a mapping"],
        file: YAML_FILE,
      },
    ],
  },
];

const lint: Case[] = [
  {
    name: "unused import",
    source: edit(ZS, "use metrics.accuracy", "use metrics.accuracy\nuse prompts.imagenet80"),
    expect: [
      {
        code: "V7001",
        severity: W,
        span: "4:13-4:23",
        text: "imagenet80",
        message: ["'imagenet80' is imported but never used"],
        help: "remove it",
      },
    ],
  },
  {
    name: "unused let",
    source:
      "loss l(logits: [N, C]) {\n  let p = softmax(logits, axis: 1)\n  let q = p * 2\n  return sum(p)\n}\n",
    expect: [
      { code: "V7002", severity: W, span: "3:7-3:8", text: "q", message: ["'q' is never used"], help: "_q" },
    ],
  },
  {
    name: "unused fn parameter",
    source: "loss l(logits: [N, C], labels: [N]) {\n  return sum(softmax(logits, axis: 1))\n}\n",
    expect: [
      {
        code: "V7008",
        severity: W,
        span: "1:24-1:30",
        text: "labels",
        message: ["parameter 'labels' is never used"],
        help: "_labels",
      },
    ],
  },
  {
    name: "evaluation with no metrics",
    source: edit(ZS, "metrics = [accuracy()]", "metrics = []"),
    expect: [
      {
        code: "V7001",
        severity: W,
        span: "3:13-3:21",
        text: "accuracy",
        message: ["'accuracy' is imported but never used"],
      },
      {
        code: "V7004",
        severity: W,
        span: "12:15-12:17",
        text: "[]",
        message: ["computes no metric"],
        help: "accuracy()",
      },
    ],
  },
  {
    name: "learning rate outside the sane range (sgd: [1e-8, 10])",
    source: edit(FT, "sgd(lr: 1e-3", "sgd(lr: 20"),
    expect: [
      {
        code: "V7005",
        severity: W,
        span: "18:25-18:27",
        text: "20",
        message: ["lr = 20 is outside the usual range [1e-8, 10]"],
      },
    ],
  },
  {
    name: "learning rate outside the sane range (adamw: [1e-8, 1])",
    source: edit(
      edit(FT, "use optim.sgd", "use optim.adamw"),
      "sgd(lr: 1e-3, momentum: 0.9)",
      "adamw(lr: 2)",
    ),
    expect: [
      {
        code: "V7005",
        severity: W,
        span: "18:27-18:28",
        text: "2",
        message: ["lr = 2 is outside the usual range [1e-8, 1]"],
      },
    ],
  },
  {
    name: "batch outside the sane range",
    source: edit(FT, "batch = 32", "batch = 10000"),
    expect: [
      {
        code: "V7005",
        severity: W,
        span: "20:13-20:18",
        text: "10000",
        message: ["batch = 10000 is outside the usual range [1, 4096]"],
      },
    ],
  },
  {
    name: "train and test data overlap",
    source: edit(FT, '"data/office-home/Clipart"', '"data/office-home/Art"'),
    expect: [
      {
        code: "V7006",
        severity: W,
        span: "13:12-13:60",
        text: 'folder("data/office-home/Art", classes: classes)',
        message: ["test data is the training data ('data/office-home/Art')"],
      },
    ],
  },
  {
    name: "adapter without training",
    source: edit(ZS, "use clip\n", "use clip\nuse adapters.affine\n").replace(
      "  evaluate test",
      "  adapt affine()\n  evaluate test",
    ),
    expect: [
      {
        code: "V7007",
        severity: W,
        span: "12:9-12:17",
        text: "affine()",
        message: ["'adapters.affine' adds trainable parameters", "no train block"],
      },
    ],
  },
  {
    name: "a child pipeline sets what its parent already set",
    source: `${ZS}\npipeline zs_again extends zs {\n  evaluate test {\n    metrics = [accuracy()]\n  }\n}\n`,
    expect: [
      {
        code: "V7003",
        severity: W,
        span: "18:5-18:27",
        text: "metrics = [accuracy()]",
        message: ["the value the setting already has"],
        help: "remove the line",
      },
    ],
  },
];

// Mistakes an earlier version of the checker let through or reported badly; each stays fixed.
const regressions: Case[] = [
  {
    name: "a fn returns a shape other than the one it declares",
    source: "fn f(x: [N, C]) -> [N] {\n  return x\n}\n",
    expect: [
      {
        code: "V4001",
        severity: E,
        span: "1:20-1:23",
        text: "[N]",
        message: ["declared to return [N]", "found 2 dimensions [N, C]"],
      },
    ],
  },
  {
    name: "calls of a user fn inside a body have their arguments checked",
    source:
      "fn double(x: [N]) -> [N] {\n  return 2 * x\n}\nfn g(x: [N]) -> [N] {\n  return double(x, x) + double(y: x)\n}\n",
    expect: [
      { code: "V3008", severity: E, span: "5:20-5:21", text: "x", message: ["fn 'double' takes 1 argument"] },
      { code: "V3003", severity: E, span: "5:25-5:31", text: "double", message: ["fn 'double' needs 'x'"] },
      {
        code: "V3002",
        severity: E,
        span: "5:32-5:33",
        text: "y",
        message: ["no setting 'y'"],
        help: "did you mean 'x'?",
      },
    ],
  },
  {
    name: "a training objective that is not a scalar",
    source: edit(FT, "objective = losses.ce(logits, labels)", "objective = logits"),
    expect: [
      {
        code: "V7001",
        severity: W,
        span: "2:5-2:11",
        text: "losses",
        message: ["'losses' is imported but never used"],
      },
      {
        code: "V4006",
        severity: E,
        span: "17:17-17:23",
        text: "logits",
        message: ["expected a scalar", "[N, C]"],
      },
    ],
  },
  {
    name: "a block written twice in one pipeline",
    source: edit(FT, "  evaluate test {", "  train {\n    epochs = 20\n  }\n  evaluate test {"),
    expect: [
      {
        code: "V3004",
        severity: E,
        span: "22:3-22:8",
        text: "train",
        message: ["block 'train' appears twice"],
        help: "merge",
      },
    ],
  },
  {
    name: "the same module imported twice",
    source: "use clip\nuse clip\nfn f(x: [N]) -> [N] {\n  return x\n}\n",
    expect: [
      {
        code: "V7001",
        severity: W,
        span: "1:5-1:9",
        text: "clip",
        message: ["'clip' is imported but never used"],
      },
      { code: "V2005", severity: E, span: "2:5-2:9", text: "clip", message: ["'clip' is imported twice"] },
    ],
  },
  {
    name: "a misspelled enum member is reported once, with the options",
    source: edit(
      edit(FT, "epochs = 10", "epochs = 10\n    schedule = cosine(every: stpe)"),
      "use optim.sgd",
      "use optim.{sgd, cosine}",
    ),
    expect: [
      {
        code: "V3009",
        severity: E,
        span: "20:30-20:34",
        text: "stpe",
        message: ["'step', 'epoch'"],
        help: "did you mean 'step'?",
      },
    ],
  },
  {
    name: "a provided value called like a function",
    source: edit(FT, "metrics = [accuracy()]", "metrics = [accuracy()]\n    output = logits(1)"),
    expect: [
      {
        code: "V3007",
        severity: E,
        span: "24:14-24:20",
        text: "logits",
        message: ["'logits' is a value, not a function"],
      },
    ],
  },
  {
    name: "test data that is the training data, unless declared transductive",
    source: edit(FT, 'folder("data/office-home/Clipart"', 'folder("data/office-home/Art"'),
    expect: [
      {
        code: "V7006",
        severity: W,
        span: "13:12-13:60",
        text: 'folder("data/office-home/Art", classes: classes)',
        message: ["test data is the training data"],
        help: "transductive = true",
      },
    ],
  },
  {
    name: "transductive = true silences the overlap warning",
    source: edit(
      edit(FT, 'folder("data/office-home/Clipart"', 'folder("data/office-home/Art"'),
      "    classes = lines",
      "    transductive = true\n    classes = lines",
    ),
    expect: [],
  },
  {
    name: "an override that sets a setting to its declared default",
    source: FT,
    args: ["evaluate.test.batch=192"],
    expect: [
      {
        code: "V7003",
        severity: W,
        span: "1:21-1:24",
        text: "192",
        message: ["'batch' to its default"],
        file: COMMAND_LINE,
      },
    ],
  },
  {
    name: "an override that names a block as if it were a setting",
    source: FT,
    args: ["train=3"],
    expect: [
      {
        code: "V6002",
        severity: E,
        span: "1:1-1:6",
        text: "train",
        message: ["'train' is a block, not a setting"],
        file: COMMAND_LINE,
      },
    ],
  },
  {
    name: "a prompt adapter under an objective that reads only image features gets no gradient",
    source: edit(
      edit(
        edit(FT, "use adapters.affine", "use adapters.prompt"),
        "adapt affine(sites: visual.layernorms)",
        "adapt prompt(context: 4)",
      ),
      "objective = losses.ce(logits, labels)",
      "objective = losses.supcon(image_features, labels)",
    ),
    expect: [
      {
        code: "V7007",
        severity: W,
        span: "15:9-15:27",
        text: "prompt(context: 4)",
        message: ["'adapters.prompt' trains parameters no input of this objective depends on"],
      },
    ],
  },
  {
    name: "the LayerNorm affine adapter under the same objective is fine: image features depend on it",
    source: edit(
      FT,
      "objective = losses.ce(logits, labels)",
      "objective = losses.supcon(image_features, labels)",
    ),
    expect: [],
  },
  {
    name: "an override value cut short points at its own end, not at hidden text",
    source: FT,
    args: ["train.epochs=(3"],
    expect: [
      {
        code: "V1005",
        severity: E,
        span: "1:16-1:16",
        text: "",
        message: ["the value ends before the expression is complete"],
        file: COMMAND_LINE,
      },
    ],
  },
];

const groups: [string, Case[]][] = [
  ["syntax", syntax],
  ["names and imports", names],
  ["types and settings", settings],
  ["tensor shapes", shapes],
  ["paths", paths],
  ["overrides", overrides],
  ["lint rules", lint],
  ["regressions", regressions],
];

interface Outcome {
  diagnostics: Diagnostic[];
  sources: ReadonlyMap<string, string>;
}

function run(c: Case): Outcome {
  const parsed =
    c.yaml !== undefined ? parseOverrideFile(YAML_FILE, c.yaml) : parseCommandLineOverrides(c.args ?? []);
  const file = c.entry ?? SPEC;
  const result = compileFile(file, {
    mode: c.mode ?? "lint",
    ...(c.source !== undefined ? { text: c.source } : {}),
    ...(c.strict ? { strict: true } : {}),
    ...(c.pipeline ? { pipeline: c.pipeline } : {}),
    overrides: parsed.overrides,
    overrideSources: parsed.sources,
  });
  const diagnostics = sortDiagnostics([...parsed.diagnostics, ...result.diagnostics]).filter(
    (d) => c.paths || d.code !== "V5001",
  );
  return { diagnostics, sources: result.sources };
}

function spanOf(d: Diagnostic): string {
  return `${d.span.start.line}:${d.span.start.col}-${d.span.end.line}:${d.span.end.col}`;
}

describe("golden diagnostics", () => {
  for (const [group, cases] of groups) {
    describe(group, () => {
      for (const c of cases) {
        it(c.name, () => {
          const { diagnostics, sources } = run(c);
          const spec = c.entry ?? SPEC;
          const actual = diagnostics.map((d) => ({
            code: d.code,
            severity: d.severity,
            file: d.span.file,
            span: spanOf(d),
            text: sources.get(d.span.file)?.slice(d.span.start.offset, d.span.end.offset),
          }));
          const expected = c.expect.map((e) => ({
            code: e.code,
            severity: e.severity,
            file: e.file ?? spec,
            span: e.span,
            text: e.text,
          }));
          expect(actual).toEqual(expected);
          c.expect.forEach((e, i) => {
            const d = diagnostics[i]!;
            for (const words of e.message) expect(d.message).toContain(words);
            if (e.help !== undefined) expect(d.help).toContain(e.help);
          });
        });
      }
    });
  }

  it("has at least 45 cases covering every diagnostic family", () => {
    const all = groups.flatMap(([, cases]) => cases);
    expect(all.length).toBeGreaterThanOrEqual(45);
    const families = new Set(all.flatMap((c) => c.expect.map((e) => e.code.slice(0, 2))));
    expect([...families].sort()).toEqual(["V1", "V2", "V3", "V4", "V5", "V6", "V7"]);
  });
});

describe("bundled specs", () => {
  const files = [
    ...readdirSync("pipelines", { recursive: true, encoding: "utf8" })
      .filter((f) => f.endsWith(".vlmp"))
      .map((f) => path.join("pipelines", f)),
    ...readdirSync("stdlib")
      .filter((f) => f.endsWith(".vlmp"))
      .map((f) => path.join("stdlib", f)),
  ].sort();

  it("exist", () => {
    expect(files.length).toBeGreaterThan(10);
  });

  for (const file of files) {
    it(`${file} lints with no errors (warnings only for missing data paths)`, () => {
      const { diagnostics } = compileFile(file, { mode: "lint" });
      const unexpected = diagnostics
        .filter((d) => d.severity === "error" || d.code !== "V5001")
        .map(
          (d) =>
            `${d.span.file}:${d.span.start.line}:${d.span.start.col}: ${d.severity}[${d.code}] ${d.message}`,
        );
      expect(unexpected).toEqual([]);
    });
  }
});
