/**
 * Branch coverage derived from statement hits (scripts/coverage): a fixture contract instrumented
 * with EDR's real instrumentation, synthetic hit counts for chosen execution paths, and the
 * branch verdicts, lines and refusals that follow from them.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import {
  analyseSource,
  checkDataMatchesSources,
  hardhatSourceName,
  instrumentSource,
  statementCodeStart,
  type FileCoverage,
} from "../../scripts/coverage/branch-analysis.ts";
import { listSources, loadHitCounts, measureProject } from "../../scripts/coverage/measure.ts";
import { ROOT } from "../helpers/processes.ts";

const SOLC = "0.8.37";
const FILE = "contracts/fixture/Fixture.sol";
const NAME = hardhatSourceName(FILE);

// Comments after a brace or a statement make each statement findable by a unique snippet. The
// non-ASCII comment shifts solc's byte offsets away from EDR's UTF-16 ones.
const SOURCE = `// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

interface IPriced {
    function price() external returns (uint256);
}

/// @notice Fixture — “branches” from statements.
contract Fixture {
    error Zero();

    uint256 public x;

    function ifElse(uint256 a) external {
        if (a > 1) { // T1
            x = 1;
        } else { // F1
            x = 2;
        }
    }

    function guard(uint256 a) external {
        if (a == 0) revert Zero(); // G
        x = a; // after G
    }

    function blockGuard(uint256 a) external {
        if (a == 3) { // BG
            x = 9;
            revert Zero();
        }
        x = a + 1; // after BG
    }

    function noElse(uint256 a) external {
        if (a > 5) x = a; // N
    }

    function lastGuard(uint256 a) external {
        x = a; // before L
        if (a == 7) revert Zero(); // L
    }

    function nested(uint256 a, uint256 b) external {
        if (a > 0) { // outer
            if (b > 0) { // inner
                x = 3;
            }
        } else if (b > 0) { // elseif
            x = 4;
        }
    }

    function empty(uint256 a) external {
        if (a > 0) {} else { // E
            x = 5;
        }
    }

    function tryCatch(IPriced p) external {
        try p.price() returns (uint256 v) {
            x = v; // success
        } catch Error(string memory) {
            x = 6; // caught
        } catch {}
    }

    function expressions(uint256 a) external view returns (uint256) {
        require(a != 1, "one");
        return a > 2 && x > 0 ? 1 : 2;
    }
}
`;

const STATEMENTS = instrumentSource(SOURCE, NAME, SOLC);

function indexOf(snippet: string): number {
  const i = SOURCE.indexOf(snippet);
  assert.ok(i >= 0 && SOURCE.indexOf(snippet, i + 1) < 0, `snippet ${JSON.stringify(snippet)} is not unique`);
  return i;
}

const lineOf = (snippet: string): number => SOURCE.slice(0, indexOf(snippet)).split("\n").length;

/** The tag of the (innermost) statement whose code starts at `snippet`. */
function tagAt(snippet: string): string {
  const at = indexOf(snippet);
  const found = STATEMENTS.filter((s) => statementCodeStart(SOURCE, s) === at).sort(
    (a, b) => a.end - a.start - (b.end - b.start),
  );
  assert.ok(found.length > 0, `no instrumented statement starts at ${JSON.stringify(snippet)}`);
  return found[0].tag;
}

/** Hit counts of a run: snippet of a statement -> number of transactions in which it ran. */
function hits(path_: Record<string, number>): Map<string, number> {
  return new Map(Object.entries(path_).map(([snippet, n]) => [tagAt(snippet), n]));
}

function analyse(path_: Record<string, number>): FileCoverage {
  return analyseSource(FILE, SOURCE, NAME, STATEMENTS, hits(path_));
}

/** Whether `branch` of the construct starting at `snippet` was taken; fails if it was not measured. */
function taken(result: FileCoverage, snippet: string, branch: string): boolean {
  const line = lineOf(snippet);
  const found = result.branches.filter((b) => b.line === line && b.branch === branch);
  assert.equal(found.length, 1, `expected one ${branch} branch on line ${line}, found ${found.length}`);
  return found[0].taken;
}

