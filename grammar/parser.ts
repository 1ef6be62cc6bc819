// The Chevrotain parser of .vlmp: one rule per grammar production of docs/language.md, rules as class
// properties, one reused instance, error recovery on. It builds a CST (typed in grammar/cst.d.ts, generated
// by grammar/gen-cst.ts); grammar/to-ast.ts turns that into the AST.

import {
  CstParser,
  type IParserErrorMessageProvider,
  type IToken,
  type TokenType,
  tokenMatcher,
} from "chevrotain";
import {
  Adapt,
  Adapter,
  Arrow,
  As,
  At,
  allTokens,
  BinaryOp,
  Block,
  Colon,
  Comma,
  Contains,
  Dot,
  Ellipsis,
  Equals,
  Extends,
  Extern,
  False,
  Fn,
  For,
  Forward,
  From,
  Frozen,
  Greater,
  Identifier,
  In,
  KeyName,
  Label,
  LBrace,
  LBracket,
  Less,
  Let,
  Loss,
  LParen,
  Model,
  New,
  None,
  NumberLiteral,
  Param,
  Pipe,
  Pipeline,
  PrefixOp,
  Provides,
  RBrace,
  RBracket,
  Return,
  RParen,
  Site,
  StringLiteral,
  Sub,
  Trainable,
  True,
  Unfreeze,
  Use,
} from "./tokens.ts";

/** What the parser knew when it met an error; the message is written later, with the whole file at hand. */
export interface ErrorInfo {
  kind: "mismatch" | "no-alternative" | "early-exit" | "not-all-input";
  /** Token types that would have been accepted (the first token of each path). */
  expected: TokenType[];
  actual: IToken;
  previous: IToken;
  ruleName: string;
}

/**
 * Chevrotain builds error messages while parsing; ours records what it knew and returns a key
 * (`\u0000<index>`) that grammar/parse.ts resolves into a plain-English message afterwards.
 */
class RecordingMessages implements IParserErrorMessageProvider {
  infos: ErrorInfo[] = [];

  private record(info: ErrorInfo): string {
    this.infos.push(info);
    return `\u0000${this.infos.length - 1}`;
  }

  buildMismatchTokenMessage(o: { expected: TokenType; actual: IToken; previous: IToken; ruleName: string }) {
    return this.record({ kind: "mismatch", ...o, expected: [o.expected] });
  }

  buildNotAllInputParsedMessage(o: { firstRedundant: IToken; ruleName: string }) {
    return this.record({
      kind: "not-all-input",
      expected: [],
      actual: o.firstRedundant,
      previous: o.firstRedundant,
      ruleName: o.ruleName,
    });
  }

  buildNoViableAltMessage(o: {
    expectedPathsPerAlt: TokenType[][][];
    actual: IToken[];
    previous: IToken;
    ruleName: string;
  }) {
    const expected = o.expectedPathsPerAlt.flatMap((alt) => alt.map((path) => path[0]!).filter(Boolean));
    return this.record({
      kind: "no-alternative",
      expected,
      actual: o.actual[0]!,
      previous: o.previous,
      ruleName: o.ruleName,
    });
  }

  buildEarlyExitMessage(o: {
    expectedIterationPaths: TokenType[][];
    actual: IToken[];
    previous: IToken;
    ruleName: string;
  }) {
    const expected = o.expectedIterationPaths.map((path) => path[0]!).filter(Boolean);
    return this.record({
      kind: "early-exit",
      expected,
      actual: o.actual[0]!,
      previous: o.previous,
      ruleName: o.ruleName,
    });
  }
}

export class VlmpParser extends CstParser {
  readonly messages: RecordingMessages;
  /** The text being parsed, for the newline rule of calls and indexing. */
  text = "";

  constructor() {
    const messages = new RecordingMessages();
    super(allTokens, { recoveryEnabled: true, maxLookahead: 3, errorMessageProvider: messages });
    this.messages = messages;
    this.performSelfAnalysis();
  }

