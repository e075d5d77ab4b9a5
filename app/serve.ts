/**
 * `npm run app`: builds the requester's web app with vite and serves it on 127.0.0.1, with what
 * the page cannot read from the chain: the deployment file that `poi deploy` wrote, what the
 * model's manifest, quantized model and fidelity report say of it, and the held-out MNIST digits.
 * The page talks to the chain itself, over JSON-RPC (a `hardhat node` answers browsers' CORS).
 *
 *   npm run app -- [--deployment FILE] [--rpc-url URL] [--manifest FILE]... [--port N] [--host H]
 *
 * Exit codes as poi's (README): 0 stopped by a signal, 1 unexpected failure, 2 usage (unknown
 * option, missing or malformed file, port taken), 3 integrity (a file differs from its manifest).
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { parseArgs } from "node:util";
import { build, type Logger } from "vite";
import { ROOT } from "../scripts/circuit/compile.ts";
import { loadMnist, IMAGE_SIDE } from "../scripts/model/mnist.ts";
import type { QuantizedGraph } from "../scripts/model/quantize-graph.ts";
import { sha256File } from "../scripts/setup/hash.ts";
import { artifactPath, readManifest } from "../scripts/setup/manifest.ts";
import { BROWSER_PROVER_BUNDLE, buildBrowserProver } from "../scripts/prove/browser-build.ts";
import type { AppCircuit, AppConfig, AppDeployment, AppDigits, AppFidelity } from "./src/config.ts";
import viteConfig, { APP_BUILD_DIR } from "./vite.config.ts";

const HELP = `npm run app -- [options]

Builds the web app and serves it: the models of the market's registry, a request form (draw a
digit or pick a held-out one), each request as it is claimed and settled, and the market's figures.

  --deployment FILE  the deployment file poi deploy wrote (default poi-deployment.localhost.json)
  --rpc-url URL      the chain's JSON-RPC endpoint (default: $POI_RPC_URL, else the deployment
                     file's rpcUrl, else http://127.0.0.1:8545); the page's ?rpc=URL overrides it
  --manifest FILE    a circuit manifest whose models the page decodes and predicts (repeatable;
                     the deployment's own manifest is always read)
  --port N           port to listen on (default 5173; 0 picks a free one)
  --host HOST        address to listen on (default 127.0.0.1)
  --poll SECONDS     how often the page reads the chain (default 1)
  -h, --help         this help`;

const EXIT = { internal: 1, usage: 2, integrity: 3 } as const;
/** Where the page finds the browser prover (npm run build:browser-prover's bundle). */
const PROVER_BUNDLE = "poi-prover.js";

class AppError extends Error {
  constructor(
    message: string,
    readonly code: number,
  ) {
    super(message);
  }
}

const usage = (m: string) => new AppError(m, EXIT.usage);

function readJson<T>(file: string, what: string): T {
  if (!existsSync(file)) throw usage(`${what} ${file} does not exist`);
  try {
    return JSON.parse(readFileSync(file, "utf8")) as T;
  } catch (err) {
    throw usage(`${what} ${file} is not valid JSON (${(err as Error).message})`);
  }
}

/** The deployment file's fields, checked. */
function readDeployment(file: string): { deployment: AppDeployment; manifest?: string; rpcUrl?: string } {
  if (!existsSync(file))
    throw usage(
      `deployment file ${file} does not exist: deploy with \`npx poi deploy --manifest FILE --network localhost\`, or pass --deployment FILE`,
    );
  const d = readJson<Record<string, unknown>>(file, "deployment file");
  // Any version of the format: the page reads only fields every version has.
  if (typeof d.format !== "string" || !d.format.startsWith("poi-deployment/"))
    throw usage(`${file} is not a poi deployment file (format ${String(d.format)})`);
  for (const key of ["network", "chainId", "token", "registry", "market"])
    if (typeof d[key] !== "string") throw usage(`deployment file ${file} has no ${key}`);
  const s = (key: string) => (typeof d[key] === "string" ? (d[key] as string) : undefined);
  return {
    deployment: {
      file: path.basename(file),
      network: s("network")!,
      chainId: s("chainId")!,
      token: s("token")!,
      registry: s("registry")!,
      market: s("market")!,
      modelId: s("modelId"),
      deployedAtBlock: typeof d.deployedAtBlock === "number" ? d.deployedAtBlock : 0,
    },
    manifest: s("manifest") && path.resolve(path.dirname(file), s("manifest")!),
    rpcUrl: s("rpcUrl"),
  };
}

/**
 * Artifacts the page may fetch to prove, by the index its configuration names them with. The
 * server sends them as they are: the page checks them against the manifest's sha256s.
 */
const artifactFiles: { wasm: string; zkey: string }[] = [];

