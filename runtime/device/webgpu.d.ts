// Types for npm `webgpu` (Dawn's Node bindings), whose published package ships no declarations.
/// <reference types="@webgpu/types" />

declare module "webgpu" {
  /** Dawn's GPU entry point; options are Dawn toggles such as "backend=null" or "enable-dawn-features=...". */
  export function create(options: string[]): GPU;
  /** The WebGPU classes and enums (GPUBufferUsage, GPUMapMode, ...), to put on globalThis. */
  export const globals: Record<string, unknown>;
}
