/**
 * `poi request`: a requester escrows the model's fee and posts one input, or several in one
 * transaction; with --wait, waits for the settlement and prints the decoded answer. Every input is
 * checked (each value an integer 0..255, and the model's input size when its manifest is known)
 * and the model, the deadline and the balance too, before any transaction.
 */
import { formatUnits } from "ethers";
import { decodeOutput, knownModel, type KnownModel } from "../known-model.ts";
import {
  bigintFlag,
  CliError,
  connectDeployment,
  EXIT,
  flag,
  intFlag,
  NETWORK_FLAGS,
  NETWORK_HELP,
  note,
  onChain,
  progress,
  readJsonFile,
  usageError,
  type Command,
  type ParsedArgs,
} from "../support.ts";

export const requestCommand: Command = {
  name: "request",
  usage: [
    "poi request (--input FILE.json | --test-digit N[,N...]) [--model-id N] [--manifest FILE] [--ttl SECONDS]",
    "            [--mint] [--wait] [--wait-timeout SECONDS] [--deployment FILE] [--network NAME] [--rpc-url URL]",
    "            [--account N|ADDR]",
    "",
    '  --input FILE         a JSON array of input bytes (integers 0..255), or {"pixels": [...]}, or an array',
    "                       of such arrays (several requests, one transaction: requestInferences)",
    "  --test-digit N,...   inputs from the held-out MNIST set instead: N is an index into it (0..999,",
    "                       100 per class, class-major: 0..99 are zeros), not the digit drawn; the label",
    "                       is printed. Several make one request each",
    "  --digit N,...        the old name of --test-digit, still taken",
    "  --model-id N         the model to run (default: the deployment's)",
    "  --manifest FILE      the model's artifact manifest, for its input size and output decoding (default:",
    "                       the deployment file's, for the deployment's model)",
    "  --ttl S              seconds validators have (default 3600, at most the market's maxRequestTtl)",
    "  --mint               mint the fee first (development TestToken only)",
    "  --wait               wait for the settlement and print the class, the logits, the validator and the gas",
    "  --wait-timeout S     give up waiting after S seconds (default: the ttl)",
    NETWORK_HELP,
    "",
    "Nothing is sent if an input, the model, the ttl or the balance is wrong (exit 2). Exit 4 if the",
    "chain refuses, or if --wait times out.",
  ].join("\n"),
  summary: "escrow the fee and post an inference request (--wait for its answer)",
  valueFlags: ["input", "test-digit", "digit", "model-id", "manifest", "ttl", "wait-timeout", ...NETWORK_FLAGS],
  booleanFlags: ["mint", "wait"],
  async run(args) {
    const input = flag(args, "input");
    const digitList = flag(args, "test-digit") ?? flag(args, "digit");
    const digitFlag = flag(args, "test-digit") !== undefined ? "--test-digit" : "--digit";
    if (input !== undefined && digitList !== undefined) throw usageError(`give --input or ${digitFlag}, not both`);
    if (input === undefined && digitList === undefined)
      throw usageError("give the input: --input FILE.json or --test-digit N");
    if (flag(args, "test-digit") !== undefined && flag(args, "digit") !== undefined)
      throw usageError("--digit is the old name of --test-digit: give one");
    const ttl = intFlag(args, "ttl", 3600)!;
    if (ttl < 1) throw usageError("--ttl must be at least 1 second");
    const waitTimeout = intFlag(args, "wait-timeout");
    // The raw inputs are read (and a malformed file refused) before the chain is touched.
    const raw = input !== undefined ? inputsOfFile(input) : undefined;

    const { market, dep, signer } = await connectDeployment(args);
    const modelId = bigintFlag(args, "model-id") ?? BigInt(dep.deployment.modelId ?? "1");
    const registryAddress = await onChain("cannot read the market", () => market.registry());
    const { IModelRegistry__factory, TestToken__factory } = await import("../../../types/ethers-contracts/index.js");
    const registry = IModelRegistry__factory.connect(registryAddress, signer);
    const [count, params] = await onChain("cannot read the registry", () =>
      Promise.all([registry.modelCount(), market.params()]),
    );
    if (modelId < 1n || modelId > count)
      throw usageError(`--model-id ${modelId}: no such model (the registry has ${count}; see poi models)`);
    const entry = await onChain("cannot read the registry", () => registry.model(modelId));
    if (!entry.active) throw usageError(`model #${modelId} is inactive: its owner stopped taking requests`);
    if (BigInt(ttl) > params.maxRequestTtl)
      throw usageError(`--ttl ${ttl}: the market takes at most ${params.maxRequestTtl} seconds`);
    const known = await knownModel(args, dep, modelId, entry);
    const inputSize = known?.model.inputSize;

    let inputs: Uint8Array[];
    let labels: { index: number; label: number }[] | undefined;
    const { checkInputs, InputError } = await import("../../chain/requester.ts");
    try {
      if (raw !== undefined) inputs = checkInputs(raw, inputSize, input!, known?.model.inputBits);
      else {
        ({ inputs, labels } = await heldOutDigits(digitList!, digitFlag, inputSize));
        inputs = checkInputs(
          inputs.map((x) => Array.from(x)),
          inputSize,
          digitFlag,
          known?.model.inputBits,
        );
      }
    } catch (err) {
      if (err instanceof InputError) throw usageError(err.message);
      throw err;
    }
    if (!known)
      note(args, `model #${modelId}: input size not checked (pass its --manifest to check it and decode the answer)`);

    const who = await signer.getAddress();
    const total = entry.price * BigInt(inputs.length);
    if (args.flags.has("mint")) {
      await onChain("minting failed (is the fee token a development TestToken?)", async () =>
        (await TestToken__factory.connect(entry.feeToken, signer).mint(who, total)).wait(),
      );
    }
    const balance = await onChain("cannot read the fee token", () =>
      TestToken__factory.connect(entry.feeToken, signer).balanceOf(who),
    );
    if (balance < total)
      throw usageError(
        `account ${who} holds ${formatUnits(balance)} of the fee token ${entry.feeToken}, but ${inputs.length} ` +
          `request(s) of model #${modelId} cost ${formatUnits(total)}: fund the account, or add --mint on a development token`,
      );

    const { postRequests } = await import("../../chain/requester.ts");
    const posted = await onChain("the request failed", () => postRequests(market, signer, modelId, inputs, ttl));
    const json = posted.map((p, i) => ({
      requestId: p.requestId.toString(),
      inputCommitment: p.inputCommitment.toString(),
      fee: p.fee.toString(),
      gasUsed: p.gasUsed.toString(),
      ...(labels ? { testDigit: labels[i].index, label: labels[i].label } : {}),
    }));
    const text = posted.map(
      (p, i) =>
        `request #${p.requestId} posted${labels ? ` (held-out digit #${labels[i].index}, label ${labels[i].label})` : ""}: ` +
        `fee ${formatUnits(p.fee)} escrowed, input commitment ${p.inputCommitment.toString().slice(0, 20)}..., gas ${p.gasUsed}` +
        (posted.length > 1 ? " (its share)" : ""),
    );
    if (args.flags.has("wait")) {
      const answers = await waitAndDecode(
        args,
        market,
        posted.map((p) => p.requestId),
        dep.deployment.deployedAtBlock ?? 0,
        (waitTimeout ?? ttl) * 1000,
        known,
      );
      answers.forEach((a, i) => {
        Object.assign(json[i], { settlement: a.json });
        text.push(a.text);
      });
    }
    return { json: posted.length === 1 ? json[0] : { requests: json }, text: text.join("\n") };
  },
};

/** The inputs of an --input file: one array of bytes, {"pixels": [...]}, or an array of those. */
function inputsOfFile(file: string): unknown[] {
  const raw = readJsonFile(file, "input file");
  const pixels = (v: unknown) =>
    v && typeof v === "object" && !Array.isArray(v) && "pixels" in v ? (v as { pixels: unknown }).pixels : v;
  const top = pixels(raw);
  if (!Array.isArray(top)) throw usageError(`input file ${file} holds neither an array of bytes nor {"pixels": [...]}`);
  // An array of arrays (or of {"pixels"}) is several inputs; an array of anything else is one.
  return top.length > 0 && top.every((x) => Array.isArray(pixels(x))) ? top.map(pixels) : [top];
}

/** Held-out MNIST digits by index, at the model's input resolution (14x14 unless known otherwise). */
async function heldOutDigits(list: string, flagName: string, inputSize: number | undefined) {
  const { digitsFor } = await import("../../model/mnist.ts");
  const set = digitsFor(inputSize ?? 196);
  if (!set)
    throw usageError(
      `${flagName}: the model takes ${inputSize} inputs, not an MNIST image (14x14 or 28x28); use --input`,
    );
  const labels: { index: number; label: number }[] = [];
  const inputs = list.split(",").map((d, position) => {
    const t = d.trim();
    if (!/^\d+$/.test(t) || Number(t) >= set.test.length)
      throw usageError(
        `${flagName} ${list}: "${d}" at position ${position} is not an index into the held-out set (0..${set.test.length - 1})`,
      );
    const digit = set.test[Number(t)]!;
    labels.push({ index: Number(t), label: digit.label });
    return digit.pixels;
  });
  return { inputs, labels };
}

type Market = Awaited<ReturnType<typeof connectDeployment>>["market"];

/**
 * Waits for requests to settle and decodes each answer (class and logits when the model is known).
 * Shared by `poi request --wait` and `poi status --wait`.
 */
export async function waitAndDecode(
  args: ParsedArgs,
  market: Market,
  requestIds: bigint[],
  fromBlock: number,
  timeoutMs: number,
  known: KnownModel | undefined,
) {
  const { waitForSettlement } = await import("../../chain/requester.ts");
  const which = requestIds.length > 1 ? `requests ${requestIds.join(", ")}` : `request #${requestIds[0]}`;
  note(args, `${which} posted; waiting for a validator to prove and settle it (--wait-timeout to bound it)`);
  let settled;
  try {
    // One label for every wait, so that the estimate is the last wait's duration on this machine.
    settled = await progress(args, "waiting for the settlement", () =>
      waitForSettlement(market, requestIds, { fromBlock, timeoutMs }),
    );
  } catch (err) {
    throw new CliError(`gave up waiting: ${(err as Error).message}`, EXIT.chain);
  }
  return settled.map((s) => describeSettlement(s, known));
}

/** A settlement as JSON and as a line of text, the output decoded when the model is known. */
export function describeSettlement(
  s: import("../../chain/requester.ts").Settlement,
  known: KnownModel | undefined,
): { json: Record<string, unknown>; text: string } {
  if (s.status === "Refunded")
    return {
      json: { status: "Refunded", txHash: s.txHash },
      text: `request #${s.requestId} refunded (deadline passed unanswered); poi withdraw pulls the fee`,
    };
  const decoded = decodeOutput(known, s.output!);
  const answer =
    decoded.class !== undefined || decoded.logits
      ? [
          decoded.class !== undefined ? `class ${decoded.class}` : "",
          decoded.logits ? `logits [${decoded.logits.join(", ")}]` : "",
        ]
          .filter(Boolean)
          .join(", ")
      : `output ${s.output} (pass the model's --manifest to decode it)`;
  return {
    json: {
      status: "Fulfilled",
      output: s.output!.toString(),
      ...decoded,
      validator: s.validator,
      gasUsed: s.gasUsed!.toString(),
      batchSize: s.batchSize,
      txHash: s.txHash,
    },
    text:
      `request #${s.requestId} fulfilled: ${answer}; validator ${s.validator}, gas ${s.gasUsed}` +
      (s.batchSize! > 1 ? ` (its share of a batch of ${s.batchSize})` : ""),
  };
}
