// The readable form of a kernel plan (what `vlmp compile --emit plan|wgsl` prints): one line per
// kernel with the graph ops it computes (fused ones joined by '+'), its workgroup size and dispatch,
// and each binding's value with its byte range in the arena; then the arena's peak bytes. Pure.

import type { AnyNode, Graph, ValueId } from "../../compiler/graph/graph.ts";
import { count } from "../kernels/kernel.ts";
import type { KernelPlan } from "./lower.ts";
import { lifetimes, type MemoryPlan, planMemory } from "./memory-plan.ts";

/** The arena alignment used when no device says otherwise (WebGPU's default minStorageBufferOffsetAlignment). */
export const DEFAULT_ALIGNMENT = 256;

export function memoryOf(plan: KernelPlan, alignment = DEFAULT_ALIGNMENT): MemoryPlan {
  return planMemory(lifetimes(plan), alignment);
}

/** The ops a step computes, fused ones joined by '+', composites named once (`softmax#3`). */
export function stepOps(covers: readonly ValueId[], byId: ReadonlyMap<ValueId, AnyNode>): string {
  const parts: string[] = [];
  const seen = new Set<number>();
  for (const id of covers) {
    const n = byId.get(id);
    if (!n) continue;
    if (n.composite) {
      if (seen.has(n.composite.id)) continue;
      seen.add(n.composite.id);
      parts.push(`${n.composite.kind}#${n.composite.id}`);
    } else parts.push(n.op);
  }
  return parts.join("+");
}

function mib(bytes: number): string {
  return bytes >= 2 ** 20 ? `${(bytes / 2 ** 20).toFixed(2)} MiB` : `${(bytes / 1024).toFixed(1)} KiB`;
}

export function formatPlan(graph: Graph, plan: KernelPlan, memory: MemoryPlan = memoryOf(plan)): string {
  const byId = new Map(graph.nodes.map((n) => [n.id, n]));
  const lines: string[] = [];
  const fusedOps = plan.steps.reduce((a, s) => a + s.covers.length, 0);
  lines.push(
    `# kernel plan: ${plan.steps.length} kernels computing ${fusedOps} graph ops; ` +
      `${plan.feeds.length} feeds, ${plan.constants.size} constants, ${plan.aliases.size} reshapes aliased`,
  );
  lines.push(
    `# arena: peak ${memory.size} bytes (${mib(memory.size)}), ${memory.unshared} bytes without reuse (${mib(memory.unshared)})`,
  );
  const where = (id: ValueId) => {
    const v = plan.values.get(id)!;
    const at = memory.offsets.get(id)!;
    return `%${id} ${v.dtype}[${v.shape.join(",")}] @${at}+${v.bytes}`;
  };
  lines.push("feeds:");
  for (const id of plan.feeds) {
    const n = byId.get(id)!;
    const name = "name" in n.attrs ? ` ${JSON.stringify(n.attrs.name)}` : "";
    if (plan.values.has(id)) lines.push(`  ${n.op}${name} ${where(id)}`);
  }
  if (plan.constants.size > 0) {
    lines.push("constants:");
    for (const id of plan.constants.keys()) lines.push(`  ${where(id)}`);
  }
  lines.push("kernels:");
  plan.steps.forEach((s, i) => {
    const [x, y, z] = s.kernel.dispatch;
    const [wx, wy, wz] = s.kernel.workgroupSize;
    const invocations = x * y * z * wx * wy * wz;
    lines.push(
      `  #${i} ${s.kernel.name} = ${stepOps(s.covers, byId)}  wg(${wx},${wy},${wz}) dispatch(${x},${y},${z}) ${invocations} invocations`,
    );
    s.args.forEach((a, k) => {
      const b = s.kernel.bindings[k]!;
      lines.push(`      ${b.access === "read" ? "in " : "out"} ${b.name}: ${where(a)}`);
    });
  });
  const outs = graph.outputs
    .filter((o) => plan.outputs.includes(o.value))
    .map((o) => `${o.name}=%${plan.aliases.get(o.value) ?? o.value}`);
  lines.push(`outputs: ${outs.join(", ")}`);
  const elems = [...plan.values.values()].reduce((a, v) => a + count(v.shape), 0);
  lines.push(`# ${plan.values.size} stored values (${elems} elements)`);
  return `${lines.join("\n")}\n`;
}

/** Every shader of the plan, each headed by its step and kernel name. Identical shaders print once. */
export function formatWgsl(graph: Graph, plan: KernelPlan): string {
  const byId = new Map(graph.nodes.map((n) => [n.id, n]));
  const seen = new Map<string, number>();
  const out: string[] = [`// ${plan.steps.length} kernels`];
  plan.steps.forEach((s, i) => {
    const first = seen.get(s.kernel.code);
    out.push(`// ---- #${i} ${s.kernel.name} = ${stepOps(s.covers, byId)}`);
    if (first !== undefined) {
      out.push(`// same shader as #${first}`);
      return;
    }
    seen.set(s.kernel.code, i);
    out.push(s.kernel.code);
  });
  return `${out.join("\n")}\n`;
}
