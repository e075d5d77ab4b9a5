/**
 * Line and branch coverage of the protocol's contracts, from the data of the last
 * `hardhat test --coverage` run (Hardhat 3.18 itself reports lines and statements only).
 *
 *   npm run coverage:branches [-- --min-lines <pct>] [-- --min-branches <pct>]
 *
 * Prints a per-file table, every untaken branch as `file:line (branch)`, and writes
 * coverage/branches.json. Exits 1 when a total is below its threshold or when the data is
 * missing or does not come from the current sources, 2 on a usage error. How branches are
 * derived, and what is not measured: docs/coverage.md.
 */
import { writeFileSync } from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import hre from "hardhat";
import { formatReport, listSources, loadHitCounts, measureProject, percent, type ProjectSources } from "./measure.ts";

/** The project's acceptance thresholds, in percent of the measured contracts' totals. */
export const MIN_LINES_PERCENT = 95;
export const MIN_BRANCHES_PERCENT = 90;

const USAGE = `usage: npm run coverage:branches [-- --min-lines <pct, default ${MIN_LINES_PERCENT}>] [-- --min-branches <pct, default ${MIN_BRANCHES_PERCENT}>]`;

class UsageError extends Error {}

function percentOption(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (value.trim() === "" || !Number.isFinite(n) || n < 0 || n > 100)
    throw new UsageError(`--${name} must be a percentage between 0 and 100, got ${JSON.stringify(value)}`);
  return n;
}

/** The one solc version the project compiles with (every profile and override must agree). */
function solcVersion(): string {
  const versions = new Set<string>();
  for (const profile of Object.values(hre.config.solidity.profiles)) {
    for (const c of profile.compilers) versions.add(c.version);
    for (const c of Object.values(profile.overrides)) versions.add(c.version);
  }
  if (versions.size !== 1)
    throw new Error(`expected one solc version in hardhat.config.ts, found ${[...versions].join(", ") || "none"}`);
  return [...versions][0];
}

function main(): number {
  let minLines: number;
  let minBranches: number;
  try {
    const { values } = parseArgs({
      options: { "min-lines": { type: "string" }, "min-branches": { type: "string" }, help: { type: "boolean" } },
      strict: true,
      allowPositionals: false,
    });
    if (values.help) {
      console.log(USAGE);
      return 0;
    }
    minLines = percentOption(values["min-lines"], "min-lines", MIN_LINES_PERCENT);
    minBranches = percentOption(values["min-branches"], "min-branches", MIN_BRANCHES_PERCENT);
  } catch (e) {
    console.error(`coverage:branches: ${(e as Error).message}\n${USAGE}`);
    return 2;
  }

  const root = hre.config.paths.root;
  const coverageDir = path.join(root, "coverage");
  const sources: ProjectSources = { instrumented: [], measured: [] };
  for (const dir of hre.config.paths.sources.solidity) {
    const s = listSources(root, dir);
    sources.instrumented.push(...s.instrumented);
    sources.measured.push(...s.measured);
  }
  const report = measureProject(root, sources, loadHitCounts(path.join(coverageDir, "data")), solcVersion());
  console.log(formatReport(report));

  const { lines, branches } = report.totals;
  const linePct = percent(lines.hit, lines.found);
  const branchPct = percent(branches.hit, branches.found);
  const jsonPath = path.join(coverageDir, "branches.json");
  writeFileSync(
    jsonPath,
    `${JSON.stringify({ thresholds: { lines: minLines, branches: minBranches }, ...report }, null, 2)}\n`,
  );
  console.log(`\nWrote ${path.relative(root, jsonPath)}`);

  const failures: string[] = [];
  if (linePct < minLines) failures.push(`line coverage ${linePct.toFixed(2)}% is below ${minLines}%`);
  if (branchPct < minBranches) failures.push(`branch coverage ${branchPct.toFixed(2)}% is below ${minBranches}%`);
  if (failures.length > 0) {
    console.error(`coverage:branches: ${failures.join("; ")} (see the untaken branches above)`);
    return 1;
  }
  console.log(`Coverage ok: lines ${linePct.toFixed(2)}% >= ${minLines}%, branches ${branchPct.toFixed(2)}% >= ${minBranches}%`);
  return 0;
}

try {
  process.exitCode = main();
} catch (e) {
  console.error(`coverage:branches: ${(e as Error).message}`);
  process.exitCode = 1;
}
