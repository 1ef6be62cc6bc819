// The typed AST of a .vlmp file. Every node carries the span of source text it came from, so any later
// stage (checker, IR, graph) can point back at the user's line.

/** A half-open range in one file; lines and columns are 1-based, offsets 0-based. */
export interface Span {
  file: string;
  start: { offset: number; line: number; col: number };
  end: { offset: number; line: number; col: number };
}

interface NodeBase {
  span: Span;
  /** True when the parser invented or skipped tokens to build this node: checks skip recovered nodes. */
  recovered?: boolean;
}

export interface Identifier extends NodeBase {
  kind: "Identifier";
  name: string;
}

// ---------------------------------------------------------------------------------------------------
// Expressions

export type Expr =
  | NumberLit
  | StringLit
  | BoolLit
  | NoneLit
  | NameRef
  | ListExpr
  | RecordExpr
  | UnaryExpr
  | BinaryExpr
  | CallExpr
  | MemberExpr
  | IndexExpr
  | RangeExpr
  | ErrorExpr;

export interface NumberLit extends NodeBase {
  kind: "Number";
  value: number;
  /** The literal as written (`1e-4`, `0.50`), kept so that fmt reproduces it. */
  text: string;
  isInteger: boolean;
}

export interface StringLit extends NodeBase {
  kind: "String";
  /** The decoded value: escapes `\"`, `\\`, `\n`, `\t`, `\{` resolved (`\{` becomes a plain `{`). */
  value: string;
  /** The literal as written, quotes included, kept so that fmt reproduces it; absent on synthesized nodes. */
  text?: string;
}

export interface BoolLit extends NodeBase {
  kind: "Bool";
  value: boolean;
}

export interface NoneLit extends NodeBase {
  kind: "None";
}

export interface NameRef extends NodeBase {
  kind: "Name";
  name: string;
}

export interface ListExpr extends NodeBase {
  kind: "List";
  items: Expr[];
}

export interface RecordField extends NodeBase {
  kind: "RecordField";
  key: Identifier;
  value: Expr;
}

export interface RecordExpr extends NodeBase {
  kind: "Record";
  fields: RecordField[];
}

export type UnaryOp = "-" | "not";

export interface UnaryExpr extends NodeBase {
  kind: "Unary";
  op: UnaryOp;
  operand: Expr;
}

export type BinaryOp =
  | "or"
  | "and"
  | "=="
  | "!="
  | "<"
  | "<="
  | ">"
  | ">="
  | "+"
  | "-"
  | "*"
  | "/"
  | "%"
  | "@"
  | "**";

export interface BinaryExpr extends NodeBase {
  kind: "Binary";
  op: BinaryOp;
  left: Expr;
  right: Expr;
}

export interface Argument extends NodeBase {
  kind: "Argument";
  /** Absent for positional arguments. */
  name?: Identifier;
  value: Expr;
}

export interface CallExpr extends NodeBase {
  kind: "Call";
  callee: Expr;
  args: Argument[];
}

export interface MemberExpr extends NodeBase {
  kind: "Member";
  object: Expr;
  property: Identifier;
}

/** One entry between the brackets of `x[...]`. */
export type IndexItem =
  | { kind: "IndexExpr"; span: Span; value: Expr }
  | { kind: "Slice"; span: Span; start?: Expr; stop?: Expr; step?: Expr }
  | { kind: "NewAxis"; span: Span }
  | { kind: "Ellipsis"; span: Span };

export interface IndexExpr extends NodeBase {
  kind: "Index";
  object: Expr;
  items: IndexItem[];
}

/** `a..b`: the integers a, a+1, …, b−1. Used by `for` and list comprehension-free repetition. */
export interface RangeExpr extends NodeBase {
  kind: "Range";
  start: Expr;
  end: Expr;
}

/** Stands in for an expression the parser could not read; never reaches lowering. */
export interface ErrorExpr extends NodeBase {
  kind: "ErrorExpr";
}

