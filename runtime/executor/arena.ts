// The device buffers of a memory plan's arena, shared by the executor (inference) and the trainer: one
// buffer per page (memory-plan.ts `pageSizes`; a single page unless the plan is larger than one device
// buffer may be), and the byte range of a buffer that holds each planned value.

/// <reference types="@webgpu/types" />
import type { ValueId } from "../../compiler/graph/graph.ts";
import { type MemoryPlan, pageOf, pageSizes } from "./memory-plan.ts";

/** A byte range of a device buffer: what a binding, a copy or a write addresses. */
export interface BufferRange {
  readonly buffer: GPUBuffer;
  readonly offset: number;
  readonly size: number;
}

export interface Arena {
  readonly pages: readonly GPUBuffer[];
  /** The range holding planned value `id`, of `bytes` bytes. */
  place(id: ValueId, bytes: number): BufferRange;
  destroy(): void;
}

/** Creates the arena's buffers (the caller wraps this in an out-of-memory error scope). */
export function createArena(gpu: GPUDevice, memory: MemoryPlan, label: string): Arena {
  const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC;
  const pages = pageSizes(memory).map((size, k) =>
    gpu.createBuffer({ label: `${label} page ${k}`, size, usage }),
  );
  return {
    pages,
    place(id, bytes) {
      const offset = memory.offsets.get(id);
      if (offset === undefined) throw new Error(`value %${id} has no place in the arena`);
      const at = pageOf(memory, offset);
      return { buffer: pages[at.page]!, offset: at.offset, size: bytes };
    },
    destroy() {
      for (const page of pages) page.destroy();
    },
  };
}
