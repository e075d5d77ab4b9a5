import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";

type ModuleBuilder = Parameters<Parameters<typeof buildModule>[1]>[0];
/** An address Ignition resolves at deployment: a literal, a parameter, an account or a contract future. */
type DeployedAddress = Parameters<ModuleBuilder["send"]>[1];

/**
 * Deploys the registry and the market around a given fee token. Shared by `Poi` (existing
 * token) and `PoiDev` (fresh TestToken): Ignition has no conditional futures, so the choice of
 * token is a choice of module.
 *
 * Parameter `governance`: owner of the ModelRegistry (default: the deploying account).
 */
export function buildPoiCore(m: ModuleBuilder, feeToken: DeployedAddress) {
  const governance = m.getParameter("governance", m.getAccount(0));
  const registry = m.contract("ModelRegistry", [governance]);
  const market = m.contract("InferenceMarket", [registry, feeToken]);
  return { registry, market };
}

/**
 * Production deployment: ModelRegistry and InferenceMarket, paid in an existing ERC-20.
 *
 * Parameters: `feeToken` (required, address of a token without fee on transfer), `governance`.
 */
export default buildModule("Poi", (m) => {
  const feeToken = m.getParameter<string>("feeToken");
  return buildPoiCore(m, feeToken);
});
