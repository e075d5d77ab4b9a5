/**
 * Runs the browser build of the prover in a real headless Chromium: serves the bundle and a
 * circuit's artifacts (checked against its manifest first) from 127.0.0.1, proves each input in
 * the page with web workers, and returns the proofs and the page's own timings. The tests check
 * the proofs with snarkjs in Node; the benchmark reports the timings next to Node's.
 *
 * Chromium comes from the npm package @sparticuz/chromium (a devDependency: `npm ci` installs it),
 * or from Debian's `chromium` package (`apt-get install chromium`) where that one is missing.
 */
import { existsSync, readFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import type { Groth16Proof } from "snarkjs";
import { artifactPath, readManifest, verifyArtifacts } from "../setup/manifest.ts";
import { buildBrowserProver } from "./browser-build.ts";

const DEBIAN_CHROMIUM = "/usr/bin/chromium";

/** A Chromium to drive, or why there is none. */
export async function findChromium(): Promise<{ executablePath: string; source: string } | { missing: string }> {
  try {
    const { default: chromium } = await import("@sparticuz/chromium");
    return { executablePath: await chromium.executablePath(), source: "@sparticuz/chromium" };
  } catch (err) {
    if (existsSync(DEBIAN_CHROMIUM)) return { executablePath: DEBIAN_CHROMIUM, source: "Debian chromium" };
    return {
      missing:
        `no Chromium: @sparticuz/chromium failed (${(err as Error).message}) and ${DEBIAN_CHROMIUM} does not exist; ` +
        "run `npm ci` (it installs @sparticuz/chromium) or `apt-get install chromium`",
    };
  }
}

export interface BrowserProof {
  proof: Groth16Proof;
  publicSignals: string[];
  calldata: string[];
  witnessMs: number;
  proveMs: number;
}

export interface BrowserRun {
  /** Where the Chromium came from. */
  chromium: string;
  /** navigator.hardwareConcurrency, and the web workers the prover's pool started. */
  hardwareConcurrency: number;
  workers: number;
  /** In the page: instantiating the witness code and parsing the zkey. */
  loadMs: number;
  proofs: BrowserProof[];
}

/** The page: imports the bundle, fetches the artifacts, proves every input in turn. */
const PAGE = `<!doctype html><meta charset="utf-8"><title>poi browser prover</title>
<script type="module">
import { CircuitProver, proverCurve, releaseProverPool } from "/poi-prover.js";
const bytes = async (url) => new Uint8Array(await (await fetch(url)).arrayBuffer());
window.proveAll = async (circuit, inputs) => {
  const [wasm, zkey] = await Promise.all([bytes("/circuit.wasm"), bytes("/circuit.zkey")]);
  const t = performance.now();
  const prover = await CircuitProver.fromBytes(circuit, wasm, zkey, circuit + ".zkey");
  const loadMs = performance.now() - t;
  const proofs = [];
  for (const input of inputs) {
    const r = await prover.prove(input);
    proofs.push({ proof: r.proof, publicSignals: r.publicSignals.map(String), calldata: r.calldata.map(String),
      witnessMs: r.witnessMs, proveMs: r.proveMs });
  }
  const workers = (await proverCurve(false)).tm.concurrency;
  await releaseProverPool();
  return { hardwareConcurrency: navigator.hardwareConcurrency, workers, loadMs, proofs };
};
window.proverReady = true;
</script>`;

/**
 * Proves `inputs` (circuit inputs; bigints are sent as decimal strings) in a fresh headless
 * Chromium with the circuit of `manifestFile`.
 * @throws if there is no Chromium (findChromium's message), an artifact differs from the
 * manifest, or the page fails (its error is passed on)
 */
export async function proveInBrowser(manifestFile: string, inputs: Record<string, unknown>[]): Promise<BrowserRun> {
  const found = await findChromium();
  if ("missing" in found) throw new Error(found.missing);
  const manifest = readManifest(manifestFile);
  await verifyArtifacts(manifestFile, manifest, ["wasm", "zkey"]);
  const files: Record<string, { type: string; body: Buffer }> = {
    "/": { type: "text/html", body: Buffer.from(PAGE) },
    "/poi-prover.js": { type: "text/javascript", body: readFileSync(await buildBrowserProver()) },
    "/circuit.wasm": { type: "application/wasm", body: readFileSync(artifactPath(manifestFile, manifest, "wasm")) },
    "/circuit.zkey": {
      type: "application/octet-stream",
      body: readFileSync(artifactPath(manifestFile, manifest, "zkey")),
    },
  };
  const server = createServer((req, res) => {
    const f = files[req.url ?? ""];
    res.writeHead(f ? 200 : 404, { "content-type": f?.type ?? "text/plain" }).end(f?.body ?? "not found");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { chromium } = await import("playwright-core");
  // Root in a container cannot use Chromium's sandbox; the page loads only this server's files.
  const browser = await chromium.launch({ executablePath: found.executablePath, args: ["--no-sandbox"] });
  try {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    await page.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
    await page.waitForFunction(() => (globalThis as { proverReady?: boolean }).proverReady === true, undefined, {
      timeout: 30_000,
    });
    const sent = JSON.parse(JSON.stringify(inputs, (_k, v) => (typeof v === "bigint" ? v.toString() : v)));
    const run = await page
      .evaluate(
        ([circuit, ins]) =>
          (
            globalThis as unknown as {
              proveAll(c: string, i: unknown[]): Promise<Omit<BrowserRun, "chromium">>;
            }
          ).proveAll(circuit, ins),
        [manifest.circuit, sent] as const,
      )
      .catch((err: Error) => {
        throw new Error(`the browser prover failed: ${err.message}${errors.length ? ` (${errors.join("; ")})` : ""}`);
      });
    return { chromium: found.source, ...run };
  } finally {
    await browser.close();
    await new Promise((resolve) => server.close(resolve));
  }
}
