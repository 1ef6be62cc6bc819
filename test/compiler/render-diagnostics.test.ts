import { describe, expect, it } from "vitest";
import { CODES, diagnostic } from "../../compiler/diagnostics.ts";
import { diagnosticsToJson, renderDiagnostic, summaryLine } from "../../compiler/render-diagnostics.ts";

const text = 'pipeline p {\n  backbone = clip.vit_b61(weights: "m")\n}\n';
const span = {
  file: "p.vlmp",
  start: { offset: 29, line: 2, col: 19 },
  end: { offset: 36, line: 2, col: 26 },
};

describe("diagnostic rendering", () => {
  it("prints file:line:col, severity and code, the line, carets under the span, and the help", () => {
    const d = diagnostic("V2006", span, "module 'clip' has no definition 'vit_b61'", {
      label: "not defined",
      help: "did you mean 'vit_b16'?",
    });
    const out = renderDiagnostic(d, new Map([["p.vlmp", text]]), { color: false });
    expect(out.split("\n")).toEqual([
      "p.vlmp:2:19: error[V2006]: module 'clip' has no definition 'vit_b61'",
      '2 |   backbone = clip.vit_b61(weights: "m")',
      "  |                   ^^^^^^^ not defined",
      "  help: did you mean 'vit_b16'?",
    ]);
  });

  it("colours only when asked", () => {
    const d = diagnostic("V2006", span, "m");
    expect(renderDiagnostic(d, new Map(), { color: false })).not.toContain("\x1b[");
    expect(renderDiagnostic(d, new Map(), { color: true })).toContain("\x1b[");
  });

  it("gives machines the same facts as JSON", () => {
    const d = diagnostic("V5001", span, "'m' does not exist", { severity: "error" });
    expect(diagnosticsToJson([d])).toEqual([
      {
        code: "V5001",
        severity: "error",
        message: "'m' does not exist",
        file: "p.vlmp",
        line: 2,
        col: 19,
        endLine: 2,
        endCol: 26,
      },
    ]);
  });

  it("summarises counts", () => {
    const e = diagnostic("V2006", span, "m");
    const w = diagnostic("V7001", span, "m");
    expect(summaryLine([e, w, w])).toBe("1 error, 2 warnings");
  });
});

describe("the code table", () => {
  it("uses one range per kind of finding", () => {
    for (const code of Object.keys(CODES)) expect(code).toMatch(/^V[1-79]\d{3}$/);
  });
});