  /**
   * Alternatives and gated repetitions as built once: the DSL would otherwise allocate (and, under
   * esbuild's keepNames, name) a fresh array of closures on every call of a rule.
   */
  private readonly cache: unknown[] = [];
  private once<T>(key: number, make: () => T): T {
    let value = this.cache[key] as T | undefined;
    if (value === undefined) this.cache[key] = value = make();
    return value;
  }

  /** `(` or `[` continues an expression (call, index) only on the line where the expression ends. */
  private postfixContinues(): boolean {
    const next = this.LA(1);
    if (tokenMatcher(next, Dot)) return true;
    const prev = this.LA(0);
    // Tokens carry start offsets only (the lexer tracks nothing else), so the end comes from the image.
    const from = prev.startOffset + prev.image.length;
    const to = next.startOffset;
    if (!Number.isFinite(from) || !Number.isFinite(to)) return true;
    for (let i = from; i < to; i++) {
      const c = this.text.charCodeAt(i);
      if (c === 10 || c === 13) return false;
    }
    return true;
  }

  /** Inside `block` declarations, `contains x` starts a contains clause (else `contains` is a setting). */
  private atContains(): boolean {
    return tokenMatcher(this.LA(1), Contains) && tokenMatcher(this.LA(2), Identifier);
  }

  /** Inside `block` declarations, `provides x: T` starts a provides clause (else `provides` is a setting). */
  private atProvides(): boolean {
    return (
      tokenMatcher(this.LA(1), Provides) &&
      tokenMatcher(this.LA(2), KeyName) &&
      tokenMatcher(this.LA(3), Colon)
    );
  }

  // ---------------------------------------------------------------------------------------------------
  // Files and top-level items

  file = this.RULE("file", () => {
    this.MANY(() => this.SUBRULE(this.topItem));
  });

  topItem = this.RULE("topItem", () => {
    this.OR(
      this.once(0, () => [
        { ALT: () => this.SUBRULE(this.useDecl) },
        { ALT: () => this.SUBRULE(this.functionDecl) },
        { ALT: () => this.SUBRULE(this.modelDecl) },
        { ALT: () => this.SUBRULE(this.adapterDecl) },
        { ALT: () => this.SUBRULE(this.externDecl) },
        { ALT: () => this.SUBRULE(this.blockSchema) },
        { ALT: () => this.SUBRULE(this.pipelineDecl) },
      ]),
    );
  });

  useDecl = this.RULE("useDecl", () => {
    this.CONSUME(Use);
    this.OR(
      this.once(1, () => [
        { ALT: () => this.CONSUME(Identifier, { LABEL: "module" }) },
        { ALT: () => this.CONSUME(StringLiteral, { LABEL: "path" }) },
      ]),
    );
    this.OPTION(() => {
      this.CONSUME(Dot);
      this.OR2(
        this.once(2, () => [
          { ALT: () => this.CONSUME2(Identifier, { LABEL: "names" }) },
          {
            ALT: () => {
              this.CONSUME(LBrace);
              this.CONSUME3(Identifier, { LABEL: "names" });
              this.MANY(() => {
                this.CONSUME(Comma);
                this.CONSUME4(Identifier, { LABEL: "names" });
              });
              this.OPTION2(() => this.CONSUME2(Comma));
              this.CONSUME(RBrace);
            },
          },
        ]),
      );
    });
    this.OPTION3(() => {
      this.CONSUME(As);
      this.CONSUME5(Identifier, { LABEL: "alias" });
    });
  });

  functionDecl = this.RULE("functionDecl", () => {
    this.OR(this.once(3, () => [{ ALT: () => this.CONSUME(Fn) }, { ALT: () => this.CONSUME(Loss) }]));
    this.CONSUME(Identifier, { LABEL: "name" });
    this.SUBRULE(this.paramList);
    this.OPTION(() => {
      this.CONSUME(Arrow);
      this.SUBRULE(this.type, { LABEL: "returns" });
    });
    this.SUBRULE(this.body);
  });

