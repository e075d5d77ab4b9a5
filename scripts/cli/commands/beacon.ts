/** `poi beacon`: closes a ceremony with the final beacon and writes the verified artifacts. */
import { readCeremony } from "../../setup/ceremony.ts";
import { existingFile, integrity, jsonFile, required, type Command } from "../support.ts";
import { finish } from "./setup.ts";

export const beaconCommand: Command = {
  name: "beacon",
  usage: [
    "poi beacon --ceremony FILE --ptau FILE --beacon HEX [--verifier FILE.sol] [--verifier-contract NAME]",
    "",
    "  --ceremony FILE  the ceremony file poi setup started (<name>.ceremony.json)",
    "  --ptau FILE      the ptau the ceremony was started with (its blake2b is checked)",
    "  --beacon HEX     public randomness nobody could know in advance (e.g. a future block hash)",
    "  --verifier FILE  where the Solidity verifier goes (default contracts/verifiers/<Name>Verifier.sol)",
    "  --verifier-contract NAME  the verifier contract's name (default <Name>Verifier)",
    "",
    "Applies the beacon, verifies the zkey against the r1cs and ptau, refuses gamma = delta (exit 3),",
    "and writes the vkey, the Solidity verifier, the transcript and the manifest.",
  ].join("\n"),
  summary: "apply the final beacon to a ceremony and write vkey, verifier, transcript, manifest",
  valueFlags: ["ceremony", "ptau", "beacon", "verifier", "verifier-contract"],
  booleanFlags: [],
  async run(args) {
    const file = jsonFile(required(args, "ceremony", "the ceremony file"), "ceremony file");
    const ptau = existingFile(required(args, "ptau", "the ptau the ceremony started from"), "ptau");
    required(args, "beacon", "the beacon's hex bytes");
    const c = await integrity(() => readCeremony(file));
    return finish(args, file, ptau, c.circuit);
  },
};
