/**
 * `poi unstake`: a validator starts unbonding free stake (stake not bonded to open claims), and
 * once the market's unbonding delay has passed, withdraws it with --withdraw.
 */
import { formatUnits } from "ethers";
import {
  connectDeployment,
  NETWORK_FLAGS,
  NETWORK_HELP,
  onChain,
  tokenFlag,
  usageError,
  type Command,
} from "../support.ts";

export const unstakeCommand: Command = {
  name: "unstake",
  usage: [
    "poi unstake [--amount TOKENS] [--withdraw] [--deployment FILE] [--network NAME] [--rpc-url URL] [--account N|ADDR]",
    "",
    "  --amount TOKENS  how much free stake to start unbonding (default: all of it)",
    "  --withdraw       withdraw the stake whose unbonding delay has passed, instead of starting one",
    NETWORK_HELP,
    "",
    "Unbonding restarts the clock for everything unbonding. Nothing is sent when there is nothing to",
    "unstake or the delay has not passed (exit 2, with the time it ends).",
  ].join("\n"),
  summary: "start unbonding a validator's stake, or withdraw it once the delay has passed",
  valueFlags: ["amount", ...NETWORK_FLAGS],
  booleanFlags: ["withdraw"],
  async run(args) {
    const amountFlag = tokenFlag(args, "amount");
    if (amountFlag !== undefined && args.flags.has("withdraw"))
      throw usageError("--amount is for starting to unbond; --withdraw takes all the unbonded stake");
    const { market, signer, ethers } = await connectDeployment(args);
    const who = await signer.getAddress();
    const stake = await onChain("cannot read the market", () => market.stakeOf(who));
    if (args.flags.has("withdraw")) {
      if (stake.unbonding === 0n) throw usageError(`${who} has no stake unbonding: run poi unstake first`);
      const now = BigInt((await onChain("cannot reach the node", () => ethers.provider.getBlock("latest")))!.timestamp);
      if (now < stake.unbondingEndsAt)
        throw usageError(
          `${formatUnits(stake.unbonding)} of ${who}'s stake unbonds until ${new Date(Number(stake.unbondingEndsAt) * 1000).toISOString()} ` +
            `(${stake.unbondingEndsAt - now} s to go)`,
        );
      const receipt = await onChain("withdrawing the stake failed", async () => (await market.withdrawStake()).wait());
      return {
        json: { account: who, withdrawn: stake.unbonding.toString(), txHash: receipt!.hash },
        text: `withdrew ${formatUnits(stake.unbonding)} of unbonded stake to ${who}`,
      };
    }
    const free = stake.amount - stake.bonded;
    const amount = amountFlag ?? free;
    if (amount === 0n)
      throw usageError(
        `${who} has no free stake to unstake (active ${formatUnits(stake.amount)}, bonded to claims ${formatUnits(stake.bonded)})`,
      );
    if (amount > free)
      throw usageError(
        `--amount ${formatUnits(amount)}: ${who} has ${formatUnits(free)} of free stake (${formatUnits(stake.bonded)} more is bonded to claims)`,
      );
    const receipt = await onChain("unstaking failed", async () => (await market.unstake(amount)).wait());
    const after = await onChain("cannot read the market", () => market.stakeOf(who));
    const ends = new Date(Number(after.unbondingEndsAt) * 1000).toISOString();
    return {
      json: {
        account: who,
        unstaked: amount.toString(),
        unbonding: after.unbonding.toString(),
        unbondingEndsAt: after.unbondingEndsAt.toString(),
        txHash: receipt!.hash,
      },
      text: `${formatUnits(amount)} of stake unbonding (${formatUnits(after.unbonding)} in all) until ${ends}; then poi unstake --withdraw`,
    };
  },
};