  modelDecl = this.RULE("modelDecl", () => {
    this.CONSUME(Model);
    this.CONSUME(Identifier, { LABEL: "name" });
    this.SUBRULE(this.paramList);
    this.CONSUME(LBrace);
    this.MANY(() => this.SUBRULE(this.modelItem));
    this.CONSUME(RBrace);
  });

  modelItem = this.RULE("modelItem", () => {
    this.OR(
      this.once(4, () => [
        { ALT: () => this.SUBRULE(this.paramDecl) },
        { ALT: () => this.SUBRULE(this.subDecl) },
        { ALT: () => this.SUBRULE(this.siteDecl) },
        { ALT: () => this.SUBRULE(this.hookDecl) },
        { ALT: () => this.SUBRULE(this.letStmt) },
      ]),
    );
  });

  adapterDecl = this.RULE("adapterDecl", () => {
    this.CONSUME(Adapter);
    this.CONSUME(Identifier, { LABEL: "name" });
    this.SUBRULE(this.paramList);
    this.CONSUME(LBrace);
    this.MANY(() => this.SUBRULE(this.adapterItem));
    this.CONSUME(RBrace);
  });

  adapterItem = this.RULE("adapterItem", () => {
    this.OR(
      this.once(5, () => [
        { ALT: () => this.SUBRULE(this.paramDecl) },
        { ALT: () => this.SUBRULE(this.hookDecl) },
        { ALT: () => this.SUBRULE(this.unfreezeDecl) },
        { ALT: () => this.SUBRULE(this.letStmt) },
      ]),
    );
  });

  paramDecl = this.RULE("paramDecl", () => {
    this.CONSUME(Param);
    this.CONSUME(Identifier, { LABEL: "name" });
    this.CONSUME(Colon);
    this.SUBRULE(this.tensorType);
    this.OPTION(() => {
      this.CONSUME(Equals);
      this.SUBRULE(this.expr, { LABEL: "init" });
    });
    this.OPTION2(() => {
      this.CONSUME(From);
      this.CONSUME(StringLiteral, { LABEL: "checkpoint" });
    });
    this.OPTION3(() => {
      this.OR(
        this.once(6, () => [
          { ALT: () => this.CONSUME(Trainable, { LABEL: "mode" }) },
          { ALT: () => this.CONSUME(Frozen, { LABEL: "mode" }) },
        ]),
      );
    });
  });

  subDecl = this.RULE("subDecl", () => {
    this.CONSUME(Sub);
    this.CONSUME(Identifier, { LABEL: "name" });
    this.OPTION(() => {
      this.CONSUME(LBracket);
      this.CONSUME2(Identifier, { LABEL: "variable" });
      this.CONSUME(In);
      this.SUBRULE(this.expr, { LABEL: "range" });
      this.CONSUME(RBracket);
    });
    this.CONSUME(Equals);
    this.SUBRULE2(this.expr, { LABEL: "value" });
    this.OPTION2(() => {
      this.CONSUME(From);
      this.CONSUME(StringLiteral, { LABEL: "prefix" });
    });
  });

  siteDecl = this.RULE("siteDecl", () => {
    this.CONSUME(Site);
    this.CONSUME(Identifier, { LABEL: "name" });
    this.OPTION(() => {
      this.CONSUME(Equals);
      this.SUBRULE(this.expr, { LABEL: "value" });
    });
  });

  hookDecl = this.RULE("hookDecl", () => {
    this.OR(
      this.once(7, () => [
        { ALT: () => this.CONSUME(Forward) },
        {
          ALT: () => {
            this.CONSUME(At);
            this.SUBRULE(this.sitePath);
          },
        },
      ]),
    );
    this.SUBRULE(this.paramList);
    this.OPTION(() => {
      this.CONSUME(Arrow);
      this.SUBRULE(this.type, { LABEL: "returns" });
    });
    this.SUBRULE(this.body);
  });

