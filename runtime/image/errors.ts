// The error an image that cannot be read raises: it names the file (or "<buffer>") and why.

export type ImageErrorReason = "missing" | "corrupt" | "unsupported";

export class ImageDecodeError extends Error {
  override readonly name = "ImageDecodeError";
  constructor(
    readonly path: string,
    readonly reason: ImageErrorReason,
    readonly detail: string,
  ) {
    super(`${path}: ${reason === "missing" ? "no such image" : "cannot decode image"}: ${detail}`);
  }
}
