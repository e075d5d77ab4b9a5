#!/usr/bin/env node
// `npx poi ...` (and `npx proof-of-inference ...` where the package is installed): in the
// repository, loads the TypeScript CLI through tsx in this same process (so that signals reach
// the validator daemon directly); in the packed package, which ships no sources, the JavaScript
// that `npm pack` compiled into dist/. Exits with the CLI's code.
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

let main;
if (existsSync(fileURLToPath(new URL("./poi.ts", import.meta.url)))) {
  const { register } = await import("tsx/esm/api");
  register();
  ({ main } = await import("./poi.ts"));
} else {
  ({ main } = await import("../../dist/scripts/cli/poi.js"));
}
const code = await main(process.argv.slice(2));
// snarkjs keeps worker threads alive after computing; release them so the process exits.
await globalThis.curve_bn128?.terminate();
process.exit(code);
