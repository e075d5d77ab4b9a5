import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";

type ModuleBuilder = Parameters<Parameters<typeof buildModule>[1]>[0];
/** An address Ignition resolves at deployment: a literal, a parameter, an account or a contract future. */
type DeployedAddress = Parameters<ModuleBuilder["send"]>[1];

/**
 * Default market parameters (see IInferenceMarket.Params): 2% protocol fee, 10% royalty to the
 * model owner, a 10-minute claim window, requests of up to a day, two days of unbonding (longer
 * than the one-day slash window), 100 tokens of stake to validate and 10 locked per claim.
 * Each can be overridden by a module parameter of the same name.
 */
export const DEFAULT_MARKET_PARAMS = {
  protocolFeeBps: 200n,
  royaltyBps: 1_000n,
  claimWindow: 600n,
  maxRequestTtl: 86_400n,
  unbondingDelay: 172_800n,
  minStake: 100n * 10n ** 18n,
  claimBond: 10n * 10n ** 18n,
};

/**
 * Deploys the circuit registry, the (permissionless) model registry and the market around a
 * given stake token. Fees need no token here: each model names its own at registration. Shared
 * by `Poi` (existing stake token) and `PoiDev` (fresh TestToken): Ignition has no conditional
 * futures, so the choice of token is a choice of module.
 *
 * Parameters: `governance` (admin of the CircuitRegistry and owner of the InferenceMarket;
 * default: the deploying account), `circuitAdminDelay` (seconds between a CircuitRegistry
 * registration and its activation, and of every admin transfer; default two days),
 * `allowInsecureCeremonies` (whether the ModelRegistry takes universal keys of the insecure
 * development ceremonies, fixed for its lifetime; default false: only the parameter files of the
 * local development chain, deploy/parameters/hardhat.json and localhost.json, set it) and every
 * field of {@link DEFAULT_MARKET_PARAMS}.
 */
export function buildPoiCore(m: ModuleBuilder, stakeToken: DeployedAddress) {
  const governance = m.getParameter("governance", m.getAccount(0));
  const circuitRegistry = m.contract("CircuitRegistry", [m.getParameter("circuitAdminDelay", 172_800n), governance]);
  const params = Object.fromEntries(
    Object.entries(DEFAULT_MARKET_PARAMS).map(([name, value]) => [name, m.getParameter(name, value)]),
  );
  const registry = m.contract("ModelRegistry", [circuitRegistry, m.getParameter("allowInsecureCeremonies", false)]);
  const market = m.contract("InferenceMarket", [registry, stakeToken, governance, params]);
  return { circuitRegistry, registry, market };
}

/**
 * Production deployment: CircuitRegistry, ModelRegistry and InferenceMarket, staked in an
 * existing ERC-20. Per-network parameters live in deploy/parameters/<network>.json.
 *
 * Parameters: `stakeToken` (required, address of a token without fee on transfer),
 * `governance`, `circuitAdminDelay`, `allowInsecureCeremonies` (default false), and the market
 * parameters.
 */
export default buildModule("Poi", (m) => {
  const stakeToken = m.getParameter<string>("stakeToken");
  return buildPoiCore(m, stakeToken);
});
