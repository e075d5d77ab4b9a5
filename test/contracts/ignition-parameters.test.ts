/**
 * The per-network parameter files in deploy/parameters/ deploy the protocol as they say: every
 * file is valid for its module, names only parameters the module reads, and its values arrive in
 * the deployed contracts.
 */
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { expect } from "chai";
import { network } from "hardhat";

import { DEFAULT_MARKET_PARAMS } from "../../deploy/modules/Poi.js";
import PoiDevModule from "../../deploy/modules/PoiDev.js";

const DIR = path.join(import.meta.dirname, "..", "..", "deploy", "parameters");
const KNOWN = new Set([
  "governance",
  "circuitAdminDelay",
  "stakeToken",
  "allowInsecureCeremonies",
  ...Object.keys(DEFAULT_MARKET_PARAMS),
]);

type Parameters = Record<string, Record<string, string | number>>;
const files = readdirSync(DIR).filter((f) => f.endsWith(".json"));

describe("Ignition parameter files", function () {
  it("exist for the in-process chain and a local node", function () {
    expect(files).to.include.members(["hardhat.json", "localhost.json"]);
  });

  for (const file of files) {
    it(`${file} names only parameters the modules read`, function () {
      const params = JSON.parse(readFileSync(path.join(DIR, file), "utf8")) as Parameters;
      for (const [moduleName, values] of Object.entries(params)) {
        expect(["Poi", "PoiDev"], `${file}: module ${moduleName}`).to.include(moduleName);
        for (const name of Object.keys(values)) expect(KNOWN.has(name), `${file}: parameter ${name}`).to.equal(true);
      }
    });
  }

  for (const file of ["hardhat.json", "localhost.json"]) {
    it(`${file} deploys PoiDev with its values`, async function () {
      const { ethers, ignition } = await network.create();
      const params = JSON.parse(readFileSync(path.join(DIR, file), "utf8")) as Parameters;
      const { circuitRegistry, registry, market, token } = await ignition.deploy(PoiDevModule, { parameters: params });
      const p = params.PoiDev;
      expect(await market.owner()).to.equal(ethers.getAddress(String(p.governance)));
      expect(await circuitRegistry.defaultAdminDelay()).to.equal(BigInt(p.circuitAdminDelay));
      expect(await registry.circuitRegistry()).to.equal(await circuitRegistry.getAddress());
      // The local development chain (31337) takes development ceremonies, so its demos keep working.
      expect(p.allowInsecureCeremonies, `${file} sets allowInsecureCeremonies`).to.equal(true);
      expect(await registry.acceptsInsecureCeremonies()).to.equal(true);
      expect(await market.registry()).to.equal(await registry.getAddress());
      expect(await market.stakeToken()).to.equal(await token.getAddress());
      const onChain = await market.params();
      for (const name of Object.keys(DEFAULT_MARKET_PARAMS) as (keyof typeof DEFAULT_MARKET_PARAMS)[]) {
        const expected = p[name] === undefined ? DEFAULT_MARKET_PARAMS[name] : BigInt(p[name]);
        expect(onChain[name], name).to.equal(expected);
      }
    });
  }
});