  /** The site an `at` hook rewrites: `text.features`, `visual.blocks[3].ln_1` (no calls: `(` opens the parameters). */
  sitePath = this.RULE("sitePath", () => {
    this.CONSUME(Identifier, { LABEL: "root" });
    this.MANY(() => {
      this.OR(
        this.once(8, () => [
          { ALT: () => this.SUBRULE(this.memberSuffix, { LABEL: "steps" }) },
          { ALT: () => this.SUBRULE(this.indexSuffix, { LABEL: "steps" }) },
        ]),
      );
    });
  });

  unfreezeDecl = this.RULE("unfreezeDecl", () => {
    this.CONSUME(Unfreeze);
    this.SUBRULE(this.expr, { LABEL: "target" });
  });

  externDecl = this.RULE("externDecl", () => {
    this.CONSUME(Extern);
    this.CONSUME(KeyName, { LABEL: "category" });
    this.CONSUME(Identifier, { LABEL: "name" });
    this.SUBRULE(this.paramList);
    this.OPTION(() => {
      this.CONSUME(Arrow);
      this.SUBRULE(this.type, { LABEL: "returns" });
    });
  });

  blockSchema = this.RULE("blockSchema", () => {
    this.CONSUME(Block);
    this.CONSUME(KeyName, { LABEL: "name" });
    this.OPTION(() => {
      this.CONSUME(LParen);
      this.CONSUME(Label);
      this.CONSUME(RParen);
    });
    this.CONSUME(LBrace);
    this.MANY(() => this.SUBRULE(this.schemaItem));
    this.CONSUME(RBrace);
  });

  /** A setting, a rest setting `...: type`, `provides a: T, b: U` or `contains x, y`, in any order. */
  schemaItem = this.RULE("schemaItem", () => {
    this.OR(
      this.once(9, () => [
        { GATE: () => this.atContains(), ALT: () => this.SUBRULE(this.containsClause) },
        { GATE: () => this.atProvides(), ALT: () => this.SUBRULE(this.providesClause) },
        { ALT: () => this.SUBRULE(this.restSetting) },
        { ALT: () => this.SUBRULE(this.param) },
      ]),
    );
  });

  containsClause = this.RULE("containsClause", () => {
    this.CONSUME(Contains);
    this.CONSUME(Identifier, { LABEL: "names" });
    this.MANY(() => {
      this.CONSUME(Comma);
      this.CONSUME2(Identifier, { LABEL: "names" });
    });
  });

  providesClause = this.RULE("providesClause", () => {
    this.CONSUME(Provides);
    this.SUBRULE(this.param);
    this.MANY(() => {
      this.CONSUME(Comma);
      this.SUBRULE2(this.param);
    });
  });

  restSetting = this.RULE("restSetting", () => {
    this.CONSUME(Ellipsis);
    this.CONSUME(Colon);
    this.SUBRULE(this.type);
  });

  pipelineDecl = this.RULE("pipelineDecl", () => {
    this.CONSUME(Pipeline);
    this.CONSUME(Identifier, { LABEL: "name" });
    this.OPTION(() => {
      this.CONSUME(Extends);
      this.CONSUME2(Identifier, { LABEL: "base" });
    });
    this.CONSUME(LBrace);
    this.MANY(() => this.SUBRULE(this.pipelineItem));
    this.CONSUME(RBrace);
  });

  pipelineItem = this.RULE("pipelineItem", () => {
    this.OR(
      this.once(10, () => [
        { ALT: () => this.SUBRULE(this.attribute) },
        { ALT: () => this.SUBRULE(this.adaptStmt) },
        { ALT: () => this.SUBRULE(this.pipelineBlock) },
      ]),
    );
  });

  attribute = this.RULE("attribute", () => {
    this.CONSUME(KeyName, { LABEL: "name" });
    this.CONSUME(Equals);
    this.SUBRULE(this.expr, { LABEL: "value" });
  });

  adaptStmt = this.RULE("adaptStmt", () => {
    this.CONSUME(Adapt);
    this.SUBRULE(this.expr, { LABEL: "adapter" });
  });

