// Runs the optimisation steps of one optimiser: on the device where the backend makes trainers and the
// optimiser has device kernels (one trainer per step graph, all sharing the first one's parameters and
// optimiser state, the frozen backbone uploaded once), else on the backend with the optimiser's update on
// the host. The host copies (the parameters in the weight cache, the optimiser's state) are brought up to
// date by `pull` before anything reads them. A device trainer's first step (where the driver compiles its
// pipelines) is timed apart from the steady steps.

import type { Graph, ValueId } from "../../compiler/graph/graph.ts";
import type { Trainer } from "../executor/trainer.ts";
import type { ProgressReporter } from "../progress/reporter.ts";
import type { Feed, Tensor } from "../reference/tensor.ts";
import type { Backend } from "./backend.ts";
import { deviceState, hostOnlyReason, importDeviceState, trainerGroups } from "./device-updates.ts";
import { RunError } from "./errors.ts";
import { type Backbone, evaluationFeeds } from "./model.ts";
import type { HostParam, LearningRate, Optimizer } from "./optimizer.ts";

/** A training step's graph (train.ts builds it): its loss, gradients by parameter key and per-batch inputs. */
export interface StepGraph {
  readonly graph: Graph;
  readonly batch: number;
  readonly loss: ValueId;
  /** Gradient value by trainable parameter key. */
  readonly grads: ReadonlyMap<string, ValueId>;
  readonly pixels: ValueId;
  readonly ids: ValueId;
  readonly slots: ValueId;
  readonly imageSize: number;
  /** Inputs fed per batch or step: constants (`constants.weights`), labels, counters, by name. */
  readonly inputs: ReadonlyMap<string, { id: ValueId; shape: readonly number[] }>;
}

export interface StepTiming {
  /** Seconds of the timed steps (each device trainer's first step left out). */
  seconds: number;
  steps: number;
  images: number;
  /** Seconds of each device trainer's first step. */
  warmUpSeconds: number;
}

export class StepRunner {
  updates: "device" | "host";
  readonly timing: StepTiming = { seconds: 0, steps: 0, images: 0, warmUpSeconds: 0 };
  private readonly trainers = new Map<StepGraph, Trainer>();
  private readonly warmed = new Set<Trainer>();
  private primary: Trainer | undefined;
  private deviceAhead = false;

  constructor(
    private readonly o: {
      readonly backend: Backend;
      readonly backbone: Backbone;
      readonly weightCache: Map<string, Tensor>;
      readonly optimizer: Optimizer;
      /** The trainable parameters, their data shared with the weight cache. */
      readonly hostParams: ReadonlyMap<string, HostParam>;
      readonly trainable: readonly string[];
      readonly reporter: ProgressReporter;
    },
  ) {
    const reason = hostOnlyReason(o.optimizer.settings);
    this.updates = o.backend.createTrainer && !reason ? "device" : "host";
    if (o.backend.createTrainer && reason) o.reporter.log(`parameter updates on the host: ${reason}`);
  }

  /** Brings the host parameters and optimiser state up to date with the device's. */
  async pull(): Promise<void> {
    if (!this.primary || !this.deviceAhead) return;
    importDeviceState(this.o.optimizer, this.o.hostParams, await this.primary.readState());
    this.deviceAhead = false;
  }

  private async trainerFor(g: StepGraph): Promise<Trainer | undefined> {
    if (this.updates === "host") return undefined;
    const existing = this.trainers.get(g);
    if (existing) return existing;
    const { backend, backbone, weightCache, optimizer, hostParams, trainable, reporter } = this.o;
    const missing = trainable.filter((k) => !g.grads.has(k));
    if (missing.length > 0) {
      reporter.log(`parameter updates on the host: '${missing[0]}' has no gradient in the step graph`);
      await this.pull();
      this.updates = "host";
      return undefined;
    }
    const ids = new Map<string, ValueId>();
    for (const n of g.graph.nodes) if (n.op === "param") ids.set(n.attrs.name, n.id);
    const grads = new Map<ValueId, ValueId>([...g.grads].map(([k, id]) => [ids.get(k)!, id]));
    // The untrained params (the frozen backbone) go to the device once, not with every step's feeds, at
    // f32 as evaluation holds them: training never writes them, so no f64 copy is kept.
    const frozen = evaluationFeeds(g.graph, backbone.checkpoint, weightCache);
    for (const p of grads.keys()) frozen.delete(p);
    const trainer = await backend.createTrainer!(g.graph, g.loss, grads, {
      ...trainerGroups(optimizer),
      ...(this.primary ? { share: this.primary } : {}),
      frozen,
    });
    this.trainers.set(g, trainer);
    if (!this.primary) {
      this.primary = trainer;
      trainer.writeState({
        steps: optimizer.steps,
        params: new Map(trainable.map((k) => [k, hostParams.get(k)!.data])),
        state: deviceState(optimizer, trainable),
      });
    }
    return trainer;
  }

  /**
   * One step of `g` on a batch of `images` with `feeds` (the parameters left out: a device trainer holds
   * them, else they are added here, as they stand after the step before); returns the loss (before the
   * update). `whileRunning` is host work done while a device trainer runs the step (before it, on the host).
   */
  async step(
    g: StepGraph,
    feeds: ReadonlyMap<ValueId, Feed>,
    lr: LearningRate,
    images: number,
    at: { step: number; epoch: number },
    whileRunning?: () => void,
  ): Promise<number> {
    const { backend, backbone, weightCache, optimizer, hostParams, trainable } = this.o;
    const finite = (loss: number) => {
      if (!Number.isFinite(loss))
        throw new RunError(`the loss is ${loss} at step ${at.step + 1} (epoch ${at.epoch + 1})`);
      return loss;
    };
    const trainer = await this.trainerFor(g);
    if (trainer) {
      const t0 = performance.now();
      const loss = await trainer.step(
        feeds,
        optimizer.groups.map((group) => lr(group.lr)),
        whileRunning,
      );
      this.deviceAhead = true;
      const seconds = (performance.now() - t0) / 1000;
      if (this.warmed.has(trainer)) this.time(seconds, images);
      else {
        this.warmed.add(trainer);
        this.timing.warmUpSeconds += seconds;
      }
      return finite(loss);
    }
    whileRunning?.();
    // The trained params are the weight cache's f64 (the optimiser writes them in place); the backbone's
    // the immutable f32 weights evaluation reads (the reference backend widens them as it runs).
    const f = new Map([...evaluationFeeds(g.graph, backbone.checkpoint, weightCache), ...feeds]);
    const outs = [g.loss, ...g.grads.values()];
    if (backend.kind === "webgpu") await backend.warmUp(g.graph, f, outs);
    const t0 = performance.now();
    const values = await backend.run(g.graph, f, outs);
    const loss = finite(values.get(g.loss)!.data[0]!);
    const grads = new Map<string, Float64Array>();
    for (const [k, id] of g.grads) grads.set(k, values.get(id)!.data);
    for (const k of trainable)
      if (!grads.has(k)) grads.set(k, new Float64Array(hostParams.get(k)!.data.length));
    optimizer.step(hostParams, grads, lr);
    this.time((performance.now() - t0) / 1000, images);
    return loss;
  }

  private time(seconds: number, images: number): void {
    this.timing.seconds += seconds;
    this.timing.steps++;
    this.timing.images += images;
  }

  /** Pulls the device's state into the host copies, then releases the trainers. */
  async finish(): Promise<void> {
    await this.pull();
    this.release();
  }

  release(): void {
    for (const t of this.trainers.values()) t.release();
    this.trainers.clear();
    this.primary = undefined;
  }
}
