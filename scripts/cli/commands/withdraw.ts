/** `poi withdraw`: pulls the account's credited fees (and stake credit) from the market. */
import { formatUnits } from "ethers";
import { connect, NETWORK_FLAGS, NETWORK_HELP, onChain, readDeployment, type Command } from "../support.ts";

export const withdrawCommand: Command = {
  name: "withdraw",
  usage: [
    "poi withdraw [--deployment FILE] [--network NAME] [--rpc-url URL] [--account N|ADDR]",
    "",
    NETWORK_HELP,
  ].join("\n"),
  summary: "withdraw the account's credited fees and stake credit",
  valueFlags: ["deployment", ...NETWORK_FLAGS],
  booleanFlags: [],
  async run(args) {
    const dep = readDeployment(args);
    const { signer } = await connect(args);
    const { connectMarket } = await import("../../chain/protocol.ts");
    const market = connectMarket(dep.deployment.market, signer);
    const who = await signer.getAddress();
    const fees = await onChain("cannot read the market", () => market.balanceOf(who));
    const stake = await market.stakeCreditOf(who);
    if (fees === 0n && stake === 0n) {
      return { json: { account: who, fees: "0", stake: "0" }, text: `nothing to withdraw for ${who}` };
    }
    const receipt = await onChain("withdraw failed", async () => (await market.withdraw()).wait());
    return {
      json: { account: who, fees: fees.toString(), stake: stake.toString(), txHash: receipt!.hash },
      text: `withdrew ${formatUnits(fees)} in fees and ${formatUnits(stake)} of stake to ${who} (${receipt!.hash})`,
    };
  },
};