  pipelineBlock = this.RULE("pipelineBlock", () => {
    this.CONSUME(Identifier, { LABEL: "name" });
    this.OPTION(() => this.CONSUME2(Identifier, { LABEL: "label" }));
    this.CONSUME(LBrace);
    this.MANY(() => this.SUBRULE(this.pipelineItem));
    this.CONSUME(RBrace);
  });

  // ---------------------------------------------------------------------------------------------------
  // Parameters, types, statements

  paramList = this.RULE("paramList", () => {
    this.CONSUME(LParen);
    this.OPTION(() => {
      this.SUBRULE(this.param);
      this.MANY(() => {
        this.CONSUME(Comma);
        this.SUBRULE2(this.param);
      });
      this.OPTION2(() => this.CONSUME2(Comma));
    });
    this.CONSUME(RParen);
  });

  param = this.RULE("param", () => {
    this.CONSUME(KeyName, { LABEL: "name" });
    this.OPTION(() => {
      this.CONSUME(Colon);
      this.SUBRULE(this.type);
    });
    this.OPTION2(() => {
      this.CONSUME(Equals);
      this.SUBRULE(this.expr, { LABEL: "default" });
    });
    this.OPTION3(() => {
      this.CONSUME(In);
      this.CONSUME(LBracket);
      this.SUBRULE2(this.expr, { LABEL: "low" });
      this.CONSUME(Comma);
      this.SUBRULE3(this.expr, { LABEL: "high" });
      this.CONSUME(RBracket);
    });
  });

  type = this.RULE("type", () => {
    this.OR(
      this.once(11, () => [
        { ALT: () => this.SUBRULE(this.tensorType) },
        { ALT: () => this.SUBRULE(this.unionType) },
      ]),
    );
  });

  tensorType = this.RULE("tensorType", () => {
    this.OPTION(() => this.CONSUME(KeyName, { LABEL: "dtype" }));
    this.CONSUME(LBracket);
    this.SUBRULE(this.expr, { LABEL: "dims" });
    this.MANY(() => {
      this.CONSUME(Comma);
      this.SUBRULE2(this.expr, { LABEL: "dims" });
    });
    this.CONSUME(RBracket);
  });

  unionType = this.RULE("unionType", () => {
    this.SUBRULE(this.namedType, { LABEL: "options" });
    this.MANY(() => {
      this.CONSUME(Pipe);
      this.SUBRULE2(this.namedType, { LABEL: "options" });
    });
  });

  namedType = this.RULE("namedType", () => {
    this.CONSUME(KeyName, { LABEL: "name" });
    this.OPTION(() => {
      this.CONSUME(Less);
      this.SUBRULE(this.type, { LABEL: "args" });
      this.MANY(() => {
        this.CONSUME(Comma);
        this.SUBRULE2(this.type, { LABEL: "args" });
      });
      this.CONSUME(Greater);
    });
  });

  body = this.RULE("body", () => {
    this.CONSUME(LBrace);
    this.MANY(() => this.SUBRULE(this.stmt));
    this.CONSUME(RBrace);
  });

  stmt = this.RULE("stmt", () => {
    this.OR(
      this.once(12, () => [
        { ALT: () => this.SUBRULE(this.letStmt) },
        { ALT: () => this.SUBRULE(this.returnStmt) },
        { ALT: () => this.SUBRULE(this.forStmt) },
        { ALT: () => this.SUBRULE(this.assignStmt) },
        { ALT: () => this.SUBRULE(this.exprStmt) },
      ]),
    );
  });

  letStmt = this.RULE("letStmt", () => {
    this.CONSUME(Let);
    this.CONSUME(Identifier, { LABEL: "name" });
    this.OPTION(() => {
      this.CONSUME(Colon);
      this.SUBRULE(this.type);
    });
    this.CONSUME(Equals);
    this.SUBRULE(this.expr, { LABEL: "value" });
  });

  returnStmt = this.RULE("returnStmt", () => {
    this.CONSUME(Return);
    this.SUBRULE(this.expr, { LABEL: "value" });
  });