/** What a manifest says of its circuit, with its quantized model (checked) and fidelity report. */
async function readCircuit(manifestFile: string): Promise<AppCircuit> {
  if (!existsSync(manifestFile)) throw usage(`manifest ${manifestFile} does not exist`);
  let manifest;
  try {
    manifest = readManifest(manifestFile);
  } catch (err) {
    throw usage((err as Error).message);
  }
  const circuit: AppCircuit = {
    circuit: manifest.circuit,
    constraints: manifest.constraints,
    vkHash: manifest.vkHash,
    modelCommitment: manifest.modelCommitment,
    insecurePtau: manifest.ptau.insecure,
  };
  // Only a baked single-inference circuit proves an attestation: [inputCommitment, output, binding].
  if (manifest.publicSignals.join(",") === "inputCommitment,output,binding" && !manifest.architecture) {
    const index = artifactFiles.length;
    artifactFiles.push({
      wasm: artifactPath(manifestFile, manifest, "wasm"),
      zkey: artifactPath(manifestFile, manifest, "zkey"),
    });
    circuit.prover = {
      wasm: `artifacts/${index}/${manifest.circuit}.wasm`,
      wasmSha256: manifest.artifacts.wasm.sha256,
      zkey: `artifacts/${index}/${manifest.circuit}.zkey`,
      zkeySha256: manifest.artifacts.zkey.sha256,
    };
  }
  if (!manifest.model) return circuit;
  const quantizedFile = path.resolve(path.dirname(manifestFile), manifest.model.path);
  if (!existsSync(quantizedFile))
    throw usage(`quantized model ${quantizedFile}, named by manifest ${manifestFile}, does not exist`);
  if ((await sha256File(quantizedFile)) !== manifest.model.sha256)
    throw new AppError(
      `quantized model ${quantizedFile} differs from the sha256 that manifest ${manifestFile} pins; rebuild the circuit`,
      EXIT.integrity,
    );
  const quantized = readJson<QuantizedGraph>(quantizedFile, "quantized model");
  circuit.quantized = quantized;
  // `poi compile` writes the report next to the quantized model; the reference models keep theirs in models/.
  const report = [path.dirname(quantizedFile), path.join(ROOT, "models")]
    .map((dir) => path.join(dir, `${quantized.name}.fidelity.json`))
    .find((f) => existsSync(f));
  if (report) {
    const f = readJson<AppFidelity>(report, "fidelity report");
    circuit.fidelity = {
      inputs: f.inputs,
      top1Agreement: f.top1Agreement,
      floatAccuracy: f.floatAccuracy,
      quantizedAccuracy: f.quantizedAccuracy,
      meanLogitError: f.meanLogitError,
    };
  }
  return circuit;
}

interface Options {
  deploymentFile: string;
  rpcUrl?: string;
  manifests: string[];
  port: number;
  host: string;
  pollSeconds: number;
}

function parseOptions(argv: string[]): Options | "help" {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        deployment: { type: "string" },
        "rpc-url": { type: "string" },
        manifest: { type: "string", multiple: true },
        port: { type: "string" },
        host: { type: "string" },
        poll: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    }));
  } catch (err) {
    throw usage(`${(err as Error).message} (npm run app -- --help lists the options)`);
  }
  if (values.help) return "help";
  const port = Number(values.port ?? 5173);
  if (!Number.isInteger(port) || port < 0 || port > 65_535)
    throw usage(`--port ${values.port}: expected an integer port 0..65535`);
  const pollSeconds = Number(values.poll ?? 1);
  if (!(pollSeconds > 0)) throw usage(`--poll ${values.poll}: expected a positive number of seconds`);
  const rpcUrl = values["rpc-url"] ?? process.env.POI_RPC_URL;
  if (rpcUrl !== undefined && !/^https?:\/\//.test(rpcUrl))
    throw usage(`--rpc-url ${rpcUrl}: expected an http:// or https:// URL`);
  return {
    deploymentFile: values.deployment ?? "poi-deployment.localhost.json",
    rpcUrl,
    manifests: values.manifest ?? [],
    port,
    host: values.host ?? "127.0.0.1",
    pollSeconds,
  };
}

/** The page's configuration, read afresh on every request (a redeployment shows on reload). */
async function appConfig(o: Options): Promise<AppConfig> {
  const { deployment, manifest, rpcUrl } = readDeployment(o.deploymentFile);
  artifactFiles.length = 0;
  const files = [...new Set([...(manifest ? [manifest] : []), ...o.manifests.map((f) => path.resolve(f))])];
  return {
    rpcUrl: o.rpcUrl ?? rpcUrl ?? "http://127.0.0.1:8545",
    deployment,
    circuits: await Promise.all(files.map(readCircuit)),
    proverBundle: PROVER_BUNDLE,
    pollSeconds: o.pollSeconds,
  };
}

let digits: string | undefined;
/** The 1,000 held-out digits of scripts/model/mnist.ts, as the validator and the CLI see them. */
function heldOutDigits(): string {
  digits ??= JSON.stringify({
    side: IMAGE_SIDE,
    digits: loadMnist().test.map((d) => ({ label: d.label, pixels: Buffer.from(d.pixels).toString("base64") })),
  } satisfies AppDigits);
  return digits;
}

