import { createRequire } from "node:module";

import hardhatToolboxMochaEthers from "@nomicfoundation/hardhat-toolbox-mocha-ethers";
import { configVariable, defineConfig } from "hardhat/config";

// The compiler comes from the pinned `solc` npm package, so builds never download anything.
// The path is resolved at runtime: it differs per checkout and must not be committed.
const require = createRequire(import.meta.url);
const soljsonPath = require.resolve("solc/soljson.js");

export default defineConfig({
  plugins: [hardhatToolboxMochaEthers],
  solidity: {
    version: "0.8.37",
    path: soljsonPath,
    settings: {
      optimizer: { enabled: true, runs: 200 },
    },
  },
  paths: {
    sources: "./contracts",
    // Ignition modules live in deploy/modules, parameters in deploy/parameters.
    ignition: "./deploy",
    tests: {
      // Every .ts/.js file under test/ is loaded by mocha: keep helpers free of side effects.
      mocha: "./test",
      // Solidity tests (*.t.sol) for the contracts.
      solidity: "./test/contracts",
    },
  },
  test: {
    mocha: {
      // Circuit and end-to-end tests generate zk proofs; they take far longer than mocha's 2 s.
      timeout: 600_000,
    },
    solidity: {
      fuzz: { runs: 256 },
    },
  },
  networks: {
    hardhat: {
      type: "edr-simulated",
      chainType: "l1",
    },
    localhost: {
      type: "http",
      chainType: "l1",
      url: "http://127.0.0.1:8545",
    },
    // Any EVM RPC. The url and key come from Hardhat's encrypted keystore (or the environment),
    // never from a file in the repository:
    //   npx hardhat keystore set POI_RPC_URL && npx hardhat keystore set POI_PRIVATE_KEY
    // then `npx poi <command> --network remote`. Resolved only when this network is used.
    remote: {
      type: "http",
      chainType: "l1",
      url: configVariable("POI_RPC_URL"),
      accounts: [configVariable("POI_PRIVATE_KEY")],
    },
  },
});
