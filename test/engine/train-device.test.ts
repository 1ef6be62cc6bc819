// Parameter updates on the device (WebGPU, parameters and optimizer state resident): N trainer steps
// equal N steps of the host optimiser (runtime/engine/optimizer.ts) on the same graph within f32
// tolerance, with two parameter groups (own lr and weight decay), a per-step schedule, a second step
// graph of another batch size sharing the resident parameters, and the state round trip a checkpoint
// makes (read back in float64, uploaded again); and `vlmp run` resumed after epoch 1 of 2 on WebGPU
// ends with the metrics of an uninterrupted WebGPU run. Skipped with a printed reason without an adapter.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { compileFile } from "../../compiler/compile.ts";
import { gradients } from "../../compiler/graph/autodiff.ts";
import { GraphBuilder } from "../../compiler/graph/builder.ts";
import { crossEntropy } from "../../compiler/graph/composites.ts";
import type { ValueId } from "../../compiler/graph/graph.ts";
import { linear } from "../../compiler/graph/layers.ts";
import type { JsonValue } from "../../compiler/values.ts";
import { makeTinyClip } from "../../runtime/checkpoint/make-tiny.ts";
import { makeWorld } from "../../runtime/data/synthetic/make.ts";
import { NoAdapterError } from "../../runtime/device/device.ts";
import { type Backend, webgpuBackend } from "../../runtime/engine/backend.ts";
import { readCheckpoint } from "../../runtime/engine/checkpoint.ts";
import { deviceState, importDeviceState, trainerGroups } from "../../runtime/engine/device-updates.ts";
import { createOptimizer, type HostParam } from "../../runtime/engine/optimizer.ts";
import { createSchedule } from "../../runtime/engine/schedule.ts";
import { runTraining } from "../../runtime/engine/train.ts";
import { evaluate } from "../../runtime/reference/interpreter.ts";
import type { Tensor } from "../../runtime/reference/tensor.ts";
import { rng } from "../graph/helpers.ts";
import { interruptAtEpoch2 } from "../support/interrupt.ts";
import { writeUeoSpec } from "../support/workspace.ts";

async function backendOrSkip(): Promise<Backend | undefined> {
  if (process.env["VLMP_SKIP_GPU"]) {
    console.log("train-device.test.ts: skipped, VLMP_SKIP_GPU is set");
    return undefined;
  }
  try {
    return await webgpuBackend();
  } catch (e) {
    if (e instanceof NoAdapterError) {
      console.log(`train-device.test.ts: GPU tests skipped: ${e.message}`);
      return undefined;
    }
    throw e;
  }
}

