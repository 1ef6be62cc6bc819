// Compute pipelines cached by WGSL source hash, created inside validation error scopes. A shader
// that fails reports the compiler's line:col messages and the numbered shader text.

/// <reference types="@webgpu/types" />
import { hashSource, type Kernel } from "../kernels/kernel.ts";
import type { Device } from "./device.ts";

export class ShaderError extends Error {
  override name = "ShaderError";
  constructor(
    readonly kernel: string,
    readonly messages: readonly string[],
    readonly code: string,
  ) {
    const numbered = code
      .split("\n")
      .map((l, i) => `${String(i + 1).padStart(4)} | ${l}`)
      .join("\n");
    super(
      `internal error: the WGSL of kernel ${kernel} does not compile:\n${messages.map((m) => `  ${m}`).join("\n")}\n${numbered}`,
    );
  }
}

export interface CompiledKernel {
  readonly pipeline: GPUComputePipeline;
  readonly layout: GPUBindGroupLayout;
}

export class PipelineCache {
  private readonly cache = new Map<string, Promise<CompiledKernel>>();

  constructor(private readonly dev: Device) {}

  get size(): number {
    return this.cache.size;
  }

  /** The pipeline for a kernel; concurrent requests for the same source share one compile. */
  get(kernel: Kernel): Promise<CompiledKernel> {
    const key = hashSource(kernel.code);
    let p = this.cache.get(key);
    if (!p) {
      p = this.compile(kernel);
      this.cache.set(key, p);
      p.catch(() => this.cache.delete(key));
    }
    return p;
  }

  private async compile(kernel: Kernel): Promise<CompiledKernel> {
    const device = this.dev.device;
    this.dev.check();
    // Push, create and pop without awaiting in between, so concurrent compiles keep their own scopes.
    device.pushErrorScope("validation");
    const module = device.createShaderModule({ code: kernel.code, label: kernel.name });
    const layout = device.createBindGroupLayout({
      label: kernel.name,
      entries: kernel.bindings.map((_, i) => ({
        binding: i,
        visibility: GPUShaderStage.COMPUTE,
        // All "storage": the executor binds ranges of one arena, which may not be read-only and writable at once.
        buffer: { type: "storage" },
      })),
    });
    const pipeline = device.createComputePipeline({
      label: kernel.name,
      layout: device.createPipelineLayout({ bindGroupLayouts: [layout] }),
      compute: { module, entryPoint: "main" },
    });
    const [error, info] = await Promise.all([device.popErrorScope(), module.getCompilationInfo()]);
    const errors = info.messages
      .filter((m) => m.type === "error")
      .map((m) => `${m.lineNum}:${m.linePos}: ${m.message}`);
    if (errors.length > 0 || error) {
      throw new ShaderError(kernel.name, errors.length > 0 ? errors : [error!.message], kernel.code);
    }
    return { pipeline, layout };
  }
}
