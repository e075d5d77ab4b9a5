/** `poi status`: the market, an account, a request, and (with --journal) a validator's journal. */
import { formatUnits } from "ethers";
import { knownModel, MODEL_MODES, modelCeremony } from "../known-model.ts";
import {
  bigintFlag,
  connectDeployment,
  existingFile,
  flag,
  NETWORK_FLAGS,
  NETWORK_HELP,
  onChain,
  plain,
  quietSqliteWarning,
  usageError,
  type Command,
} from "../support.ts";

const STATUS = ["None", "Open", "Claimed", "Fulfilled", "Refunded"];

export const statusCommand: Command = {
  name: "status",
  usage: [
    "poi status [--request ID] [--manifest FILE] [--journal FILE] [--deployment FILE] [--network NAME] [--rpc-url URL]",
    "           [--account N|ADDR]",
    "",
    "  --request ID    one request's on-chain state, its terms, and once fulfilled the class and logits",
    "  --manifest FILE the request's model's artifact manifest, to decode its output (default: the",
    "                  deployment file's, for the deployment's model)",
    "  --journal FILE  a validator's journal: requests by state, and the unfinished ones",
    NETWORK_HELP,
  ].join("\n"),
  summary: "show the market, the account, a request or a validator journal",
  valueFlags: ["request", "journal", "manifest", ...NETWORK_FLAGS],
  booleanFlags: [],
  async run(args) {
    const out: Record<string, unknown> = {};
    const lines: string[] = [];
    const journalFile = flag(args, "journal");
    if (journalFile) {
      existingFile(journalFile, "journal");
      quietSqliteWarning();
      const { Journal } = await import("../../validator/journal.ts");
      const j = Journal.open(journalFile);
      const all = j.all();
      const cursor = j.cursor();
      j.close();
      const counts: Record<string, number> = {};
      for (const r of all) counts[r.state] = (counts[r.state] ?? 0) + 1;
      const pending = all.filter((r) => !["fulfilled", "lost", "expired", "skipped", "failed"].includes(r.state));
      out.journal = {
        file: journalFile,
        cursor,
        counts,
        pending: pending.map((r) => ({ requestId: r.requestId, state: r.state, detail: r.detail })),
      };
      lines.push(`journal ${journalFile}: last block ${cursor ?? "none"}, ${JSON.stringify(counts)}`);
      for (const r of pending) lines.push(`  #${r.requestId} ${r.state}${r.detail ? `: ${r.detail}` : ""}`);
      if (!flag(args, "deployment") && !flag(args, "network")) return { json: plain(out), text: lines.join("\n") };
    }
    const { dep, signer, market } = await connectDeployment(args);
    const who = await signer.getAddress();
    const [count, params, fees, stake, balance] = await onChain("cannot read the market", () =>
      Promise.all([
        market.requestCount(),
        market.params(),
        market.feeAccounts(dep.deployment.token),
        market.stakeOf(who),
        market.balanceOf(who, dep.deployment.token),
      ]),
    );
    out.market = {
      address: dep.deployment.market,
      requests: count,
      escrowed: fees[0],
      credited: fees[1],
      protocolFees: fees[2],
      minStake: params.minStake,
      claimBond: params.claimBond,
    };
    out.account = {
      address: who,
      credited: balance,
      stake: stake.amount,
      bonded: stake.bonded,
      unbonding: stake.unbonding,
    };
    lines.push(
      `market ${dep.deployment.market}: ${count} requests, ${formatUnits(fees[0])} escrowed, ${formatUnits(fees[1])} credited`,
      `account ${who}: ${formatUnits(balance)} withdrawable, stake ${formatUnits(stake.amount)} (${formatUnits(stake.bonded)} bonded)`,
    );
    const id = bigintFlag(args, "request");
    if (id !== undefined) {
      const { requestOnChain } = await import("../../chain/terms.ts");
      const { settlementOf } = await import("../../chain/requester.ts");
      const { describeSettlement } = await import("./request.ts");
      const from = dep.deployment.deployedAtBlock ?? 0;
      const [status] = await onChain("cannot read the request", () => market.requestState(id));
      if (status === 0n) throw usageError(`request ${id} does not exist (the market has ${count})`);
      // The market stores one word per request: its terms come from the request's events.
      const r = await onChain("cannot read the request's events", () => requestOnChain(market, id, from));
      const t = r.terms;
      const settled = await onChain("cannot read the request's events", () => settlementOf(market, id, r.blockNumber));
      const { IModelRegistry__factory } = await import("../../../types/ethers-contracts/index.js");
      const registry = IModelRegistry__factory.connect(await market.registry(), signer);
      const entry = await onChain("cannot read the registry", () => registry.model(t.modelId));
      const mode = MODEL_MODES[Number(entry.mode)] ?? `mode ${entry.mode}`;
      // A universal model's proofs are only as sound as its ceremony: say which, and if it is insecure.
      const ceremony =
        mode === "universal"
          ? await onChain("cannot read the model's ceremony", () => modelCeremony(registry, t.modelId))
          : undefined;
      let answer: ReturnType<typeof describeSettlement> | undefined;
      if (settled) answer = describeSettlement(settled, await knownModel(args, dep, t.modelId, entry));
      out.request = {
        id,
        status: STATUS[Number(r.status)],
        word: r.word,
        requester: t.requester,
        modelId: t.modelId,
        mode,
        ...(ceremony ? { ceremony: ceremony.ceremony } : {}),
        inputCommitment: t.inputCommitment,
        feeToken: t.feeToken,
        fee: t.fee,
        deadline: t.deadline,
        validator: settled?.validator ?? null,
        output: settled?.output ?? null,
        ...(answer ? { settlement: answer.json } : {}),
        claimer: t.claimer,
        claimedAt: t.claimedAt,
        claimExpiresAt: t.claimExpiresAt,
        bond: t.bond,
      };
      lines.push(
        `request #${id} (model #${t.modelId}, ${mode}${ceremony ? ` on ${ceremony.text}` : ""}): ${STATUS[Number(r.status)]}, fee ${formatUnits(t.fee)}, deadline ${new Date(Number(t.deadline) * 1000).toISOString()}` +
          (r.status === 2n ? `, claimed by ${t.claimer}` : ""),
      );
      if (answer) lines.push(answer.text);
    }
    return { json: plain(out), text: lines.join("\n") };
  },
};
