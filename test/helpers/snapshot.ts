/**
 * Constraint-count snapshots: circuits/constraint-counts.json holds the exact count of each
 * template instance and model, like a gas snapshot. A test fails when a count drifts; run
 * the tests with UPDATE_SNAPSHOTS=1 to rewrite the file, and review the diff.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { ROOT } from "../../scripts/circuit/compile.ts";

const FILE = path.join(ROOT, "circuits", "constraint-counts.json");

export function checkConstraintSnapshot(key: string, count: number): void {
  const snapshot: Record<string, number> = existsSync(FILE) ? JSON.parse(readFileSync(FILE, "utf8")) : {};
  if (process.env.UPDATE_SNAPSHOTS === "1") {
    snapshot[key] = count;
    const sorted = Object.fromEntries(Object.entries(snapshot).sort(([a], [b]) => a.localeCompare(b)));
    writeFileSync(FILE, JSON.stringify(sorted, null, 2) + "\n");
    return;
  }
  if (!(key in snapshot))
    throw new Error(`no constraint snapshot for ${key} (${count}); run with UPDATE_SNAPSHOTS=1 and commit the file`);
  if (snapshot[key] !== count) {
    throw new Error(
      `constraint count of ${key} changed: snapshot ${snapshot[key]}, now ${count}; if intended, run with UPDATE_SNAPSHOTS=1`,
    );
  }
}
