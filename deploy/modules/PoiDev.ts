import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";

import { buildPoiCore } from "./Poi.js";

/**
 * Development and demo deployment: a freshly deployed TestToken (anyone may mint it) as both the
 * fee and the stake token, plus ModelRegistry and InferenceMarket. Never use it where the tokens
 * must have value.
 *
 * Parameters: `governance` (owner of the registry and market; default: the deploying account)
 * and the market parameters of `Poi`.
 */
export default buildModule("PoiDev", (m) => {
  const token = m.contract("TestToken");
  return { token, ...buildPoiCore(m, token, token) };
});
