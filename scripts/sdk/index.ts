/**
 * The poi SDK: what another package imports to request, prove, settle and check inferences.
 * Each export is the toolkit's own module (the CLI and the validator daemon use the same ones);
 * this file only chooses what is public. docs/sdk.md shows the three main uses.
 *
 * Built to JavaScript and declarations in dist/ by `npm pack` (prepack, tsconfig.sdk.json), with
 * the contracts' TypeChain types, so that a consumer needs neither tsx nor Hardhat.
 */
// Typings of the libraries that ship none, kept in the declarations (prepack copies them to dist/).
/// <reference path="../types/snarkjs.d.ts" preserve="true" />
/// <reference path="../types/ffjavascript.d.ts" preserve="true" />
/// <reference path="../types/circom_runtime.d.ts" preserve="true" />

// The requester: commit to an input, escrow the fee, wait for the settled output.
export {
  postRequest,
  postRequests,
  waitForFulfilment,
  RequestNotSettledError,
  type PostedRequest,
  type SettledRequest,
} from "../chain/requester.ts";

// The validator: stake, find open requests, claim them, prove and settle them.
export {
  bindingFor,
  claimRequest,
  claimRequests,
  ensureStaked,
  fulfilBatchRequests,
  fulfilmentOf,
  fulfilRequest,
  openRequests,
  planBatches,
  supportedBatchSizes,
  type BatchFulfilment,
  type BatchPlan,
  type Fulfilment,
  type OpenRequest,
} from "../chain/validator.ts";

// A request's terms, rebuilt from its events (every market call on a request takes them).
export {
  requestOnChain,
  requestRecords,
  requestsOnChain,
  RequestStatus,
  requestTerms,
  requestWord,
  withClaim,
  type RequestOnChain,
  type RequestRecord,
  type RequestTerms,
} from "../chain/terms.ts";

// Deployment and registration of the protocol's contracts and models.
export {
  acceptsInsecureCeremoniesByDefault,
  connectMarket,
  deployProtocol,
  DEV_CHAIN_ID,
  DEV_MARKET_PARAMS,
  registerBakedModel,
  registerCommittedModel,
  verificationKeyBytes,
  type MarketParams,
  type ModelTermsOptions,
  type Protocol,
  type RegisteredModel,
} from "../chain/protocol.ts";

// Attestations: the facts the market records and the inclusion proofs of batched ones.
export {
  attestationRoot,
  attestedBatches,
  batchAttestationProof,
  factOf,
  inclusionProof,
  leafOf,
  type AttestationProof,
  type AttestedBatch,
} from "../chain/attestations.ts";
export { requestBinding } from "../chain/binding.ts";

// The prover: a warm Groth16 prover per circuit and the one proving path of a request.
export { Prover, proofCalldata, releaseProverThreads, type ProofResult } from "../prove/prover.ts";
export {
  checkRequestInput,
  circuitMode,
  loadModelArtifacts,
  manifestModel,
  offChainRequest,
  ProofRefusedError,
  proveRequests,
  requestCircuitInput,
  type CircuitMode,
  type ModelArtifacts,
  type ProofBindingData,
  type RequestProof,
  type RequestToProve,
} from "../prove/prove-request.ts";
export { setProverThreads } from "../prove/threads.ts";

// Models and their outputs: the integer reference, the input commitment, the packed output.
export { inferQuantizedGraph, packGraphOutput, unpackGraphOutput } from "../model/graph-inference.ts";
export { readQuantizedGraph, type QuantizedGraph } from "../model/quantize-graph.ts";
export { packedCommitment } from "../circuit/reference.ts";
export { readManifest, verifyArtifacts, type Manifest } from "../setup/manifest.ts";

// The contracts' TypeChain types and factories (InferenceMarket, ModelRegistry, ...).
export * from "../../types/ethers-contracts/index.js";
