/** `poi contribute`: one named phase-2 contribution to a ceremony started by `poi setup`. */
import { contribute } from "../../setup/ceremony.ts";
import { jsonFile, integrity, progress, required, type Command } from "../support.ts";

export const contributeCommand: Command = {
  name: "contribute",
  usage: [
    "poi contribute --ceremony FILE --name NAME [--entropy TEXT]",
    "",
    "  --ceremony   the <name>.ceremony.json that poi setup wrote (with its zkeys beside it)",
    "  --name       the contributor's name, recorded in the transcript",
    "  --entropy    extra randomness (OS randomness when absent); never reuse it, never keep it",
    "",
    "Refuses (exit 3) if the ceremony's latest zkey is not the file it recorded, or the beacon is in.",
  ].join("\n"),
  summary: "add one named phase-2 contribution to a ceremony",
  valueFlags: ["ceremony", "name", "entropy"],
  booleanFlags: [],
  async run(args) {
    const file = jsonFile(required(args, "ceremony", "the ceremony file"), "ceremony file");
    const name = required(args, "name", "the contributor's name");
    const step = await progress(args, `phase 2: contribution by ${name}`, (_r, logger) =>
      integrity(() => contribute(file, name, { entropy: args.flags.get("entropy"), logger })),
    );
    return {
      json: step,
      text: `contribution by ${name}: hash ${step.contributionHash}\n  zkey ${step.zkey} (sha256 ${step.zkeySha256.slice(0, 16)}...)`,
    };
  },
};