  forStmt = this.RULE("forStmt", () => {
    this.CONSUME(For);
    this.CONSUME(Identifier, { LABEL: "variable" });
    this.CONSUME(In);
    this.SUBRULE(this.expr, { LABEL: "iterable" });
    this.SUBRULE(this.body);
  });

  assignStmt = this.RULE("assignStmt", () => {
    this.CONSUME(Identifier, { LABEL: "name" });
    this.CONSUME(Equals);
    this.SUBRULE(this.expr, { LABEL: "value" });
  });

  exprStmt = this.RULE("exprStmt", () => {
    this.SUBRULE(this.expr);
  });

  // ---------------------------------------------------------------------------------------------------
  // Expressions. The grammar reads a flat sequence `operand (op operand)*`, each operand with its prefix
  // operators; grammar/to-ast.ts applies the precedence of docs/language.md. (A rule per precedence level
  // would build a dozen CST nodes for every literal: three times slower.)

  expr = this.RULE("expr", () => {
    this.SUBRULE(this.operand, { LABEL: "operands" });
    this.MANY(() => {
      this.CONSUME(BinaryOp, { LABEL: "ops" });
      this.SUBRULE2(this.operand, { LABEL: "operands" });
    });
  });

  operand = this.RULE("operand", () => {
    this.MANY(() => this.CONSUME(PrefixOp, { LABEL: "prefixes" }));
    this.SUBRULE(this.postfixExpr);
  });

  postfixExpr = this.RULE("postfixExpr", () => {
    this.SUBRULE(this.primary);
    this.MANY(
      this.once(15, () => ({ GATE: () => this.postfixContinues(), DEF: () => this.SUBRULE(this.postfixOp) })),
    );
  });

  postfixOp = this.RULE("postfixOp", () => {
    this.OR(
      this.once(16, () => [
        { ALT: () => this.SUBRULE(this.callSuffix) },
        { ALT: () => this.SUBRULE(this.indexSuffix) },
        { ALT: () => this.SUBRULE(this.memberSuffix) },
      ]),
    );
  });

  callSuffix = this.RULE("callSuffix", () => {
    this.CONSUME(LParen);
    this.OPTION(() => {
      this.SUBRULE(this.argument);
      this.MANY(() => {
        this.CONSUME(Comma);
        this.SUBRULE2(this.argument);
      });
      this.OPTION2(() => this.CONSUME2(Comma));
    });
    this.CONSUME(RParen);
  });

  argument = this.RULE("argument", () => {
    this.OPTION(() => {
      this.CONSUME(KeyName, { LABEL: "name" });
      this.CONSUME(Colon);
    });
    this.SUBRULE(this.expr, { LABEL: "value" });
  });

  indexSuffix = this.RULE("indexSuffix", () => {
    this.CONSUME(LBracket);
    this.SUBRULE(this.indexItem);
    this.MANY(() => {
      this.CONSUME(Comma);
      this.SUBRULE2(this.indexItem);
    });
    this.CONSUME(RBracket);
  });

  indexItem = this.RULE("indexItem", () => {
    this.OR(
      this.once(17, () => [
        { ALT: () => this.CONSUME(New) },
        { ALT: () => this.CONSUME(Ellipsis) },
        {
          ALT: () => {
            this.CONSUME(Colon, { LABEL: "colons" });
            this.OPTION(() => this.SUBRULE(this.expr, { LABEL: "stop" }));
            this.OPTION2(() => {
              this.CONSUME2(Colon, { LABEL: "colons" });
              this.OPTION3(() => this.SUBRULE2(this.expr, { LABEL: "step" }));
            });
          },
        },
        {
          ALT: () => {
            this.SUBRULE3(this.expr, { LABEL: "start" });
            this.OPTION4(() => {
              this.CONSUME3(Colon, { LABEL: "colons" });
              this.OPTION5(() => this.SUBRULE4(this.expr, { LABEL: "stop" }));
              this.OPTION6(() => {
                this.CONSUME4(Colon, { LABEL: "colons" });
                this.OPTION7(() => this.SUBRULE5(this.expr, { LABEL: "step" }));
              });
            });
          },
        },
      ]),
    );
  });

