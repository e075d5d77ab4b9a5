/**
 * Line and branch coverage of a project's contracts from the data a `hardhat test --coverage` run
 * left in coverage/data: which sources count, reading the data, refusing stale data, totals and
 * the printed table.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import {
  analyseSource,
  checkDataMatchesSources,
  hardhatSourceName,
  instrumentSource,
  type FileCoverage,
  type HitCounts,
} from "./branch-analysis.ts";

/** Folders under the sources root whose contracts are not measured: generated verifiers, test doubles. */
export const EXCLUDED_DIRS = ["verifiers", "test"];

export interface ProjectSources {
  /** Every .sol file Hardhat instruments (project files that are not Solidity tests), relative to root. */
  instrumented: string[];
  /** The ones that are reported: `instrumented` minus the excluded folders. */
  measured: string[];
}

const toPosix = (p: string): string => p.split(path.sep).join("/");

/** Lists the contracts under `sourcesDir`, whatever folders appear there. */
export function listSources(root: string, sourcesDir: string): ProjectSources {
  if (!existsSync(sourcesDir)) throw new Error(`no sources folder ${toPosix(path.relative(root, sourcesDir))}`);
  const all = (readdirSync(sourcesDir, { recursive: true }) as string[])
    .filter((f) => f.endsWith(".sol") && !f.endsWith(".t.sol")) // *.t.sol are tests: Hardhat leaves them alone
    .filter((f) => statSync(path.join(sourcesDir, f)).isFile())
    .map((f) => toPosix(f))
    .sort();
  const measured = all.filter((f) => !EXCLUDED_DIRS.some((d) => f.startsWith(`${d}/`)));
  const rel = (f: string) => toPosix(path.relative(root, path.join(sourcesDir, f)));
  return { instrumented: all.map(rel), measured: measured.map(rel) };
}

/** Sums the hit counts of every data file of every run under `dataDir` (coverage/data/<run>/*.json). */
export function loadHitCounts(dataDir: string): Map<string, number> {
  const hint = "run `npm exec -- hardhat test --coverage test/contracts/*.t.sol test/contracts/*.test.ts` first";
  if (!existsSync(dataDir)) throw new Error(`no coverage data: ${dataDir} does not exist; ${hint}`);
  const files = (readdirSync(dataDir, { recursive: true }) as string[]).filter((f) => f.endsWith(".json")).sort();
  if (files.length === 0) throw new Error(`no coverage data: ${dataDir} holds no .json file; ${hint}`);
  const hits = new Map<string, number>();
  for (const f of files) {
    let entries: unknown;
    try {
      entries = JSON.parse(readFileSync(path.join(dataDir, f), "utf8"));
    } catch (e) {
      throw new Error(`coverage data file ${f} is not JSON (${(e as Error).message})`);
    }
    if (typeof entries !== "object" || entries === null || Array.isArray(entries))
      throw new Error(`coverage data file ${f} is not a {tag: count} object`);
    for (const [tag, n] of Object.entries(entries)) {
      if (!/^[0-9a-f]+$/.test(tag) || !Number.isInteger(n) || (n as number) < 0)
        throw new Error(`coverage data file ${f} has a malformed entry ${JSON.stringify(tag)}: ${JSON.stringify(n)}`);
      hits.set(tag, (hits.get(tag) ?? 0) + (n as number));
    }
  }
  return hits;
}

export interface Totals {
  lines: { found: number; hit: number };
  branches: { found: number; hit: number };
  notMeasured: Record<string, number>;
}

export interface ProjectCoverage {
  files: FileCoverage[];
  totals: Totals;
}

/**
 * Instruments every project contract as Hardhat does, checks the data against them, and measures
 * the non-excluded ones.
 */
