// The error a run stops with when the spec, its data or its weights cannot be run as written: one line for
// the user (`vlmp run` prints it and exits 1), never a stack trace.

export class RunError extends Error {
  override readonly name = "RunError";
}