describe("branch coverage from statement hits", function () {
  it("gives the same tags as Hardhat for the same file and source name, other tags for another name", function () {
    assert.deepEqual(
      instrumentSource(SOURCE, NAME, SOLC).map((s) => s.tag),
      STATEMENTS.map((s) => s.tag),
    );
    const other = instrumentSource(SOURCE, "project/contracts/Other.sol", SOLC).map((s) => s.tag);
    assert.equal(other.length, STATEMENTS.length);
    assert.ok(other.every((t) => !STATEMENTS.some((s) => s.tag === t)));
  });

  it("counts the branches of every if and try clause, and nothing taken when nothing ran", function () {
    const result = analyse({});
    // ifElse 2, guard 2, blockGuard 2, noElse 2, lastGuard 2, nested: outer 2 + inner 2 + else-if 2, empty 2, try 2 of 3 clauses.
    assert.equal(result.branches.length, 20);
    assert.ok(result.branches.every((b) => !b.taken));
    assert.equal(result.lines.hit, 0);
  });

  it("if/else where only the true side ran: true taken, false untaken", function () {
    const result = analyse({ "if (a > 1)": 2, "{ // T1": 2, "x = 1;": 2 });
    assert.equal(taken(result, "if (a > 1)", "true"), true);
    assert.equal(taken(result, "if (a > 1)", "false"), false);
  });

  it("if/else where both sides ran: both taken", function () {
    const result = analyse({ "if (a > 1)": 3, "{ // T1": 2, "x = 1;": 2, "{ // F1": 1, "x = 2;": 1 });
    assert.equal(taken(result, "if (a > 1)", "true"), true);
    assert.equal(taken(result, "if (a > 1)", "false"), true);
  });

  it("if whose body reverts on the same line: the false side is the next statement running", function () {
    const onlyRevert = analyse({ "if (a == 0)": 1, "revert Zero(); // G": 1 });
    assert.equal(taken(onlyRevert, "if (a == 0)", "true"), true);
    assert.equal(taken(onlyRevert, "if (a == 0)", "false"), false);
    // More transactions reached the if than its revert, yet the next statement never ran (say the
    // condition itself reverted): the false side was not taken, and the rule does not claim it.
    const conditionReverted = analyse({ "if (a == 0)": 3, "revert Zero(); // G": 1 });
    assert.equal(taken(conditionReverted, "if (a == 0)", "false"), false);
    const both = analyse({ "if (a == 0)": 2, "revert Zero(); // G": 1, "x = a; // after G": 1 });
    assert.equal(taken(both, "if (a == 0)", "true"), true);
    assert.equal(taken(both, "if (a == 0)", "false"), true);
    // Hardhat's lines: the line of `if (c) revert E();` is covered only when both statements ran.
    assert.ok(onlyRevert.lines.missed.includes(lineOf("x = a; // after G")));
    assert.ok(!onlyRevert.lines.missed.includes(lineOf("if (a == 0)")));
    const falseOnly = analyse({ "if (a == 0)": 1, "x = a; // after G": 1 });
    assert.ok(falseOnly.lines.missed.includes(lineOf("if (a == 0)")));
  });

  it("a braced body that ends in a revert never falls through either", function () {
    const onlyRevert = analyse({ "if (a == 3)": 3, "{ // BG": 1, "x = 9;": 1, "revert Zero();\n        }": 1 });
    assert.equal(taken(onlyRevert, "if (a == 3)", "true"), true);
    assert.equal(taken(onlyRevert, "if (a == 3)", "false"), false);
    const passed = analyse({ "if (a == 3)": 1, "x = a + 1; // after BG": 1 });
    assert.equal(taken(passed, "if (a == 3)", "true"), false);
    assert.equal(taken(passed, "if (a == 3)", "false"), true);
  });

  it("if without else whose body falls through: false taken only when the if ran in more transactions", function () {
    const same = analyse({ "if (a > 5)": 3, "x = a; // N": 3 });
    assert.equal(taken(same, "if (a > 5)", "true"), true);
    assert.equal(taken(same, "if (a > 5)", "false"), false);
    const more = analyse({ "if (a > 5)": 3, "x = a; // N": 2 });
    assert.equal(taken(more, "if (a > 5)", "false"), true);
    const none = analyse({ "if (a > 5)": 1 });
    assert.equal(taken(none, "if (a > 5)", "true"), false);
    assert.equal(taken(none, "if (a > 5)", "false"), true);
  });

  it("a reverting if that ends its function falls back to comparing counts", function () {
    const reverted = analyse({ "x = a; // before L": 1, "if (a == 7)": 1, "revert Zero(); // L": 1 });
    assert.equal(taken(reverted, "if (a == 7)", "true"), true);
    assert.equal(taken(reverted, "if (a == 7)", "false"), false);
    const passed = analyse({ "x = a; // before L": 2, "if (a == 7)": 2, "revert Zero(); // L": 1 });
    assert.equal(taken(passed, "if (a == 7)", "false"), true);
  });

  it("nested ifs and an else-if chain", function () {
    const inner = analyse({
      "if (a > 0) { // outer": 1,
      "{ // outer": 1,
      "if (b > 0) { // inner": 1,
      "{ // inner": 1,
      "x = 3;": 1,
    });
    assert.equal(taken(inner, "if (a > 0) { // outer", "true"), true);
    assert.equal(taken(inner, "if (a > 0) { // outer", "false"), false);
    assert.equal(taken(inner, "if (b > 0) { // inner", "true"), true);
    assert.equal(taken(inner, "if (b > 0) { // inner", "false"), false);
    assert.equal(taken(inner, "if (b > 0) { // elseif", "true"), false);
    assert.equal(taken(inner, "if (b > 0) { // elseif", "false"), false);

    const elseIf = analyse({ "if (a > 0) { // outer": 1, "if (b > 0) { // elseif": 1, "{ // elseif": 1, "x = 4;": 1 });
    assert.equal(taken(elseIf, "if (a > 0) { // outer", "true"), false);
    assert.equal(taken(elseIf, "if (a > 0) { // outer", "false"), true);
    assert.equal(taken(elseIf, "if (b > 0) { // elseif", "true"), true);
    assert.equal(taken(elseIf, "if (b > 0) { // elseif", "false"), false);
    assert.equal(taken(elseIf, "if (b > 0) { // inner", "true"), false);
  });

  it("an empty true body still has a statement of its own", function () {
    const result = analyse({ "if (a > 0) {}": 1, "{} else": 1 });
    assert.equal(taken(result, "if (a > 0) {}", "true"), true);
    assert.equal(taken(result, "if (a > 0) {}", "false"), false);
  });

  it("try/catch: one branch per clause with a statement; an empty catch is counted as not measured", function () {
    const result = analyse({ "try p.price()": 2, "x = v; // success": 1 });
    assert.equal(taken(result, "try p.price()", "try"), true);
    assert.equal(taken(result, "catch Error(string memory)", "catch Error"), false);
    assert.deepEqual(result.notMeasured.emptyClause, [lineOf("catch {}")]);
    const caught = analyse({ "try p.price()": 1, "x = 6; // caught": 1 });
    assert.equal(taken(caught, "try p.price()", "try"), false);
    assert.equal(taken(caught, "catch Error(string memory)", "catch Error"), true);
  });

  it("reports &&, ?: and require as not measured instead of guessing", function () {
    const result = analyse({});
    assert.deepEqual(result.notMeasured.shortCircuit, [lineOf("a > 2 && x > 0")]);
    assert.deepEqual(result.notMeasured.conditional, [lineOf("a > 2 && x > 0")]);
    assert.deepEqual(result.notMeasured.requireAssert, [lineOf("require(a != 1")]);
    assert.ok(!result.branches.some((b) => b.line === lineOf("a > 2 && x > 0")));
  });

  it("counts lines on which a statement starts, covered when all of them ran", function () {
    const result = analyse({ "require(a != 1": 1, "return a > 2": 1 });
    const all = analyse({});
    assert.equal(result.lines.found, all.lines.found);
    assert.equal(result.lines.hit, 2);
    assert.ok(!result.lines.missed.includes(lineOf("return a > 2")));
    assert.ok(all.lines.missed.includes(lineOf("return a > 2")));
    // `x = 1;` and `x = 2;` sit on lines of their own; the `} else {` line holds only a block.
    assert.ok(all.lines.missed.includes(lineOf("x = 1;")));
    assert.ok(!all.lines.missed.includes(lineOf("} else { // F1")));
  });

  it("refuses data with tags that no current source gives", function () {
    const current = new Set(STATEMENTS.map((s) => s.tag));
    const fromThisSource = hits({ "if (a > 1)": 1 });
    checkDataMatchesSources(fromThisSource, current);
    const edited = instrumentSource(SOURCE.replace("x = 1;", "x = 11;"), NAME, SOLC);
    const stale = new Map([[edited[0].tag, 1]]);
    assert.throws(() => checkDataMatchesSources(stale, current), /come from no current source/);
    assert.throws(() => checkDataMatchesSources(new Map(), current), /no executed statement/);
  });

  describe("a project on disk", function () {
    let root: string;

    before(function () {
      root = mkdtempSync(path.join(os.tmpdir(), "poi-coverage-branches-"));
      for (const dir of ["contracts/fixture", "contracts/test", "contracts/verifiers", "coverage/data/solidity"])
        mkdirSync(path.join(root, dir), { recursive: true });
      writeFileSync(path.join(root, FILE), SOURCE);
      writeFileSync(
        path.join(root, "contracts/test/Double.sol"),
        "pragma solidity ^0.8.28;\ncontract D {\n    uint256 x;\n    function f() external {\n        x = 1;\n    }\n}\n",
      );
      writeFileSync(
        path.join(root, "contracts/verifiers/V.sol"),
        "pragma solidity ^0.8.28;\ncontract V { function f() external {} }\n",
      );
    });

    after(function () {
      if (root) rmSync(root, { recursive: true, force: true });
    });

    it("measures contracts/ without its test and verifier folders, from every data file", function () {
      const sources = listSources(root, path.join(root, "contracts"));
      assert.deepEqual(sources.measured, [FILE]);
      assert.equal(sources.instrumented.length, 3);
      writeFileSync(
        path.join(root, "coverage/data/solidity/a.json"),
        JSON.stringify({ [tagAt("if (a > 1)")]: 1, [tagAt("{ // T1")]: 1 }),
      );
      mkdirSync(path.join(root, "coverage/data/mocha"), { recursive: true });
      writeFileSync(path.join(root, "coverage/data/mocha/b.json"), JSON.stringify({ [tagAt("if (a > 1)")]: 1 }));
      const hitCounts = loadHitCounts(path.join(root, "coverage/data"));
      assert.equal(hitCounts.get(tagAt("if (a > 1)")), 2);
      const report = measureProject(root, sources, hitCounts, SOLC);
      assert.equal(report.files.length, 1);
      assert.equal(report.totals.branches.found, 20);
      // Only ifElse's true side: its else body never ran, however many transactions reached the if.
      assert.equal(report.totals.branches.hit, 1);
      assert.deepEqual(
        report.files[0].branches.filter((b) => b.taken).map((b) => [b.line, b.branch]),
        [[lineOf("if (a > 1)"), "true"]],
      );
    });

    it("refuses data from before the sources changed, and missing data", function () {
      const sources = listSources(root, path.join(root, "contracts"));
      writeFileSync(path.join(root, FILE), SOURCE.replace("x = 1;", "x = 11;"));
      try {
        const hitCounts = loadHitCounts(path.join(root, "coverage/data"));
        assert.throws(() => measureProject(root, sources, hitCounts, SOLC), /come from no current source/);
      } finally {
        writeFileSync(path.join(root, FILE), SOURCE);
      }
      assert.throws(() => loadHitCounts(path.join(root, "coverage/none")), /no coverage data/);
      const double = readFileSync(path.join(root, "contracts/test/Double.sol"), "utf8");
      const doubleTag = instrumentSource(double, hardhatSourceName("contracts/test/Double.sol"), SOLC)[0].tag;
      const onlyDouble = new Map([[doubleTag, 4]]);
      assert.throws(() => measureProject(root, sources, onlyDouble, SOLC), /no statement of the measured contracts/);
    });
  });

  it("exits 2 on a usage error", function () {
    const run = spawnSync(
      process.execPath,
      ["--import", "tsx", "--no-warnings", path.join("scripts", "coverage", "branches.ts"), "--min-branches", "abc"],
      { cwd: ROOT, encoding: "utf8" },
    );
    assert.equal(run.status, 2, run.stderr);
    assert.match(run.stderr, /--min-branches must be a percentage/);
  });
});
