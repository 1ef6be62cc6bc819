// Worker-thread entry: registers tsx's loader in this thread (a worker does not inherit the parent's
// module hooks), then loads the TypeScript worker.
import { register } from "tsx/esm/api";

register();
await import("./worker.ts");
