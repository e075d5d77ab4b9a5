import type { Command } from "../support.ts";
/** The toolkit's commands (setup, chain, validator), in the order `poi --help` lists them. */
import { beaconCommand } from "./beacon.ts";
import { circuitCommand } from "./circuit.ts";
import { contributeCommand } from "./contribute.ts";
import { deployCommand } from "./deploy.ts";
import { proveCommand } from "./prove.ts";
import { ptauCommand } from "./ptau.ts";
import { modelsCommand } from "./models.ts";
import { refundCommand } from "./refund.ts";
import { registerCommand } from "./register.ts";
import { requestCommand } from "./request.ts";
import { setupCommand } from "./setup.ts";
import { statusCommand } from "./status.ts";
import { unstakeCommand } from "./unstake.ts";
import { validatorCommand } from "./validator.ts";
import { verifyCommand } from "./verify.ts";
import { verifySetupCommand } from "./verify-setup.ts";
import { withdrawCommand } from "./withdraw.ts";

export const TOOLKIT_COMMANDS: Command[] = [
  ptauCommand,
  setupCommand,
  contributeCommand,
  beaconCommand,
  verifySetupCommand,
  deployCommand,
  circuitCommand,
  registerCommand,
  modelsCommand,
  requestCommand,
  refundCommand,
  proveCommand,
  verifyCommand,
  validatorCommand,
  withdrawCommand,
  unstakeCommand,
  statusCommand,
];