export function measureProject(root: string, sources: ProjectSources, hits: HitCounts, solcVersion: string) {
  const known = new Set<string>();
  const files: FileCoverage[] = [];
  for (const file of sources.instrumented) {
    const content = readFileSync(path.join(root, file), "utf8");
    const sourceName = hardhatSourceName(file);
    const statements = instrumentSource(content, sourceName, solcVersion);
    for (const s of statements) known.add(s.tag);
    // Interfaces and the like have no statement: nothing to cover, no row.
    if (sources.measured.includes(file) && statements.length > 0) files.push(analyseSource(file, content, sourceName, statements, hits));
  }
  checkDataMatchesSources(hits, known);
  if (files.length > 0 && files.every((f) => f.statements.hit === 0))
    throw new Error("the coverage data records no statement of the measured contracts: it is from another run");
  return { files, totals: totalsOf(files) } satisfies ProjectCoverage;
}

export function totalsOf(files: FileCoverage[]): Totals {
  const totals: Totals = { lines: { found: 0, hit: 0 }, branches: { found: 0, hit: 0 }, notMeasured: {} };
  for (const f of files) {
    totals.lines.found += f.lines.found;
    totals.lines.hit += f.lines.hit;
    totals.branches.found += f.branches.length;
    totals.branches.hit += f.branches.filter((b) => b.taken).length;
    for (const [kind, lines] of Object.entries(f.notMeasured))
      totals.notMeasured[kind] = (totals.notMeasured[kind] ?? 0) + (lines as number[]).length;
  }
  return totals;
}

/** Percentage, 100 when there is nothing to cover. */
export const percent = (hit: number, found: number): number => (found === 0 ? 100 : (100 * hit) / found);

const NOT_MEASURED_LABELS: Record<string, string> = {
  shortCircuit: "&&/|| operators",
  conditional: "?: expressions",
  requireAssert: "require/assert calls",
  emptyClause: "empty bodies/clauses",
  assembly: "assembly blocks",
};

/** The report as printed: a table, the untaken branches, and what was not measured. */
export function formatReport({ files, totals }: ProjectCoverage): string {
  const fmt = (hit: number, found: number) => `${percent(hit, found).toFixed(2)}% (${hit}/${found})`;
  const notMeasuredOf = (f: FileCoverage) => Object.values(f.notMeasured).reduce((n, l) => n + l.length, 0);
  const rows = [
    ["file", "lines", "branches", "not measured"],
    ...files.map((f) => [
      f.file,
      fmt(f.lines.hit, f.lines.found),
      fmt(f.branches.filter((b) => b.taken).length, f.branches.length),
      String(notMeasuredOf(f)),
    ]),
    [
      "total",
      fmt(totals.lines.hit, totals.lines.found),
      fmt(totals.branches.hit, totals.branches.found),
      String(Object.values(totals.notMeasured).reduce((a, b) => a + b, 0)),
    ],
  ];
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  const line = (r: string[]) => `| ${r.map((cell, c) => cell.padEnd(widths[c])).join(" | ")} |`;
  const out = [line(rows[0]), `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`, ...rows.slice(1).map(line)];

  const untaken = files.flatMap((f) => f.branches.filter((b) => !b.taken).map((b) => `  ${f.file}:${b.line} (${b.branch})`));
  out.push("", untaken.length === 0 ? "Untaken branches: none" : `Untaken branches (${untaken.length}):`, ...untaken);

  const missed = files.flatMap((f) => f.lines.missed.map((l) => `${f.file}:${l}`));
  if (missed.length > 0) out.push("", `Lines with a statement that never ran (${missed.length}):`, ...missed.map((m) => `  ${m}`));

  const kinds = Object.entries(totals.notMeasured).filter(([, n]) => n > 0);
  if (kinds.length > 0) {
    out.push("", "Not measured (expressions and clauses the statement data cannot decide):");
    for (const [kind, n] of kinds) {
      const where = files.flatMap((f) => f.notMeasured[kind as keyof FileCoverage["notMeasured"]].map((l) => `${path.basename(f.file)}:${l}`));
      out.push(`  ${NOT_MEASURED_LABELS[kind] ?? kind}: ${n} (${where.join(", ")})`);
    }
  }
  return out.join("\n");
}
