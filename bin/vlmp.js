#!/usr/bin/env node
// Runs the TypeScript CLI directly (no build step): tsx registers the loader, then the CLI loads.
import { register } from "tsx/esm/api";

register();
await import("./cli.ts");
