// The worker thread's side of the image pool: runs jobs as they arrive and posts each result (its
// buffer transferred) or the error, tagged with the job's id.

import { parentPort } from "node:worker_threads";
import { ImageDecodeError } from "./errors.ts";
import { type ImageJob, type JobSettings, runImageJob } from "./job.ts";

export interface WorkRequest {
  id: number;
  job: ImageJob;
  settings: JobSettings;
}

export type WorkReply =
  | { id: number; ok: true; pixels: Float32Array }
  | {
      id: number;
      ok: false;
      error: { decode: boolean; path: string; reason: string; detail: string; message: string };
    };

const port = parentPort;
if (port) {
  port.on("message", (request: WorkRequest) => {
    runImageJob(request.job, request.settings).then(
      (pixels) =>
        port.postMessage({ id: request.id, ok: true, pixels } satisfies WorkReply, [
          pixels.buffer as ArrayBuffer,
        ]),
      (error: unknown) => {
        const e = error instanceof Error ? error : new Error(String(error));
        const decode = e instanceof ImageDecodeError;
        port.postMessage({
          id: request.id,
          ok: false,
          error: {
            decode,
            path: decode ? e.path : "",
            reason: decode ? e.reason : "",
            detail: decode ? e.detail : "",
            message: e.message,
          },
        } satisfies WorkReply);
      },
    );
  });
}
