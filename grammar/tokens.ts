// The token vocabulary of .vlmp and its lexer. Positions are offsets only: lines and columns are computed
// from the source text in one place (grammar/positions.ts), so that every span agrees.

import { createToken, Lexer, type TokenType } from "chevrotain";

/** Anything that may name a named-argument key, a record key, a parameter, an attribute or a member. */
export const KeyName = createToken({ name: "KeyName", pattern: Lexer.NA, label: "name" });

/** Every binary operator, and the two prefix operators (`-` is both). */
export const BinaryOp = createToken({ name: "BinaryOp", pattern: Lexer.NA, label: "an operator" });
export const PrefixOp = createToken({ name: "PrefixOp", pattern: Lexer.NA, label: "'-' or 'not'" });

export const Identifier = createToken({
  name: "Identifier",
  pattern: /[A-Za-z_][A-Za-z0-9_]*/,
  categories: [KeyName],
  label: "identifier",
});

/** Keyword names exactly as they appear in source, in the order docs/language.md lists them. */
export const KEYWORDS = [
  "use",
  "as",
  "pipeline",
  "extends",
  "fn",
  "loss",
  "model",
  "adapter",
  "extern",
  "block",
  "param",
  "sub",
  "site",
  "forward",
  "at",
  "unfreeze",
  "adapt",
  "let",
  "return",
  "for",
  "in",
  "from",
  "trainable",
  "frozen",
  "true",
  "false",
  "none",
  "and",
  "or",
  "not",
  "new",
] as const;

export type Keyword = (typeof KEYWORDS)[number];

function keyword(word: Keyword, categories: TokenType[] = []): TokenType {
  const name = word[0]!.toUpperCase() + word.slice(1);
  return createToken({
    name,
    pattern: new RegExp(word),
    longer_alt: Identifier,
    categories: [KeyName, ...categories],
    label: `'${word}'`,
  });
}

export const Use = keyword("use");
export const As = keyword("as");
export const Pipeline = keyword("pipeline");
export const Extends = keyword("extends");
export const Fn = keyword("fn");
export const Loss = keyword("loss");
export const Model = keyword("model");
export const Adapter = keyword("adapter");
export const Extern = keyword("extern");
export const Block = keyword("block");
export const Param = keyword("param");
export const Sub = keyword("sub");
export const Site = keyword("site");
export const Forward = keyword("forward");
export const At = keyword("at");
export const Unfreeze = keyword("unfreeze");
export const Adapt = keyword("adapt");
export const Let = keyword("let");
export const Return = keyword("return");
export const For = keyword("for");
export const In = keyword("in");
export const From = keyword("from");
export const Trainable = keyword("trainable");
export const Frozen = keyword("frozen");
export const True = keyword("true");
export const False = keyword("false");
export const None = keyword("none");
export const And = keyword("and", [BinaryOp]);
export const Or = keyword("or", [BinaryOp]);
export const Not = keyword("not", [PrefixOp]);
export const New = keyword("new");

export const keywordTokens: readonly TokenType[] = [
  Use,
  As,
  Pipeline,
  Extends,
  Fn,
  Loss,
  Model,
  Adapter,
  Extern,
  Block,
  Param,
  Sub,
  Site,
  Forward,
  At,
  Unfreeze,
  Adapt,
  Let,
  Return,
  For,
  In,
  From,
  Trainable,
  Frozen,
  True,
  False,
  None,
  And,
  Or,
  Not,
  New,
];

/** `contains`, `provides` and `label` are words only inside `block` declarations: identifiers elsewhere. */
export const Contains = createToken({
  name: "Contains",
  pattern: /contains/,
  longer_alt: Identifier,
  categories: [Identifier, KeyName],
  label: "'contains'",
});
export const Provides = createToken({
  name: "Provides",
  pattern: /provides/,
  longer_alt: Identifier,
  categories: [Identifier, KeyName],
  label: "'provides'",
});
export const Label = createToken({
  name: "Label",
  pattern: /label/,
  longer_alt: Identifier,
  categories: [Identifier, KeyName],
  label: "'label'",
});

export const NumberLiteral = createToken({
  name: "NumberLiteral",
  pattern: /[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/,
  label: "number",
});

/** Both terminated and unterminated strings are strings to the parser; the lexer stage reports the latter. */
export const StringLiteral = createToken({ name: "StringLiteral", pattern: Lexer.NA, label: "string" });
export const ClosedString = createToken({
  name: "ClosedString",
  pattern: /"(?:[^"\\\r\n]|\\[^\r\n])*"/,
  categories: [StringLiteral],
  label: "string",
});
export const UnterminatedString = createToken({
  name: "UnterminatedString",
  pattern: /"(?:[^"\\\r\n]|\\[^\r\n])*\\?/,
  categories: [StringLiteral],
  label: "string",
});

