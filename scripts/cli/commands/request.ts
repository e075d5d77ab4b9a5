/** `poi request`: a requester escrows the model's fee and posts an input. */
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
    "poi request (--input FILE.json | --digit N) [--model-id N] [--ttl SECONDS] [--mint] [--deployment FILE]",
    "            [--network NAME] [--rpc-url URL] [--account N|ADDR]",
    "",
    '  --input FILE   a JSON array of input bytes (0..255), or {"pixels": [...]}',
    "  --digit N      held-out MNIST digit N (14x14 bytes) instead",
    "  --ttl S        seconds validators have (default 3600)",
    "  --mint         mint the fee first (development TestToken only)",
    NETWORK_HELP,
  ].join("\n"),
  summary: "escrow the fee and post an inference request",
  valueFlags: ["input", "digit", "model-id", "ttl", "deployment", ...NETWORK_FLAGS],
  booleanFlags: ["mint"],
  async run(args) {
    const dep = readDeployment(args);
    let pixels: number[];
    const input = flag(args, "input");
    const digit = intFlag(args, "digit");
    if (input) {
      if (!existsSync(input)) throw usageError(`input file ${input} does not exist`);
      const raw = JSON.parse(readFileSync(input, "utf8")) as number[] | { pixels: number[] };
      pixels = Array.isArray(raw) ? raw : raw.pixels;
      if (!Array.isArray(pixels)) throw usageError(`${input} holds neither an array nor {"pixels": [...]}`);
    } else if (digit !== undefined) {
      const { loadMnist } = await import("../../model/mnist.ts");
      const test = loadMnist().test;
      if (digit >= test.length) throw usageError(`--digit must be 0..${test.length - 1}`);
      pixels = Array.from(test[digit].pixels);
    } else throw usageError("give the input: --input FILE.json or --digit N");
    const modelId = bigintFlag(args, "model-id") ?? BigInt(dep.deployment.modelId ?? "1");
    const { signer } = await connect(args);
    const { connectMarket } = await import("../../chain/protocol.ts");
    const { postRequest } = await import("../../chain/requester.ts");
    const market = connectMarket(dep.deployment.market, signer);
    if (args.flags.has("mint")) {
      const { TestToken__factory, IModelRegistry__factory } = await import("../../../types/ethers-contracts/index.js");
      const { price } = await IModelRegistry__factory.connect(dep.deployment.registry, signer).model(modelId);
      await onChain("minting failed (is the fee token a TestToken?)", async () =>
        (await TestToken__factory.connect(dep.deployment.token, signer).mint(await signer.getAddress(), price)).wait(),
      );
    }
    const posted = await onChain("the request failed", () =>
      postRequest(market, signer, modelId, Uint8Array.from(pixels), intFlag(args, "ttl", 3600)),
    );
    return {
      json: {
        ...posted,
        requestId: posted.requestId.toString(),
        inputCommitment: posted.inputCommitment.toString(),
        fee: posted.fee.toString(),
        gasUsed: posted.gasUsed.toString(),
      },
      text: `request #${posted.requestId} posted: fee ${formatUnits(posted.fee)} escrowed, input commitment ${posted.inputCommitment.toString().slice(0, 20)}..., gas ${posted.gasUsed}`,
    };
  },
};