// ---------------------------------------------------------------------------------------------------
// Types (annotations on parameters of definitions and declarations)

export type TypeExpr = NamedType | TensorType | UnionType;

/** `int`, `number`, `string`, `bool`, `path`, `site`, `sites`, `list<int>`, or an enum member like `end`. */
export interface NamedType extends NodeBase {
  kind: "NamedType";
  name: string;
  args: TypeExpr[];
}

/** `[N, C]`, `f16[B, 3, 224, 224]`; each dimension is an expression over symbols and integers. */
export interface TensorType extends NodeBase {
  kind: "TensorType";
  dtype?: Identifier;
  dims: Expr[];
}

/** `end | middle | front` — an enumeration of symbols (or a union of types). */
export interface UnionType extends NodeBase {
  kind: "UnionType";
  options: NamedType[];
}

// ---------------------------------------------------------------------------------------------------
// Statements inside tensor-function, adapter-hook and model bodies

export type Stmt = LetStmt | AssignStmt | ReturnStmt | ForStmt | ExprStmt;

export interface LetStmt extends NodeBase {
  kind: "Let";
  name: Identifier;
  type?: TypeExpr;
  value: Expr;
}

/** `x = expr` re-binds an existing `let` (needed inside `for` bodies). */
export interface AssignStmt extends NodeBase {
  kind: "Assign";
  name: Identifier;
  value: Expr;
}

export interface ReturnStmt extends NodeBase {
  kind: "Return";
  value: Expr;
}

export interface ForStmt extends NodeBase {
  kind: "For";
  variable: Identifier;
  iterable: Expr;
  body: Stmt[];
}

export interface ExprStmt extends NodeBase {
  kind: "ExprStmt";
  expr: Expr;
}

// ---------------------------------------------------------------------------------------------------
// Declarations

export interface Param extends NodeBase {
  kind: "Param";
  name: Identifier;
  type?: TypeExpr;
  default?: Expr;
  /** `in [lo, hi]`: the sane range; values outside it draw a lint warning, not an error. */
  range?: { span: Span; low: Expr; high: Expr };
  doc?: string;
}

/** `use clip`, `use losses.ueo`, `use adapters.{prompt, affine}`, `use "./mine.vlmp" as mine`. */
export interface UseDecl extends NodeBase {
  kind: "Use";
  /** A stdlib module name (`clip`) or a relative file path (`"./mine.vlmp"`). */
  module: Identifier | StringLit;
  /** The names imported into scope; absent when the module itself is bound (as its name or the alias). */
  names?: Identifier[];
  alias?: Identifier;
}

/** `fn` (a tensor function) and `loss` (a tensor function whose result is a scalar to minimise). */
export interface FunctionDecl extends NodeBase {
  kind: "Function";
  keyword: "fn" | "loss";
  name: Identifier;
  params: Param[];
  returns?: TypeExpr;
  body: Stmt[];
}

/** `param w: [D, D] = normal(std: 0.02) from "key.{i}" frozen` inside models and adapters. */
export interface ParamDecl extends NodeBase {
  kind: "ParamDecl";
  name: Identifier;
  type: TensorType;
  init?: Expr;
  /** The checkpoint key the value loads from (HF layout); may interpolate loop variables as `{i}`. */
  checkpoint?: StringLit;
  /** Defaults: frozen in a model, trainable in an adapter. */
  trainable?: boolean;
}

/** `sub ln_pre = layer_norm(width) from "vision_model.pre_layrnorm"` or `sub blocks[i in 0..layers] = ...`. */
export interface SubmoduleDecl extends NodeBase {
  kind: "Submodule";
  name: Identifier;
  /** Present for a repeated submodule: `blocks[i in 0..layers]`. */
  repeat?: { variable: Identifier; range: Expr };
  value: CallExpr;
  prefix?: StringLit;
}

