/**
 * Child processes for fault tests: a `hardhat node` of the test's own, a TCP proxy in front of
 * it that can be stopped and started (an RPC outage without losing the chain), and `poi`
 * commands whose JSON-lines output the test can wait on. Everything here is started by a test
 * and stopped by it; nothing runs at import time.
 */
import { spawn, type ChildProcess } from "node:child_process";
import net from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

/** A TCP port that was free a moment ago (the kernel's pick). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

export interface Child {
  process: ChildProcess;
  /** Every stdout line that parsed as JSON, in order. */
  entries: Record<string, unknown>[];
  stdout: string[];
  stderr: string[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves with the first entry (present or future) matching `pred`; rejects on exit or after `timeoutMs`. */
  waitFor(
    pred: (e: Record<string, unknown>) => boolean,
    timeoutMs: number,
    what: string,
  ): Promise<Record<string, unknown>>;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/** Starts `node <args>` in the repository root and collects its output by lines. */
export function startChild(args: string[], env: NodeJS.ProcessEnv = {}): Child {
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const entries: Record<string, unknown>[] = [];
  const stdout: string[] = [];
  const stderr: string[] = [];
  const listeners = new Set<() => void>();
  let done = false;
  const lines = (sink: (l: string) => void) => {
    let buf = "";
    return (chunk: Buffer) => {
      buf += chunk.toString();
      let i: number;
      while ((i = buf.indexOf("\n")) >= 0) {
        sink(buf.slice(0, i));
        buf = buf.slice(i + 1);
      }
    };
  };
  child.stdout!.on(
    "data",
    lines((l) => {
      stdout.push(l);
      try {
        const e = JSON.parse(l) as unknown;
        if (e && typeof e === "object" && !Array.isArray(e)) entries.push(e as Record<string, unknown>);
      } catch {
        // not a log line
      }
      for (const f of [...listeners]) f();
    }),
  );
  child.stderr!.on(
    "data",
    lines((l) => stderr.push(l)),
  );
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => {
      done = true;
      for (const f of [...listeners]) f();
      resolve({ code, signal });
    }),
  );
  return {
    process: child,
    entries,
    stdout,
    stderr,
    exited,
    waitFor(pred, timeoutMs, what) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const hit = entries.find(pred);
          if (hit) return finish(() => resolve(hit));
          if (done)
            return finish(() =>
              reject(new Error(`process exited before ${what}; stderr:\n${stderr.slice(-20).join("\n")}`)),
            );
        };
        const timer = setTimeout(
          () =>
            finish(() => reject(new Error(`timed out waiting for ${what}; stderr:\n${stderr.slice(-20).join("\n")}`))),
          timeoutMs,
        );
        const finish = (f: () => void) => {
          clearTimeout(timer);
          listeners.delete(check);
          f();
        };
        listeners.add(check);
        check();
      });
    },
    async kill(signal = "SIGTERM") {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill(signal);
      await exited;
    },
  };
}

/**
 * `poi <args>` exactly as `npx poi` runs it (scripts/cli/bin.mjs, Node's warnings on), for tests
 * that check what a user sees on stderr (see `foreignStderrLines`).
 */
export function startPoiAsUser(args: string[]): Child {
  return startChild([path.join("scripts", "cli", "bin.mjs"), ...args]);
}

/**
 * Lines of stderr that poi did not write: poi starts each of its own with "poi: " or "poi "
 * (scripts/cli/support.ts, stderrLines); a Node warning, a deprecation, a compiler warning or a
 * library's log line is anything else.
 */
export function foreignStderrLines(stderr: string[]): string[] {
  return stderr.filter((line) => !/^poi[: ]/.test(line));
}

/** `poi <args>` run by this Node with tsx as a loader: one process, so signals reach it. */
export function startPoi(args: string[]): Child {
  return startChild(["--import", "tsx", "--no-warnings", path.join("scripts", "cli", "poi.ts"), ...args]);
}

export interface HardhatNode {
  url: string;
  port: number;
  child: Child;
  stop(): Promise<void>;
}

/**
 * `hardhat node --hostname 127.0.0.1 --port <free port>`, resolved once it accepts requests; with
 * `chainId`, a node of that chain id instead of the development chain's 31337.
 */
export async function startHardhatNode(timeoutMs = 120_000, chainId?: number): Promise<HardhatNode> {
  const port = await freePort();
  const child = startChild([
    path.join(ROOT, "node_modules", "hardhat", "dist", "src", "cli.js"),
    "node",
    "--hostname",
    "127.0.0.1",
    "--port",
    String(port),
    ...(chainId === undefined ? [] : ["--chain-id", String(chainId)]),
  ]);
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.process.exitCode !== null) throw new Error(`hardhat node exited: ${child.stderr.join("\n")}`);
    try {
      const res = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_chainId", params: [] }),
      });
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await child.kill("SIGKILL");
      throw new Error(`hardhat node did not start within ${timeoutMs} ms`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return { url, port, child, stop: () => child.kill("SIGTERM") };
}

/**
 * A TCP proxy on a port of its own that forwards to `target`. `stop()` refuses new connections
 * and cuts open ones, as a node going down would; `start()` listens on the same port again.
 */
export class TcpProxy {
  private server: net.Server | undefined;
  private readonly sockets = new Set<net.Socket>();
  constructor(
    readonly port: number,
    private readonly targetPort: number,
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  start(): Promise<void> {
    const server = net.createServer((client) => {
      const upstream = net.connect(this.targetPort, "127.0.0.1");
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on("close", () => this.sockets.delete(s));
        s.on("error", () => {
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream).pipe(client);
    });
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.port, "127.0.0.1", () => resolve());
    });
  }

  stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    return new Promise((resolve) => (server ? server.close(() => resolve()) : resolve()));
  }
}
