/**
 * Progress of long steps (scripts/cli/support.ts, progress): on a terminal a cli-progress bar with
 * the time elapsed and an estimate of the time left (from the fraction the step reports, or from
 * its duration last time on this machine); otherwise one start line and one end line, both poi's
 * own (the clean-output checker passes them); nothing with --json.
 */
import { expect } from "chai";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { Writable } from "node:stream";
import { progress, type ParsedArgs } from "../../scripts/cli/support.ts";
import { foreignStderrLines } from "../helpers/processes.ts";

/** A stream that records what is written to it, a terminal or not. */
function recorder(isTTY: boolean): { stream: NodeJS.WriteStream; text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      chunks.push(String(chunk));
      done();
    },
  }) as unknown as NodeJS.WriteStream;
  Object.assign(stream, { isTTY, columns: 160 });
  return { stream, text: () => chunks.join("") };
}

const args = (...flags: string[]): ParsedArgs => ({ positional: [], flags: new Map(flags.map((f) => [f, "true"])) });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("progress of long steps", function () {
  let cache: string;
  let savedCache: string | undefined;

  before(function () {
    savedCache = process.env.XDG_CACHE_HOME;
    cache = mkdtempSync(path.join(os.tmpdir(), "poi-progress-"));
    process.env.XDG_CACHE_HOME = cache; // the durations the estimates come from go here, not to the user's cache
  });

  after(function () {
    if (savedCache === undefined) delete process.env.XDG_CACHE_HOME;
    else process.env.XDG_CACHE_HOME = savedCache;
    rmSync(cache, { recursive: true, force: true });
  });

  it("writes a start and an end line (and its stages) when stderr is not a terminal", async function () {
    const { stream, text } = recorder(false);
    const v = await progress(
      args(),
      "phase 2: new zkey",
      async (_report, _logger, stage) => {
        stage("reading the r1cs");
        return 42;
      },
      stream,
    );
    expect(v).to.equal(42);
    const lines = text().trimEnd().split("\n");
    expect(lines).to.have.length(3);
    expect(lines[0]).to.equal("poi phase 2: new zkey ...");
    expect(lines[1]).to.equal("poi: reading the r1cs");
    expect(lines[2]).to.match(/^poi phase 2: new zkey: done in \d+\.\d s$/);
    expect(foreignStderrLines(lines)).to.deep.equal([]);
  });

  it("draws a bar with an estimate on a terminal: from the step's fraction, then from the last run's duration", async function () {
    const first = recorder(true);
    await progress(
      args(),
      "compile model.onnx",
      async (report) => {
        report(0.5);
        await sleep(700);
      },
      first.stream,
    );
    const drawn = first.text();
    expect(drawn).to.match(/poi compile model\.onnx \[[=\- ]+\] 50% \| \d+ s elapsed, about \d+ s left/);
    expect(drawn).to.match(/poi compile model\.onnx: done in \d+\.\d s\n$/);

    // A step that reports no fraction: the estimate is the same step's duration last time.
    const second = recorder(true);
    await progress(args(), "compile model.onnx", () => sleep(400), second.stream);
    expect(second.text()).to.match(/about \d+ s left \(last run \d+ s\)/);

    const unknown = recorder(true);
    await progress(args(), "a step never run before", () => sleep(400), unknown.stream);
    expect(unknown.text()).to.match(/no estimate yet \(first run on this machine\)/);
  });

  it("is silent with --json, where stdout carries the result", async function () {
    for (const tty of [true, false]) {
      const { stream, text } = recorder(tty);
      await progress(args("json"), "witness + proof", () => sleep(10), stream);
      expect(text(), `tty ${tty}`).to.equal("");
    }
  });
});