export const Comment = createToken({ name: "Comment", pattern: /#[^\r\n]*/, group: "comments" });
export const WhiteSpace = createToken({
  name: "WhiteSpace",
  pattern: /[ \t\f\v\r\n]+/,
  group: Lexer.SKIPPED,
  line_breaks: true,
});

function punct(name: string, text: string, categories: TokenType[] = []): TokenType {
  const escaped = text.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
  return createToken({ name, pattern: new RegExp(escaped), label: `'${text}'`, categories });
}

// Operator categories: the parser consumes a category, the AST keeps the token's text.
export const CompareOp = createToken({
  name: "CompareOp",
  pattern: Lexer.NA,
  label: "comparison",
  categories: [BinaryOp],
});
export const AddOp = createToken({
  name: "AddOp",
  pattern: Lexer.NA,
  label: "'+' or '-'",
  categories: [BinaryOp],
});
export const MulOp = createToken({
  name: "MulOp",
  pattern: Lexer.NA,
  label: "'*', '/', '%' or '@'",
  categories: [BinaryOp],
});

export const LBrace = punct("LBrace", "{");
export const RBrace = punct("RBrace", "}");
export const LParen = punct("LParen", "(");
export const RParen = punct("RParen", ")");
export const LBracket = punct("LBracket", "[");
export const RBracket = punct("RBracket", "]");
export const Comma = punct("Comma", ",");
export const Colon = punct("Colon", ":");
export const Ellipsis = punct("Ellipsis", "...");
export const DotDot = punct("DotDot", "..", [BinaryOp]);
export const Dot = punct("Dot", ".");
export const Arrow = punct("Arrow", "->");
export const EqEq = punct("EqEq", "==", [CompareOp]);
export const NotEq = punct("NotEq", "!=", [CompareOp]);
export const LessEq = punct("LessEq", "<=", [CompareOp]);
export const GreaterEq = punct("GreaterEq", ">=", [CompareOp]);
export const Less = punct("Less", "<", [CompareOp]);
export const Greater = punct("Greater", ">", [CompareOp]);
export const Equals = punct("Equals", "=");
export const Pipe = punct("Pipe", "|");
export const StarStar = punct("StarStar", "**", [BinaryOp]);
export const Star = punct("Star", "*", [MulOp]);
export const Slash = punct("Slash", "/", [MulOp]);
export const Percent = punct("Percent", "%", [MulOp]);
export const AtSign = punct("AtSign", "@", [MulOp]);
export const Plus = punct("Plus", "+", [AddOp]);
export const Minus = punct("Minus", "-", [AddOp, BinaryOp, PrefixOp]);

/** Every token type, in lexing priority order (longer punctuation before its prefixes). */
export const allTokens: TokenType[] = [
  WhiteSpace,
  Comment,
  ClosedString,
  UnterminatedString,
  NumberLiteral,
  // longest first, so that `forward` is not lexed as `for` + longer identifier
  ...[...keywordTokens].sort((a, b) => String(b.PATTERN).length - String(a.PATTERN).length),
  Contains,
  Provides,
  Label,
  Identifier,
  LBrace,
  RBrace,
  LParen,
  RParen,
  LBracket,
  RBracket,
  Comma,
  Colon,
  Ellipsis,
  DotDot,
  Dot,
  Arrow,
  EqEq,
  NotEq,
  LessEq,
  GreaterEq,
  Less,
  Greater,
  Equals,
  Pipe,
  StarStar,
  Star,
  Slash,
  Percent,
  AtSign,
  Plus,
  Minus,
  // categories (no pattern of their own)
  KeyName,
  StringLiteral,
  CompareOp,
  AddOp,
  MulOp,
  BinaryOp,
  PrefixOp,
];

/**
 * Source text of every concrete token kind, for tests and fuzzers that build token streams.
 * Identifiers, numbers and strings get a few representative spellings.
 */
export const TOKEN_SAMPLES: readonly string[] = [
  ...KEYWORDS,
  "contains",
  "provides",
  "label",
  "x",
  "logits",
  "N",
  "_w2",
  "64",
  "0.5",
  "1e-4",
  '"a photo of a"',
  '"key.{i}"',
  '"esc\\"\\n"',
  "{",
  "}",
  "(",
  ")",
  "[",
  "]",
  ",",
  ":",
  "...",
  "..",
  ".",
  "->",
  "==",
  "!=",
  "<=",
  ">=",
  "<",
  ">",
  "=",
  "|",
  "**",
  "*",
  "/",
  "%",
  "@",
  "+",
  "-",
  "# a comment\n",
  "\n",
];

export const lexer = new Lexer(allTokens, {
  positionTracking: "onlyOffset",
  ensureOptimizations: false,
  recoveryEnabled: true,
});