/** Builds the page with vite; vite's own messages are collected and reported as poi's. */
async function buildPage(): Promise<void> {
  const warnings: string[] = [];
  const quiet = () => {};
  const logger: Logger = {
    info: quiet,
    warn: (m) => warnings.push(m),
    warnOnce: (m) => warnings.push(m),
    error: (m) => warnings.push(m),
    clearScreen: quiet,
    hasErrorLogged: () => false,
    hasWarned: false,
  };
  try {
    await build({ ...viteConfig, configFile: false, customLogger: logger });
  } catch (err) {
    throw new AppError(`vite could not build the page: ${(err as Error).message}`, EXIT.internal);
  }
  for (const w of warnings) process.stderr.write(lines(`vite: ${w}`));
}

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json",
  ".svg": "image/svg+xml",
  ".png": "image/png",
};

function send(res: ServerResponse, status: number, type: string, body: string | Buffer): void {
  res.writeHead(status, { "content-type": type, "cache-control": "no-store" }).end(body);
}

function handler(o: Options) {
  return (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? "/", "http://app");
    if (req.method !== "GET" && req.method !== "HEAD") return send(res, 405, "text/plain", "GET only");
    if (url.pathname === "/app-config.json") {
      appConfig(o).then(
        (c) => send(res, 200, TYPES[".json"], JSON.stringify(c)),
        (err: Error) => send(res, 500, "text/plain", err.message),
      );
      return;
    }
    if (url.pathname === "/digits.json") return send(res, 200, TYPES[".json"], heldOutDigits());
    if (url.pathname === `/${PROVER_BUNDLE}`) return send(res, 200, TYPES[".js"], readFileSync(BROWSER_PROVER_BUNDLE));
    const artifact = /^\/artifacts\/(\d+)\/[^/]+\.(wasm|zkey)$/.exec(url.pathname);
    if (artifact) {
      const files = artifactFiles[Number(artifact[1])];
      if (!files) return send(res, 404, "text/plain", `${url.pathname} not found`);
      const kind = artifact[2] as "wasm" | "zkey";
      return send(
        res,
        200,
        kind === "wasm" ? "application/wasm" : "application/octet-stream",
        readFileSync(files[kind]),
      );
    }
    const file = path.resolve(APP_BUILD_DIR, "." + (url.pathname === "/" ? "/index.html" : url.pathname));
    if (!file.startsWith(APP_BUILD_DIR + path.sep) || !existsSync(file) || !statSync(file).isFile())
      return send(res, 404, "text/plain", `${url.pathname} not found`);
    send(res, 200, TYPES[path.extname(file)] ?? "application/octet-stream", readFileSync(file));
  };
}

const lines = (text: string) =>
  text
    .trimEnd()
    .split("\n")
    .map((l) => `poi app: ${l}\n`)
    .join("");

async function main(argv: string[]): Promise<number> {
  const o = parseOptions(argv);
  if (o === "help") {
    process.stdout.write(HELP + "\n");
    return 0;
  }
  // Refuse a bad deployment file or manifest before the build, naming it.
  const config = await appConfig(o);
  const types = path.join(ROOT, "types", "ethers-contracts", "index.ts");
  if (!existsSync(types))
    throw usage(`the contracts' TypeChain types (${path.relative(ROOT, types)}) are missing: run npx hardhat build`);
  process.stderr.write(lines("building the page with vite, and the browser prover"));
  await buildPage();
  try {
    await buildBrowserProver();
  } catch (err) {
    throw new AppError(`could not build the browser prover: ${(err as Error).message}`, EXIT.internal);
  }
  const server = createServer(handler(o));
  await new Promise<void>((resolve, reject) => {
    server.once("error", (err: NodeJS.ErrnoException) =>
      reject(
        err.code === "EADDRINUSE"
          ? usage(`port ${o.port} on ${o.host} is in use: pass --port N (0 picks a free one)`)
          : err,
      ),
    );
    server.listen(o.port, o.host, resolve);
  });
  const { port } = server.address() as AddressInfo;
  const d = config.deployment;
  process.stdout.write(
    `poi app: serving http://${o.host}:${port}/ for market ${d.market} (${d.network}, chain ${d.chainId}, ${d.file}) over ${config.rpcUrl}\n`,
  );
  await new Promise<void>((resolve) => {
    for (const signal of ["SIGINT", "SIGTERM"] as const)
      process.once(signal, () => {
        server.close(() => resolve());
        // An open page keeps its connection alive: close it too.
        server.closeAllConnections();
      });
  });
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    const known = err instanceof AppError;
    process.stderr.write(lines(known ? err.message : `unexpected failure: ${(err as Error).stack ?? String(err)}`));
    process.exit(known ? err.code : EXIT.internal);
  },
);
