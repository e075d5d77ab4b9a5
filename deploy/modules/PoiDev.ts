import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";

import { buildPoiCore } from "./Poi.js";

/**
 * Development and demo deployment: a freshly deployed TestToken (anyone may mint it) as the fee
 * token, plus ModelRegistry and InferenceMarket. Never use it where the fee token must have value.
 *
 * Parameters: `governance` (owner of the ModelRegistry; default: the deploying account).
 */
export default buildModule("PoiDev", (m) => {
  const token = m.contract("TestToken");
  return { token, ...buildPoiCore(m, token) };
});
