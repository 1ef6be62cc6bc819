// Dawn set-up: one GPU instance, adapter and device, held together for the device's whole life
// (garbage collection of the instance or adapter while the device lives crashes Dawn). The device
// asks for the adapter's useful features and its full limits.

/// <reference types="@webgpu/types" />
import { create, globals } from "webgpu";

export class DeviceError extends Error {
  override name = "DeviceError";
}

/** No adapter: the message says how to get one. */
export class NoAdapterError extends DeviceError {
  override name = "NoAdapterError";
}

const WANTED_FEATURES = ["shader-f16", "timestamp-query", "subgroups"] as const;

const LIMIT_NAMES = [
  "maxStorageBufferBindingSize",
  "maxBufferSize",
  "minStorageBufferOffsetAlignment",
  "maxStorageBuffersPerShaderStage",
  "maxComputeWorkgroupStorageSize",
  "maxComputeInvocationsPerWorkgroup",
  "maxComputeWorkgroupSizeX",
  "maxComputeWorkgroupSizeY",
  "maxComputeWorkgroupSizeZ",
  "maxComputeWorkgroupsPerDimension",
  "maxBindGroups",
  "maxBindingsPerBindGroup",
] as const;

export type LimitName = (typeof LIMIT_NAMES)[number];

export interface AdapterSummary {
  readonly vendor: string;
  readonly architecture: string;
  readonly device: string;
  readonly description: string;
  /** True for CPU implementations (Mesa lavapipe / llvmpipe, SwiftShader). */
  readonly isCpu: boolean;
}

export interface Device {
  readonly backend: "webgpu" | "null";
  readonly gpu: GPU;
  readonly adapter: GPUAdapter;
  readonly device: GPUDevice;
  readonly info: AdapterSummary;
  readonly features: readonly string[];
  readonly limits: Readonly<Record<LimitName, number>>;
  /** Stable identity of adapter and driver, for on-disk caches (autotuning). */
  readonly key: string;
  /** Set when Dawn reports the device lost (other than by destroy()). */
  readonly lostReason: string | undefined;
  /** Throws a DeviceError if the device was lost. */
  check(): void;
  /**
   * Resolves once all submitted work is done. Awaiting Dawn's completion promise spins a host core
   * while it waits, so first sleep for `expectedMs` (the caller's estimate), then await.
   */
  settle(expectedMs?: number): Promise<void>;
  destroy(): void;
}

let globalsInstalled = false;

function installGlobals(): void {
  if (globalsInstalled) return;
  for (const [k, v] of Object.entries(globals)) {
    if (!(k in globalThis)) (globalThis as Record<string, unknown>)[k] = v;
  }
  globalsInstalled = true;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function summarize(info: GPUAdapterInfo): AdapterSummary {
  const text = `${info.vendor} ${info.architecture} ${info.device} ${info.description}`.toLowerCase();
  return {
    vendor: info.vendor,
    architecture: info.architecture,
    device: info.device,
    description: info.description,
    isCpu: /llvmpipe|lavapipe|swiftshader|software/.test(text),
  };
}

export interface AcquireOptions {
  /** "null": Dawn's null backend, which validates and compiles shaders without running them. */
  readonly backend?: "webgpu" | "null";
  /**
   * Timestamp queries at full resolution: Dawn otherwise rounds them to ~65 µs (a browser's guard
   * against timing attacks), too coarse for per-kernel profiles.
   */
  readonly exactTimestamps?: boolean;
}

/** Creates the device, or throws NoAdapterError naming scripts/bootstrap. */
export async function acquireDevice(opts: AcquireOptions = {}): Promise<Device> {
  installGlobals();
  const backend = opts.backend ?? "webgpu";
  const flags = backend === "null" ? ["backend=null"] : [];
  if (opts.exactTimestamps) flags.push("disable-dawn-features=timestamp_quantization");
  const gpu = create(flags);
  const adapter = await gpu.requestAdapter({ powerPreference: "high-performance" });
  if (!adapter) {
    throw new NoAdapterError(
      "no WebGPU adapter found: Dawn needs a Vulkan driver (on a machine without a GPU, Mesa's lavapipe). " +
        "Run scripts/bootstrap to install it, then check with `node scripts/probe-adapter.mjs`.",
    );
  }
  const features = WANTED_FEATURES.filter((f) => adapter.features.has(f));
  const requiredLimits: Record<string, number> = {};
  for (const name of LIMIT_NAMES) requiredLimits[name] = adapter.limits[name];
  const device = await adapter.requestDevice({
    requiredFeatures: features as GPUFeatureName[],
    requiredLimits,
  });
  const info = summarize(adapter.info);
  const limits = Object.fromEntries(LIMIT_NAMES.map((n) => [n, device.limits[n]])) as Record<
    LimitName,
    number
  >;
  let lostReason: string | undefined;
  let destroyed = false;
  void device.lost.then((l) => {
    if (!destroyed) lostReason = `${l.reason}: ${l.message}`;
  });
  device.onuncapturederror = (e) => {
    // Surfaced on the next check(); validation errors inside error scopes never land here.
    lostReason ??= `uncaptured ${e.error.constructor.name}: ${e.error.message}`;
  };
  const self: Device = {
    backend,
    gpu,
    adapter,
    device,
    info,
    features,
    limits,
    key: [backend, info.vendor, info.architecture, info.device, info.description].join("|"),
    get lostReason() {
      return lostReason;
    },
    check() {
      if (lostReason !== undefined) throw new DeviceError(`WebGPU device lost (${lostReason})`);
    },
    async settle(expectedMs = 0) {
      if (expectedMs >= 1) await sleep(expectedMs);
      self.check();
      await Promise.race([
        device.queue.onSubmittedWorkDone(),
        device.lost.then((l) => {
          throw new DeviceError(`WebGPU device lost while waiting (${l.reason}: ${l.message})`);
        }),
      ]);
    },
    destroy() {
      destroyed = true;
      device.destroy();
    },
  };
  return self;
}