/** `site layernorms = [ln_pre, blocks.ln_1, blocks.ln_2, ln_post]`: a named group of attachment points. */
export interface SiteDecl extends NodeBase {
  kind: "Site";
  name: Identifier;
  value?: Expr;
}

/** `forward(x: [B, D]) -> [B, E] { ... }` inside a model, or `at text.features(x: [C, D]) { ... }` in an adapter. */
export interface HookDecl extends NodeBase {
  kind: "Hook";
  /** `forward` for a model's computation; otherwise the site the adapter rewrites. */
  target: Expr | "forward";
  params: Param[];
  returns?: TypeExpr;
  body: Stmt[];
}

/** `unfreeze sites` in an adapter: makes the parameters at the named sites trainable. */
export interface UnfreezeDecl extends NodeBase {
  kind: "Unfreeze";
  target: Expr;
}

export type ModelItem = ParamDecl | SubmoduleDecl | SiteDecl | HookDecl | LetStmt;
export type AdapterItem = ParamDecl | HookDecl | UnfreezeDecl | LetStmt;

export interface ModelDecl extends NodeBase {
  kind: "Model";
  name: Identifier;
  params: Param[];
  items: ModelItem[];
}

export interface AdapterDecl extends NodeBase {
  kind: "Adapter";
  name: Identifier;
  params: Param[];
  items: AdapterItem[];
}

/**
 * `extern optimizer sgd(lr: number in [1e-7, 1], momentum: number = 0) -> optimizer`:
 * a host-implemented function whose signature the checker enforces.
 */
export interface ExternDecl extends NodeBase {
  kind: "Extern";
  /** What the host function produces: optimizer, schedule, source, metric, init, value, … */
  category: Identifier;
  name: Identifier;
  params: Param[];
  returns?: TypeExpr;
}

/** `block train { epochs: int in [1, 1000]; batch: int; seed: int = 0 }`: the settings a pipeline block takes. */
export interface BlockSchemaDecl extends NodeBase {
  kind: "BlockSchema";
  name: Identifier;
  /** `block evaluate(label) { ... }` when the block carries a label. */
  labelled: boolean;
  settings: Param[];
  /** Names of nested blocks allowed inside (`contains data, train`). */
  contains: Identifier[];
  /** Values the runtime makes available inside the block (`provides logits: [N, C], labels: [N]`). */
  provides?: Param[];
  /** `...: type`: the block also takes settings of any other name, of this type (the constants block). */
  rest?: { span: Span; type: TypeExpr };
}

// ---------------------------------------------------------------------------------------------------
// Pipelines

/** `name = expr` inside a pipeline or block. */
export interface Attribute extends NodeBase {
  kind: "Attribute";
  name: Identifier;
  value: Expr;
}

/** `train { ... }`, `evaluate test { ... }`, `stage erm { ... }`. */
export interface Block extends NodeBase {
  kind: "Block";
  name: Identifier;
  label?: Identifier;
  items: PipelineItem[];
}

/** `adapt prompt(context: 4)`: attach an adapter to the backbone. */
export interface AdaptStmt extends NodeBase {
  kind: "Adapt";
  adapter: Expr;
}

export type PipelineItem = Attribute | Block | AdaptStmt;

export interface PipelineDecl extends NodeBase {
  kind: "Pipeline";
  name: Identifier;
  extends?: Identifier;
  items: PipelineItem[];
}

export type TopLevel =
  | UseDecl
  | FunctionDecl
  | ModelDecl
  | AdapterDecl
  | ExternDecl
  | BlockSchemaDecl
  | PipelineDecl;

/** A comment with its span; kept beside the AST so that fmt can put every comment back. */
export interface Comment {
  text: string;
  span: Span;
}

export interface SourceFile {
  kind: "SourceFile";
  path: string;
  text: string;
  items: TopLevel[];
  comments: Comment[];
}
