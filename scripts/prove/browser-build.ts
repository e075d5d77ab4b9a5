/**
 * Bundles the prover for the browser with esbuild: browser-entry.ts and everything it imports
 * (the same source as the Node prover, ffjavascript's and circom_runtime's browser builds) into
 * one ES module, build/browser-prover/poi-prover.js (git-ignored).
 *
 *   npm run build:browser-prover
 */
import path from "node:path";
import { pathToFileURL } from "node:url";
import { build } from "esbuild";
import { ROOT } from "../circuit/compile.ts";

export const BROWSER_PROVER_BUNDLE = path.join(ROOT, "build", "browser-prover", "poi-prover.js");

/** Writes the bundle and returns its path. */
export async function buildBrowserProver(): Promise<string> {
  const result = await build({
    entryPoints: [path.join(ROOT, "scripts", "prove", "browser-entry.ts")],
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    outfile: BROWSER_PROVER_BUNDLE,
    logLevel: "silent",
  });
  if (result.warnings.length)
    throw new Error(`browser prover bundle: ${result.warnings.map((w) => w.text).join("; ")}`);
  return BROWSER_PROVER_BUNDLE;
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  buildBrowserProver().then(
    (file) => console.log(`wrote ${path.relative(ROOT, file)}`),
    (err) => {
      console.error(`build:browser-prover failed: ${(err as Error).message}`);
      process.exit(1);
    },
  );
}
