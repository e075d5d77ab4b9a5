import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";

import { buildPoiCore } from "./Poi.js";

/**
 * Development and demo deployment: a freshly deployed TestToken (anyone may mint it) as the stake
 * token and the token development models are priced in, plus CircuitRegistry, ModelRegistry and
 * InferenceMarket. Never use it where the tokens must have value.
 *
 * Parameters: `governance`, `circuitAdminDelay`, `allowInsecureCeremonies` (default false, as for
 * `Poi`: the local chain's parameter files set it) and the market parameters of `Poi`.
 */
export default buildModule("PoiDev", (m) => {
  const token = m.contract("TestToken");
  return { token, ...buildPoiCore(m, token) };
});
