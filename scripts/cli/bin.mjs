#!/usr/bin/env node
// `npx poi ...`: loads the TypeScript CLI through tsx in this same process (so that signals
// reach the validator daemon directly) and exits with its code.
import { register } from "tsx/esm/api";

register();
const { main } = await import("./poi.ts");
const code = await main(process.argv.slice(2));
// snarkjs keeps worker threads alive after computing; release them so the process exits.
await globalThis.curve_bn128?.terminate();
process.exit(code);
