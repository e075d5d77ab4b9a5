/** `poi withdraw`: pulls the account's credited fees in one token (and stake credit) from the market. */
import { formatUnits } from "ethers";
import { connectDeployment, flag, NETWORK_FLAGS, NETWORK_HELP, onChain, type Command } from "../support.ts";

export const withdrawCommand: Command = {
  name: "withdraw",
  usage: [
    "poi withdraw [--token ADDR] [--deployment FILE] [--network NAME] [--rpc-url URL] [--account N|ADDR]",
    "",
    "Each model is priced in its own token; fees are credited and withdrawn per token.",
    "  --token ADDR  the token to withdraw (default: the deployment's token); slashed bonds come",
    "                with the stake token",
    NETWORK_HELP,
  ].join("\n"),
  summary: "withdraw the account's credited fees (per token) and stake credit",
  valueFlags: ["token", ...NETWORK_FLAGS],
  booleanFlags: [],
  async run(args) {
    const { dep, signer, market } = await connectDeployment(args);
    const who = await signer.getAddress();
    const token = flag(args, "token") ?? dep.deployment.token;
    const [fees, stakeToken] = await onChain("cannot read the market", () =>
      Promise.all([market.balanceOf(who, token), market.stakeToken()]),
    );
    // Slashed bonds are stake: each is withdrawable one unbonding delay after its slash.
    const [stake, lockedUntil] =
      stakeToken.toLowerCase() === token.toLowerCase()
        ? await onChain("cannot read the market", () => market.withdrawableStakeCreditOf(who))
        : [0n, 0n];
    const locked =
      lockedUntil === 0n
        ? ""
        : ` (more slashed stake unlocks at ${new Date(Number(lockedUntil) * 1000).toISOString()})`;
    if (fees === 0n && stake === 0n) {
      return {
        json: { account: who, token, fees: "0", stake: "0", stakeLockedUntil: lockedUntil.toString() },
        text: `nothing to withdraw for ${who} in ${token}${locked}`,
      };
    }
    const receipt = await onChain("withdraw failed", async () => (await market.withdraw(token)).wait());
    return {
      json: {
        account: who,
        token,
        fees: fees.toString(),
        stake: stake.toString(),
        stakeLockedUntil: lockedUntil.toString(),
        txHash: receipt!.hash,
      },
      text: `withdrew ${formatUnits(fees)} in fees and ${formatUnits(stake)} of stake in ${token} to ${who} (${receipt!.hash})${locked}`,
    };
  },
};
