/**
 * `poi refund`: after a request's deadline has passed unanswered, credits its fee back to the
 * requester (and slashes the claimer's bond to the requester, if a validator claimed it and did
 * not deliver); --withdraw then pulls the credit. Anyone may call it, even while the market is paused.
 */
import { formatUnits } from "ethers";
import { connectDeployment, NETWORK_FLAGS, NETWORK_HELP, onChain, usageError, type Command } from "../support.ts";

export const refundCommand: Command = {
  name: "refund",
  usage: [
    "poi refund --request ID[,ID...] [--withdraw] [--deployment FILE] [--network NAME] [--rpc-url URL] [--account N|ADDR]",
    "",
    "  --request ID,...  the requests to refund; each must be open or claimed with its deadline passed",
    "  --withdraw        then withdraw the account's credited fees of the requests' tokens",
    NETWORK_HELP,
    "",
    "Every request is checked before anything is sent: exit 2 for one that does not exist, is already",
    "settled, or whose deadline has not passed (the time it passes is printed).",
  ].join("\n"),
  summary: "refund requests whose deadline passed unanswered (fee back to the requester)",
  valueFlags: ["request", ...NETWORK_FLAGS],
  booleanFlags: ["withdraw"],
  async run(args) {
    const list = args.flags.get("request");
    if (list === undefined) throw usageError("--request is required: the request id(s) to refund");
    const ids = list.split(",").map((part, i) => {
      if (!/^\d+$/.test(part.trim()))
        throw usageError(`--request ${list}: "${part}" at position ${i} is not a request id`);
      return BigInt(part.trim());
    });
    const { market, dep, signer, ethers } = await connectDeployment(args);
    const { requestsOnChain, RequestStatus } = await import("../../chain/terms.ts");
    const count = await onChain("cannot read the market", () => market.requestCount());
    for (const id of ids)
      if (id < 1n || id > count) throw usageError(`request ${id} does not exist (the market has ${count})`);
    const records = await onChain("cannot read the requests' events", () =>
      requestsOnChain(market, ids, dep.deployment.deployedAtBlock ?? 0),
    );
    const now = BigInt((await onChain("cannot reach the node", () => ethers.provider.getBlock("latest")))!.timestamp);
    for (const id of ids) {
      const r = records.get(id)!;
      if (r.status === RequestStatus.Fulfilled) throw usageError(`request ${id} was fulfilled: nothing to refund`);
      if (r.status === RequestStatus.Refunded) throw usageError(`request ${id} was refunded already`);
      if (r.terms.deadline >= now)
        throw usageError(
          `request ${id}: its deadline ${new Date(Number(r.terms.deadline) * 1000).toISOString()} has not passed ` +
            `(${r.terms.deadline - now + 1n} s to go); validators may still answer it`,
        );
    }
    const refunded: { requestId: string; fee: string; slashedBond: string; txHash: string }[] = [];
    for (const id of ids) {
      const r = records.get(id)!;
      const receipt = await onChain(`refunding request ${id} failed`, async () =>
        (await market.refund(id, r.terms)).wait(),
      );
      refunded.push({
        requestId: id.toString(),
        fee: r.terms.fee.toString(),
        slashedBond: r.terms.bond.toString(),
        txHash: receipt!.hash,
      });
    }
    const lines = ids.map((id) => {
      const t = records.get(id)!.terms;
      return (
        `request #${id} refunded: ${formatUnits(t.fee)} credited to ${t.requester}` +
        (t.bond > 0n
          ? `, with the claimer's slashed bond ${formatUnits(t.bond)} (withdrawable after the unbonding delay)`
          : "")
      );
    });
    const withdrawn: Record<string, string> = {};
    if (args.flags.has("withdraw")) {
      const who = await signer.getAddress();
      for (const token of new Set(ids.map((id) => records.get(id)!.terms.feeToken))) {
        const fees = await onChain("cannot read the market", () => market.balanceOf(who, token));
        if (fees === 0n) continue;
        await onChain("withdraw failed", async () => (await market.withdraw(token)).wait());
        withdrawn[token] = fees.toString();
        lines.push(`withdrew ${formatUnits(fees)} of ${token} to ${who}`);
      }
      if (Object.keys(withdrawn).length === 0)
        lines.push(`nothing to withdraw for ${who}: the fees were credited to each request's requester`);
    } else lines.push("the fees are credited in the market: poi withdraw (as the requester) pulls them");
    return { json: { refunded, withdrawn }, text: lines.join("\n") };
  },
};
