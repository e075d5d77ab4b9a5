/**
 * Branch coverage derived from Hardhat's statement coverage.
 *
 * Hardhat instruments each contract with EDR's `addStatementCoverageInstrumentation`, which puts a
 * hit marker (a tag) in front of every statement, and records, per transaction, the set of tags
 * that ran; `coverage/data/<run>/*.json` holds, per tag, the number of transactions (or Solidity
 * test runs) in which its statement ran at least once. That is not an execution count: a statement
 * run four times in a loop of one transaction counts once. Every rule below therefore only claims
 * a branch when the data proves it ran, and errs towards "untaken" otherwise.
 *
 * The tags are a hash of the source name and content, so instrumenting the same file again gives
 * the same tags; a tag in the data that no current source produces means the data is stale.
 */
import { createRequire } from "node:module";
import { addStatementCoverageInstrumentation, latestSupportedSolidityVersion } from "@nomicfoundation/edr";

const require = createRequire(import.meta.url);

/** One instrumented statement: its tag (hex, as Hardhat writes it) and its range in UTF-16 units. */
export interface InstrumentedStatement {
  tag: string;
  /** Start of the range EDR reports, which includes leading whitespace and comments. */
  start: number;
  end: number;
}

/** Tag -> number of transactions in which the statement ran (absent: never ran). */
export type HitCounts = ReadonlyMap<string, number>;

export interface Branch {
  line: number;
  /** "true" / "false" for an if; "try" / "catch", "catch Error", "catch Panic" for a try clause. */
  branch: string;
  taken: boolean;
  /** What the verdict rests on, for an auditor who wants to check it. */
  rule: string;
}

/** Branch-like constructs the statement data cannot decide; counted, never guessed. */
export interface NotMeasured {
  /** `&&` and `||` operators (whether the right operand ran is not a statement). */
  shortCircuit: number[];
  /** `?:` expressions. */
  conditional: number[];
  /** `require(...)` and `assert(...)` calls (their failing side has no statement of its own). */
  requireAssert: number[];
  /** if/try bodies and catch clauses without any instrumented statement, e.g. `catch {}`. */
  emptyClause: number[];
  /** inline assembly blocks, whose Yul `if` and `switch` EDR does not instrument. */
  assembly: number[];
}

export interface FileCoverage {
  /** Path relative to the project root, with forward slashes. */
  file: string;
  /** Lines on which a statement starts (compound statements by their first line; bare blocks not counted). */
  lines: { found: number; hit: number; missed: number[] };
  statements: { found: number; hit: number };
  branches: Branch[];
  notMeasured: NotMeasured;
}

/**
 * The version EDR instruments with, chosen as Hardhat chooses it: the compilation job's solc
 * version, or EDR's latest supported one when solc is newer.
 */
export function instrumentationVersion(solcVersion: string): string {
  const latest = latestSupportedSolidityVersion();
  return compareVersions(solcVersion, latest) <= 0 ? solcVersion : latest;
}