  memberSuffix = this.RULE("memberSuffix", () => {
    this.CONSUME(Dot);
    this.CONSUME(KeyName, { LABEL: "property" });
  });

  primary = this.RULE("primary", () => {
    this.OR(
      this.once(18, () => [
        { ALT: () => this.CONSUME(NumberLiteral) },
        { ALT: () => this.CONSUME(StringLiteral) },
        { ALT: () => this.CONSUME(True) },
        { ALT: () => this.CONSUME(False) },
        { ALT: () => this.CONSUME(None) },
        { ALT: () => this.CONSUME(Identifier) },
        { ALT: () => this.SUBRULE(this.parenExpr) },
        { ALT: () => this.SUBRULE(this.listExpr) },
        { ALT: () => this.SUBRULE(this.recordExpr) },
      ]),
    );
  });

  parenExpr = this.RULE("parenExpr", () => {
    this.CONSUME(LParen);
    this.SUBRULE(this.expr);
    this.CONSUME(RParen);
  });

  listExpr = this.RULE("listExpr", () => {
    this.CONSUME(LBracket);
    this.OPTION(() => {
      this.SUBRULE(this.expr, { LABEL: "items" });
      this.MANY(() => {
        this.CONSUME(Comma);
        this.SUBRULE2(this.expr, { LABEL: "items" });
      });
      this.OPTION2(() => this.CONSUME2(Comma));
    });
    this.CONSUME(RBracket);
  });

  recordExpr = this.RULE("recordExpr", () => {
    this.CONSUME(LBrace);
    this.OPTION(() => {
      this.SUBRULE(this.recordField, { LABEL: "fields" });
      this.MANY(() => {
        this.CONSUME(Comma);
        this.SUBRULE2(this.recordField, { LABEL: "fields" });
      });
      this.OPTION2(() => this.CONSUME2(Comma));
    });
    this.CONSUME(RBrace);
  });

  recordField = this.RULE("recordField", () => {
    this.CONSUME(KeyName, { LABEL: "key" });
    this.CONSUME(Colon);
    this.SUBRULE(this.expr, { LABEL: "value" });
  });
}

/** Rule names that read as a kind of bracketed construct, for "to close the call opened at 3:14". */
export const OPENER_NAMES: Record<string, string> = {
  callSuffix: "call",
  paramList: "parameter list",
  listExpr: "list",
  recordExpr: "record",
  indexSuffix: "index",
  parenExpr: "parenthesis",
  tensorType: "shape",
  body: "body",
  pipelineDecl: "pipeline",
  pipelineBlock: "block",
  modelDecl: "model",
  adapterDecl: "adapter",
  blockSchema: "block declaration",
  useDecl: "import list",
  namedType: "type arguments",
  subDecl: "repeat",
  param: "range",
};

/** What a rule's alternatives amount to, for "expected an expression, found ')'". */
export const RULE_DESCRIPTIONS: Record<string, string> = {
  topItem: "a top-level item ('use', 'fn', 'loss', 'model', 'adapter', 'extern', 'block' or 'pipeline')",
  file: "a top-level item ('use', 'fn', 'loss', 'model', 'adapter', 'extern', 'block' or 'pipeline')",
  modelItem: "a model item ('param', 'sub', 'site', 'forward', 'at' or 'let')",
  adapterItem: "an adapter item ('param', 'at', 'unfreeze' or 'let')",
  pipelineItem: "a setting (name = value), a block or 'adapt'",
  stmt: "a statement",
  exprStmt: "an expression",
  type: "a type",
  indexItem: "an index",
  primary: "an expression",
  operand: "an expression",
  expr: "an expression",
  hookDecl: "'forward' or 'at'",
  functionDecl: "'fn' or 'loss'",
};

/** The one parser instance: Chevrotain parsers are costly to build and meant to be reused. */
export const parser = new VlmpParser();

export const KEY_NAME = KeyName;
