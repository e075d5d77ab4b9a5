/**
 * `poi` for CLI tests: as a user runs it (a process, its stderr checked for lines poi did not
 * write), or through its dispatcher in the test's own process, for quick commands where a process
 * each would cost seconds. Nothing runs at import.
 */
import { expect } from "chai";
import { main } from "../../scripts/cli/poi.ts";
import { foreignStderrLines, startPoiAsUser, type Child } from "./processes.ts";

/** `npx poi <args>` in a process of its own; clean output is checked whatever the outcome. */
export async function poiAsUser(
  args: string[],
): Promise<{ code: number | null; out: string; err: string; child: Child }> {
  const child = startPoiAsUser(args);
  const { code } = await child.exited;
  expect(foreignStderrLines(child.stderr), `poi ${args.join(" ")}: stderr lines poi did not write`).to.deep.equal([]);
  return { code, out: child.stdout.join("\n"), err: child.stderr.join("\n"), child };
}

/** Runs `poi <args>` in this process; returns its exit code, stdout and stderr (poi's lines). */
export async function poiInProcess(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const { log, error } = console;
  const write = process.stderr.write.bind(process.stderr);
  console.log = (...a: unknown[]) => void out.push(a.join(" "));
  console.error = (...a: unknown[]) => void err.push(a.join(" "));
  process.stderr.write = ((chunk: string | Uint8Array) => {
    err.push(String(chunk));
    return true;
  }) as typeof process.stderr.write;
  try {
    const code = await main(args);
    return { code, out: out.join("\n"), err: err.join("\n") };
  } finally {
    console.log = log;
    console.error = error;
    process.stderr.write = write;
  }
}
