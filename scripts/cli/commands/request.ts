/** `poi request`: a requester escrows the model's fee and posts one input, or several in one transaction. */
import { existsSync, readFileSync } from "node:fs";
import { formatUnits } from "ethers";
import {
  bigintFlag,
  connect,
  flag,
  intFlag,
  NETWORK_FLAGS,
  NETWORK_HELP,
  onChain,
  readDeployment,
  usageError,
  type Command,
} from "../support.ts";

export const requestCommand: Command = {
  name: "request",
  usage: [
    "poi request (--input FILE.json | --digit N[,N...]) [--model-id N] [--ttl SECONDS] [--mint] [--deployment FILE]",
    "            [--network NAME] [--rpc-url URL] [--account N|ADDR]",
    "",
    '  --input FILE   a JSON array of input bytes (0..255), or {"pixels": [...]}, or an array of',
    "                 such arrays (several requests, one transaction: requestInferences)",
    "  --digit N,...  held-out MNIST digits (14x14 bytes) instead; several make one request each",
    "  --ttl S        seconds validators have (default 3600)",
    "  --mint         mint the fee first (development TestToken only)",
    NETWORK_HELP,
  ].join("\n"),
  summary: "escrow the fee and post an inference request",
  valueFlags: ["input", "digit", "model-id", "ttl", "deployment", ...NETWORK_FLAGS],
  booleanFlags: ["mint"],
  async run(args) {
    const dep = readDeployment(args);
    let inputs: number[][];
    const input = flag(args, "input");
    const digits = flag(args, "digit");
    if (input) {
      if (!existsSync(input)) throw usageError(`input file ${input} does not exist`);
      let raw: unknown;
      try {
        raw = JSON.parse(readFileSync(input, "utf8"));
      } catch (err) {
        throw usageError(`${input} is not JSON: ${(err as Error).message}`);
      }
      const one = (v: unknown): number[] | undefined =>
        Array.isArray(v) && v.every((x) => typeof x === "number")
          ? (v as number[])
          : v && typeof v === "object" && Array.isArray((v as { pixels?: unknown }).pixels)
            ? one((v as { pixels: unknown }).pixels)
            : undefined;
      const single = one(raw);
      inputs = single ? [single] : Array.isArray(raw) ? raw.map(one).filter((x) => x !== undefined) : [];
      if (inputs.length === 0 || (!single && inputs.length !== (raw as unknown[]).length))
        throw usageError(`${input} holds neither an array of bytes, {"pixels": [...]}, nor an array of those`);
    } else if (digits !== undefined) {
      const { loadMnist } = await import("../../model/mnist.ts");
      const test = loadMnist().test;
      inputs = digits.split(",").map((d) => {
        const n = Number(d);
        if (!/^\d+$/.test(d.trim()) || n >= test.length)
          throw usageError(`--digit ${d}: must be 0..${test.length - 1}`);
        return Array.from(test[n].pixels);
      });
    } else throw usageError("give the input: --input FILE.json or --digit N");
    const modelId = bigintFlag(args, "model-id") ?? BigInt(dep.deployment.modelId ?? "1");
    const { signer } = await connect(args);
    const { connectMarket } = await import("../../chain/protocol.ts");
    const { postRequests } = await import("../../chain/requester.ts");
    const market = connectMarket(dep.deployment.market, signer);
    if (args.flags.has("mint")) {
      const { TestToken__factory, IModelRegistry__factory } = await import("../../../types/ethers-contracts/index.js");
      const { price } = await IModelRegistry__factory.connect(dep.deployment.registry, signer).model(modelId);
      await onChain("minting failed (is the fee token a TestToken?)", async () =>
        (
          await TestToken__factory.connect(dep.deployment.token, signer).mint(
            await signer.getAddress(),
            price * BigInt(inputs.length),
          )
        ).wait(),
      );
    }
    const ttl = intFlag(args, "ttl", 3600);
    const posted = await onChain("the request failed", () =>
      postRequests(
        market,
        signer,
        modelId,
        inputs.map((p) => Uint8Array.from(p)),
        ttl,
      ),
    );
    const json = posted.map((p) => ({
      requestId: p.requestId.toString(),
      inputCommitment: p.inputCommitment.toString(),
      fee: p.fee.toString(),
      gasUsed: p.gasUsed.toString(),
    }));
    const text = posted.map(
      (p) =>
        `request #${p.requestId} posted: fee ${formatUnits(p.fee)} escrowed, input commitment ${p.inputCommitment.toString().slice(0, 20)}..., gas ${p.gasUsed}${posted.length > 1 ? " (its share)" : ""}`,
    );
    return { json: posted.length === 1 ? json[0] : { requests: json }, text: text.join("\n") };
  },
};