const backend = await backendOrSkip();
const dir = mkdtempSync(join(tmpdir(), "vlmp-train-device-"));
afterAll(() => {
  backend?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Two layers (`a.*` and `b.*`, one parameter group each) with a cross-entropy loss over `n` rows. */
function stepGraph(n: number) {
  const b = new GraphBuilder();
  const x = b.input("x", [n, 5]);
  const y = b.input("y", [n], "i32");
  const w1 = b.param("a.w", [7, 5]);
  const b1 = b.param("a.b", [7]);
  const w2 = b.param("b.w", [3, 7]);
  const loss = crossEntropy(b, linear(b, b.tanh(linear(b, x, w1, b1)), w2), y);
  b.output("loss", loss);
  const { graph, grads } = gradients(b.build(), loss.id);
  const ids = new Map([w1, b1, w2].map((p) => [p.id, p.attrs.name] as const));
  return { graph, grads, loss: loss.id, x: x.id, y: y.id, ids };
}

const call = (name: string, args: Record<string, JsonValue>): JsonValue => ({
  $call: `optim.${name}`,
  definition: "extern",
  args,
});
const group = (target: string, lr: number, wd: number): JsonValue => ({
  $call: "optim.group",
  args: { target, lr, weight_decay: wd },
});

const CASES: [string, JsonValue][] = [
  [
    "SGD with momentum, dampening",
    call("sgd", {
      lr: 0.1,
      momentum: 0.9,
      dampening: 0.1,
      weight_decay: 1e-2,
      groups: [group("a", 0.1, 1e-2), group("b", 0.03, 0)],
    }),
  ],
  [
    "AdamW",
    call("adamw", { lr: 0.01, weight_decay: 0.05, groups: [group("a", 0.01, 0.05), group("b", 0.02, 0.1)] }),
  ],
  [
    "Adadelta with weight decay",
    call("adadelta", {
      lr: 0.15,
      weight_decay: 1e-3,
      groups: [group("a", 0.15, 1e-3), group("b", 0.5, 1e-2)],
    }),
  ],
];

describe.skipIf(!backend)("device updates against the host optimiser", () => {
  it.each(CASES)("%s: groups, schedule, two batch sizes, state round trip", async (_name, opt) => {
    const keys = ["a.w", "a.b", "b.w"];
    const byAdapter = (a: string) => keys.filter((k) => k.startsWith(`${a}.`));
    const host = createOptimizer(opt, keys, byAdapter);
    const onDevice = createOptimizer(opt, keys, byAdapter);
    expect(host.groups.map((g) => g.keys)).toEqual([["a.w", "a.b"], ["b.w"]]);
    const schedule = createSchedule(
      call("cosine", { every: { $symbol: "step" }, warmup: call("linear", { fraction: 0.25 }) }),
    );
    const r = rng(9);
    const init = new Map<string, Float64Array>(
      [
        ["a.w", 35],
        ["a.b", 7],
        ["b.w", 21],
      ].map(([k, n]) => [k as string, Float64Array.from({ length: n as number }, () => r() - 0.5)]),
    );
    const hostParams = new Map<string, HostParam>(
      keys.map((k) => [k, { key: k, data: Float64Array.from(init.get(k)!) }]),
    );
    const deviceParams = new Map<string, HostParam>(
      keys.map((k) => [k, { key: k, data: Float64Array.from(init.get(k)!) }]),
    );
    const graphs = [stepGraph(8), stepGraph(5)];
    const feeds = graphs.map((g, i) => {
      const n = i === 0 ? 8 : 5;
      return new Map<ValueId, Tensor>([
        [g.x, { shape: [n, 5], data: Float64Array.from({ length: n * 5 }, () => 4 * r() - 2) }],
        [g.y, { shape: [n], data: Float64Array.from({ length: n }, (_, j) => (j + i) % 3) }],
      ]);
    });
    const STEPS = 8;
    // Steps 3 and 7 (0-based) take the short batch; after step 4 the state goes through the host (as a
    // checkpoint) into fresh trainers (as a resumed run).
    const which = (s: number) => (s % 4 === 3 ? 1 : 0);
    const make = async (share?: Awaited<ReturnType<NonNullable<Backend["createTrainer"]>>>) => {
      const g = graphs[share ? 1 : 0]!;
      return backend!.createTrainer!(g.graph, g.loss, g.grads, {
        ...trainerGroups(onDevice),
        ...(share ? { share } : {}),
      });
    };
    let trainers = [await make()];
    trainers.push(await make(trainers[0]));
    trainers[0]!.writeState({
      steps: 0,
      params: new Map(keys.map((k) => [k, deviceParams.get(k)!.data])),
      state: deviceState(onDevice, keys),
    });
    const deviceLosses: number[] = [];
    const hostLosses: number[] = [];
    for (let s = 0; s < STEPS; s++) {
      const lr = schedule({ step: s, epoch: 0, steps: STEPS, epochs: 1 });
      const i = which(s);
      deviceLosses.push(
        await trainers[i]!.step(
          feeds[i]!,
          onDevice.groups.map((g) => lr(g.lr)),
        ),
      );
      const g = graphs[i]!;
      const values = evaluate(
        g.graph,
        new Map([
          ...feeds[i]!,
          ...[...g.ids].map(
            ([id, k]) => [id, { shape: g.graph.nodes[id]!.shape, data: hostParams.get(k)!.data }] as const,
          ),
        ]),
      );
      hostLosses.push(values.get(g.loss)!.data[0]!);
      host.step(
        hostParams,
        new Map([...g.grads].map(([p, gr]) => [g.ids.get(p)!, values.get(gr)!.data])),
        lr,
      );
      if (s === 4) {
        importDeviceState(onDevice, deviceParams, await trainers[0]!.readState());
        expect(onDevice.steps).toBe(5);
        for (const t of trainers) t.release();
        trainers = [await make()];
        trainers.push(await make(trainers[0]));
        trainers[0]!.writeState({
          steps: onDevice.steps,
          params: new Map(keys.map((k) => [k, deviceParams.get(k)!.data])),
          state: deviceState(onDevice, keys),
        });
      }
    }
    importDeviceState(onDevice, deviceParams, await trainers[1]!.readState());
    for (const t of trainers) t.release();
    expect(onDevice.steps).toBe(STEPS);
    for (let s = 0; s < STEPS; s++)
      expect(Math.abs(deviceLosses[s]! - hostLosses[s]!)).toBeLessThan(2e-5 * (1 + s));
    for (const k of keys) {
      const a = deviceParams.get(k)!.data;
      const b = hostParams.get(k)!.data;
      for (let i = 0; i < a.length; i++)
        expect(Math.abs(a[i]! - b[i]!), `${k}[${i}]`).toBeLessThan(1e-4 + 1e-4 * Math.abs(b[i]!));
    }
    const hs = host.exportState();
    const ds = onDevice.exportState();
    expect([...ds.keys()].sort()).toEqual([...hs.keys()].sort());
    for (const [k, v] of hs) {
      const d = ds.get(k)!;
      for (let i = 0; i < v.length; i++)
        expect(Math.abs(d[i]! - v[i]!), `${k}[${i}]`).toBeLessThan(1e-4 + 1e-3 * Math.abs(v[i]!));
    }
  });
});

const model = join(dir, "tiny");
const world = join(dir, "ueo");

const spec = (name: string, train: string) => writeUeoSpec({ dir, model, world }, name, train);

describe.skipIf(!backend)("training on WebGPU", () => {
  beforeAll(async () => {
    makeTinyClip(model, 0);
    await makeWorld("ueo", { out: world, count: 40, size: 32, seed: 0 });
  }, 60_000);

  it("resumes after epoch 1 of 2 to the metrics of an uninterrupted run", async () => {
    const file = spec(
      "resume",
      `    optimizer = sgd(lr: 0.05, momentum: 0.9, groups: [group(prompt, lr: 0.05, weight_decay: 0.01), group(affine, lr: 0.01)])
    schedule = cosine(every: step)
    epochs = 2
    batch = 16
    augment = [random_resized_crop(size: 32, scale: [0.5, 1.0]), flip(p: 0.5)]
    eval_at_start = true`,
    );
    const result = compileFile(file, { mode: "run" });
    expect(result.diagnostics.filter((d) => d.severity === "error").map((d) => d.message)).toEqual([]);
    const ir = result.ir!;
    const options = {
      specText: "",
      irHash: result.hash!,
      runsRoot: join(dir, "runs"),
      backendInstance: backend!,
    };
    const whole = await runTraining(ir, options);
    expect(whole.updates).toBe("device");
    expect(whole.steps % 2).toBe(0);
    const perEpoch = whole.steps / 2;

    const cut = await interruptAtEpoch2(ir, options, join(dir, "runs", "resume"));
    const resumed = await runTraining(ir, { ...options, resume: cut });
    expect(resumed.updates).toBe("device");
    expect(resumed.before).toEqual(whole.before);
    expect(resumed.after).toEqual(whole.after);
    expect(resumed.losses).toEqual(whole.losses.slice(perEpoch));
    const a = readCheckpoint(join(whole.dir, "checkpoints", "epoch-0002.safetensors"));
    const b = readCheckpoint(join(cut, "checkpoints", "epoch-0002.safetensors"));
    expect(b.optimizerSteps).toBe(a.optimizerSteps);
    expect([...b.optimizer.keys()].sort()).toEqual([...a.optimizer.keys()].sort());
    for (const [k, v] of a.params) expect(b.params.get(k)).toEqual(v);
    for (const [k, v] of a.optimizer) expect(b.optimizer.get(k)).toEqual(v);
    // The trained parameters moved from the start (the evaluation read the device's values).
    const start = readCheckpoint(join(whole.dir, "checkpoints", "epoch-0000.safetensors"));
    const ctx = start.params.get("adapters.prompt.ctx")!;
    expect(a.params.get("adapters.prompt.ctx")).not.toEqual(ctx);
    // Three trainings on WebGPU: with a cold shader cache (a fresh machine) this took 102 s on 2 cores.
  }, 300_000);
});
