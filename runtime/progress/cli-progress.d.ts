// The part of cli-progress (no bundled types; @types/cli-progress is not a dependency) that bars.ts uses.
declare module "cli-progress" {
  export interface Options {
    format?: string;
    stream?: NodeJS.WritableStream;
    hideCursor?: boolean;
    clearOnComplete?: boolean;
    stopOnComplete?: boolean;
    barsize?: number;
    etaBuffer?: number;
    fps?: number;
    noTTYOutput?: boolean;
    autopadding?: boolean;
    forceRedraw?: boolean;
  }
  export interface Preset {
    barCompleteChar: string;
    barIncompleteChar: string;
  }
  export class SingleBar {
    constructor(options: Options, preset?: Preset);
    start(total: number, start: number, payload?: Record<string, unknown>): void;
    update(current: number, payload?: Record<string, unknown>): void;
    increment(step?: number, payload?: Record<string, unknown>): void;
    setTotal(total: number): void;
    stop(): void;
  }
  export class MultiBar {
    constructor(options: Options, preset?: Preset);
    create(total: number, start: number, payload?: Record<string, unknown>, options?: Options): SingleBar;
    remove(bar: SingleBar): boolean;
    log(message: string): void;
    stop(): void;
  }
  export const Presets: { shades_classic: Preset; shades_grey: Preset; rect: Preset; legacy: Preset };
}
