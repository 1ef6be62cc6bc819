#!/usr/bin/env node
// Prints the WebGPU adapter Dawn finds, or exits 1 when none can be created (bootstrap then installs lavapipe).
import { create, globals } from "webgpu";

Object.assign(globalThis, globals);
const gpu = create([]);
const adapter = await gpu.requestAdapter();
if (!adapter) {
  console.log("no WebGPU adapter");
  process.exit(1);
}
const info = adapter.info;
console.log(
  `WebGPU adapter: ${info.vendor} ${info.architecture} ${info.description}`.replace(/\s+/g, " ").trim(),
);
const device = await adapter.requestDevice();
device.destroy();
// A process holding a Dawn device may not exit by itself.
process.exit(0);
