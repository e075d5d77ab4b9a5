import { expect } from "chai";
import { network } from "hardhat";

import PoiModule, { DEFAULT_MARKET_PARAMS } from "../../deploy/modules/Poi.js";
import PoiDevModule from "../../deploy/modules/PoiDev.js";

const { ethers, ignition } = await network.create();

describe("Ignition modules", function () {
  it("PoiDev deploys a TestToken, both registries and a market wired to them", async function () {
    const [, governance] = await ethers.getSigners();
    const { token, circuitRegistry, registry, market } = await ignition.deploy(PoiDevModule, {
      parameters: { PoiDev: { governance: governance.address } },
    });

    expect(await market.owner()).to.equal(governance.address);
    expect(await circuitRegistry.defaultAdmin()).to.equal(governance.address);
    expect(await circuitRegistry.defaultAdminDelay()).to.equal(172_800n);
    expect(await registry.circuitRegistry()).to.equal(await circuitRegistry.getAddress());
    expect(await market.registry()).to.equal(await registry.getAddress());
    expect(await market.stakeToken()).to.equal(await token.getAddress());
    expect(await token.symbol()).to.equal("POIT");
    const params = await market.params();
    expect(params.protocolFeeBps).to.equal(DEFAULT_MARKET_PARAMS.protocolFeeBps);
    expect(params.unbondingDelay).to.equal(DEFAULT_MARKET_PARAMS.unbondingDelay);
    expect(params.claimBond).to.equal(DEFAULT_MARKET_PARAMS.claimBond);
    expect(await registry.acceptsInsecureCeremonies(), "insecure ceremonies only when asked").to.equal(false);
  });

  it("PoiDev's registry accepts insecure ceremonies when the parameter says so", async function () {
    const { registry } = await ignition.deploy(PoiDevModule, {
      parameters: { PoiDev: { allowInsecureCeremonies: true } },
    });
    expect(await registry.acceptsInsecureCeremonies()).to.equal(true);
  });

  it("Poi deploys around an existing stake token, governed by the deployer by default", async function () {
    const [deployer] = await ethers.getSigners();
    const stake = await ethers.deployContract("TestToken");
    const { circuitRegistry, registry, market } = await ignition.deploy(PoiModule, {
      parameters: { Poi: { stakeToken: await stake.getAddress(), protocolFeeBps: 50n } },
    });

    expect(await market.owner()).to.equal(deployer.address);
    expect(await circuitRegistry.defaultAdmin()).to.equal(deployer.address);
    expect(await market.stakeToken()).to.equal(await stake.getAddress());
    expect((await market.params()).protocolFeeBps).to.equal(50n);
    // A production registry: universal keys of insecure (development) ceremonies are refused.
    expect(await registry.acceptsInsecureCeremonies()).to.equal(false);
  });
});
