/** Small statistics for the benchmark: every timing in docs/benchmarks.md is a median. */

export function median(values: number[]): number {
  if (values.length === 0) throw new Error("median of no values");
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** How far a measured value misses a goal, in percent of the goal (0 when it is met). */
export function missPercent(measured: number, goal: number, kind: "at most" | "at least" | "below"): number {
  const met = kind === "at least" ? measured >= goal : kind === "at most" ? measured <= goal : measured < goal;
  if (met) return 0;
  return (Math.abs(measured - goal) / goal) * 100;
}