function compareVersions(a: string, b: string): number {
  const pa = a.split(".").map(Number);
  const pb = b.split(".").map(Number);
  for (let i = 0; i < 3; i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** Hardhat's input source name of a project file: `project/` + its path from the project root. */
export function hardhatSourceName(relativePath: string): string {
  return `project/${relativePath.split("\\").join("/")}`;
}

/** Instruments `content` exactly as `hardhat test --coverage` does and returns its statements. */
export function instrumentSource(content: string, sourceName: string, solcVersion: string): InstrumentedStatement[] {
  const { metadata } = addStatementCoverageInstrumentation(content, sourceName, instrumentationVersion(solcVersion));
  return metadata
    .filter((m) => m.kind === "statement")
    .map((m) => ({ tag: Buffer.from(m.tag).toString("hex"), start: m.startUtf16, end: m.endUtf16 }));
}

interface AstNode {
  nodeType: string;
  src: string;
  [key: string]: unknown;
}

interface SolcOutput {
  errors?: { severity: string; formattedMessage: string }[];
  sources?: Record<string, { ast: AstNode }>;
}

/** solc's AST of one source, parsed only (imports are not resolved, so the file stands alone). */
export function parseSource(content: string, sourceName: string): AstNode {
  const solc = require("solc") as { compile(input: string): string };
  const input = {
    language: "Solidity",
    sources: { [sourceName]: { content } },
    settings: { stopAfter: "parsing", outputSelection: { "*": { "": ["ast"] } } },
  };
  const output = JSON.parse(solc.compile(JSON.stringify(input))) as SolcOutput;
  const errors = (output.errors ?? []).filter((e) => e.severity === "error");
  if (errors.length > 0) throw new Error(`${sourceName} does not parse:\n${errors.map((e) => e.formattedMessage).join("\n")}`);
  const ast = output.sources?.[sourceName]?.ast;
  if (!ast) throw new Error(`solc returned no AST for ${sourceName}`);
  return ast;
}

const STATEMENT_TYPES = new Set([
  "Block",
  "UncheckedBlock",
  "IfStatement",
  "ForStatement",
  "WhileStatement",
  "DoWhileStatement",
  "TryStatement",
  "ExpressionStatement",
  "VariableDeclarationStatement",
  "Return",
  "Break",
  "Continue",
  "RevertStatement",
  "EmitStatement",
  "PlaceholderStatement",
  "InlineAssembly",
]);

const isNode = (v: unknown): v is AstNode =>
  typeof v === "object" && v !== null && typeof (v as AstNode).nodeType === "string";

function children(node: AstNode): AstNode[] {
  const out: AstNode[] = [];
  for (const value of Object.values(node)) {
    if (isNode(value)) out.push(value);
    else if (Array.isArray(value)) for (const v of value) if (isNode(v)) out.push(v);
  }
  return out;
}

/** Length of the whitespace and comments at the start of `text`. */
function leadingTrivia(text: string): number {
  let i = 0;
  for (;;) {
    const rest = text.slice(i);
    const m = /^(\s+|\/\/[^\n]*|\/\*[\s\S]*?\*\/)/.exec(rest);
    if (!m) return i;
    i += m[0].length;
  }
}

/** Where a statement's own code starts: EDR's range begins with the whitespace and comments before it. */
export function statementCodeStart(content: string, statement: InstrumentedStatement): number {
  return statement.start + leadingTrivia(content.slice(statement.start, statement.end));
}

/** Maps solc's byte offsets to the UTF-16 offsets EDR uses (they differ after any non-ASCII character). */
function byteToUtf16(content: string): Int32Array {
  const map = new Int32Array(Buffer.byteLength(content, "utf8") + 1);
  let byte = 0;
  let unit = 0;
  for (const ch of content) {
    const bytes = Buffer.byteLength(ch, "utf8");
    for (let k = 0; k < bytes; k++) map[byte + k] = unit;
    byte += bytes;
    unit += ch.length;
  }
  map[byte] = unit;
  return map;
}

/** True when control never leaves `node` by falling through to the next statement. */
function neverFallsThrough(node: AstNode): boolean {
  switch (node.nodeType) {
    case "Return":
    case "Break":
    case "Continue":
    case "RevertStatement":
      return true;
    case "ExpressionStatement": {
      const e = node.expression as AstNode;
      return e.nodeType === "FunctionCall" && isIdentifier(e.expression, "revert");
    }
    case "Block":
    case "UncheckedBlock":
      return (node.statements as AstNode[]).some(neverFallsThrough);
    case "IfStatement":
      return isNode(node.falseBody) && neverFallsThrough(node.trueBody as AstNode) && neverFallsThrough(node.falseBody);
    default:
      return false;
  }
}

function isIdentifier(v: unknown, ...names: string[]): boolean {
  return isNode(v) && v.nodeType === "Identifier" && names.includes(v.name as string);
}

/**
 * Branches and lines of one source from its statements' hit counts.
 *
 * @param file The path to report (relative to the project root).
 * @param statements The source's statements from {@link instrumentSource}.
 * @param hits Hit counts summed over every data file; tags of other files are ignored.
 */
export function analyseSource(
  file: string,
  content: string,
  sourceName: string,
  statements: InstrumentedStatement[],
  hits: HitCounts,
): FileCoverage {
  const ast = parseSource(content, sourceName);
  const toUtf16 = byteToUtf16(content);
  const lineStarts = [0];
  for (let i = 0; i < content.length; i++) if (content[i] === "\n") lineStarts.push(i + 1);
  const lineOf = (offset: number): number => {
    let lo = 0;
    let hi = lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (lineStarts[mid] <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo + 1;
  };
  const range = (node: AstNode): [number, number] => {
    const [start, length] = node.src.split(":").map(Number);
    return [toUtf16[start], toUtf16[start + length]];
  };

  // EDR's range of a statement starts after the previous token; the statement's own code starts
  // after the whitespace and comments in front of it, which is where solc's range starts.
  const byCodeStart = new Map<number, InstrumentedStatement[]>();
  for (const s of statements) {
    const codeStart = statementCodeStart(content, s);
    byCodeStart.set(codeStart, [...(byCodeStart.get(codeStart) ?? []), s]);
  }
  const matched = new Set<InstrumentedStatement>();
  const tagOfNode = new Map<AstNode, string>();
  const nextSibling = new Map<AstNode, AstNode>();
  const notMeasured: NotMeasured = { shortCircuit: [], conditional: [], requireAssert: [], emptyClause: [], assembly: [] };
  const ifs: AstNode[] = [];
  const tries: AstNode[] = [];

  const visit = (node: AstNode): void => {
    const [start, end] = range(node);
    if (STATEMENT_TYPES.has(node.nodeType)) {
      const candidates = (byCodeStart.get(start) ?? []).filter((s) => s.end >= end);
      candidates.sort((a, b) => a.end - a.start - (b.end - b.start));
      if (candidates.length > 0) {
        tagOfNode.set(node, candidates[0].tag);
        matched.add(candidates[0]);
      }
    }
    if (node.nodeType === "Block" || node.nodeType === "UncheckedBlock") {
      const list = node.statements as AstNode[];
      for (let i = 0; i + 1 < list.length; i++) nextSibling.set(list[i], list[i + 1]);
    }
    const line = lineOf(start);
    if (node.nodeType === "IfStatement") ifs.push(node);
    else if (node.nodeType === "TryStatement") tries.push(node);
    else if (node.nodeType === "Conditional") notMeasured.conditional.push(line);
    else if (node.nodeType === "BinaryOperation" && (node.operator === "&&" || node.operator === "||"))
      notMeasured.shortCircuit.push(line);
    else if (node.nodeType === "FunctionCall" && isIdentifier(node.expression, "require", "assert"))
      notMeasured.requireAssert.push(line);
    else if (node.nodeType === "InlineAssembly") notMeasured.assembly.push(line);
    for (const child of children(node)) visit(child);
  };
  visit(ast);

  const unmatched = statements.filter((s) => !matched.has(s));
  if (unmatched.length > 0) {
    const where = unmatched.map((s) => `${file}:${lineOf(statementCodeStart(content, s))}`);
    throw new Error(
      `EDR instrumented statements that solc's AST has no statement for (${where.join(", ")}): ` +
        "the two parsers disagree, so no branch figure would be trustworthy",
    );
  }

  const count = (tag: string | undefined): number => (tag === undefined ? 0 : (hits.get(tag) ?? 0));
  // The tag that runs whenever control enters `node`: its own, or that of its first statement.
  const entryTag = (node: AstNode): string | undefined => {
    const own = tagOfNode.get(node);
    if (own !== undefined) return own;
    if (node.nodeType === "Block" || node.nodeType === "UncheckedBlock") {
      const first = (node.statements as AstNode[])[0];
      return first === undefined ? undefined : entryTag(first);
    }
    return undefined;
  };

  const branches: Branch[] = [];
  for (const node of ifs) {
    const line = lineOf(range(node)[0]);
    const trueBody = node.trueBody as AstNode;
    const trueTag = entryTag(trueBody);
    if (trueTag === undefined) {
      notMeasured.emptyClause.push(line);
      continue;
    }
    branches.push({ line, branch: "true", taken: count(trueTag) > 0, rule: "true body ran" });
    if (isNode(node.falseBody)) {
      const falseTag = entryTag(node.falseBody);
      if (falseTag === undefined) notMeasured.emptyClause.push(line);
      else branches.push({ line, branch: "false", taken: count(falseTag) > 0, rule: "else body ran" });
      continue;
    }
    const next = nextSibling.get(node);
    const nextTag = next === undefined ? undefined : tagOfNode.get(next);
    if (neverFallsThrough(trueBody) && nextTag !== undefined) {
      // The next statement can only be reached through the false side: exact.
      branches.push({ line, branch: "false", taken: count(nextTag) > 0, rule: "next statement ran" });
    } else {
      // Some transaction ran the if but not its body. (A condition that reverts would also do
      // that; none of the rules can see inside an expression.)
      const ifTag = tagOfNode.get(node);
      branches.push({
        line,
        branch: "false",
        taken: count(ifTag) > count(trueTag),
        rule: "if ran in more transactions than its body",
      });
    }
  }
  for (const node of tries) {
    const clauses = node.clauses as AstNode[];
    clauses.forEach((clause, i) => {
      const line = lineOf(range(i === 0 ? node : clause)[0]);
      const tag = entryTag(clause.block as AstNode);
      if (tag === undefined) {
        notMeasured.emptyClause.push(line);
        return;
      }
      const name = i === 0 ? "try" : clause.errorName ? `catch ${clause.errorName as string}` : "catch";
      branches.push({ line, branch: name, taken: count(tag) > 0, rule: "first statement of the clause ran" });
    });
  }
  branches.sort((a, b) => a.line - b.line);

  // Lines: a line holds a statement when a statement other than a bare block starts on it; it is
  // hit when every statement starting on it ran (as in Hardhat's table, a `if (c) revert E();`
  // whose revert never ran leaves its line uncovered).
  const lineHit = new Map<number, boolean>();
  for (const [node, tag] of tagOfNode) {
    if (node.nodeType === "Block" || node.nodeType === "UncheckedBlock") continue;
    const line = lineOf(range(node)[0]);
    lineHit.set(line, (lineHit.get(line) ?? true) && count(tag) > 0);
  }
  const missed = [...lineHit].filter(([, hit]) => !hit).map(([line]) => line);
  for (const list of Object.values(notMeasured) as number[][]) list.sort((a, b) => a - b);
  return {
    file,
    lines: { found: lineHit.size, hit: lineHit.size - missed.length, missed: missed.sort((a, b) => a - b) },
    statements: { found: statements.length, hit: statements.filter((s) => count(s.tag) > 0).length },
    branches,
    notMeasured,
  };
}

/**
 * Refuses data that was not produced from the given sources: every tag in it must be one that
 * instrumenting the current sources gives. Returns nothing; throws with a message a user can act on.
 */
export function checkDataMatchesSources(hits: HitCounts, knownTags: ReadonlySet<string>): void {
  if (hits.size === 0) throw new Error("the coverage data records no executed statement at all");
  const unknown = [...hits.keys()].filter((t) => !knownTags.has(t));
  if (unknown.length > 0) {
    throw new Error(
      `${unknown.length} of the ${hits.size} statement tags in the coverage data come from no current source ` +
        "(the contracts changed since the coverage run, or the data is from another checkout): " +
        "run `hardhat test --coverage` again",
    );
  }
}
