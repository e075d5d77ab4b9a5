// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IInferenceVerifier} from "../interfaces/IInferenceVerifier.sol";

/**
 * @title SettableVerifier
 * @notice Test double of {IInferenceVerifier}: it checks no cryptography. It answers what the test
 * set, and can additionally require exact public signals, so a test can see which signals the
 * market passes (in particular the binding to the caller). Never register it outside tests.
 */
contract SettableVerifier is IInferenceVerifier {
    bool private _answer;
    bool private _checkSignals;
    bool private _checkProof;
    uint256[4] private _expectedSignals;
    uint256[8] private _expectedProof;

    /// @param answer Initial answer of {verifyProof}.
    constructor(bool answer) {
        _answer = answer;
    }

    /// @notice Sets what {verifyProof} answers (when the signals match, if an expectation is set).
    function setAnswer(bool answer) external {
        _answer = answer;
    }

    /// @notice From now on, {verifyProof} returns false unless the public signals equal `signals`.
    function expectPublicSignals(uint256[4] calldata signals) external {
        _expectedSignals = signals;
        _checkSignals = true;
    }

    /**
     * @notice From now on, {verifyProof} returns false unless the proof points equal `proof`, read
     * in the flat order `[a0, a1, b00, b01, b10, b11, c0, c1]` the market takes.
     */
    function expectProof(uint256[8] calldata proof) external {
        _expectedProof = proof;
        _checkProof = true;
    }

    /// @notice Drops the expectations set by {expectPublicSignals} and {expectProof}.
    function clearExpectations() external {
        _checkSignals = false;
        _checkProof = false;
    }

    /// @inheritdoc IInferenceVerifier
    function verifyProof(
        uint256[2] calldata _pA,
        uint256[2][2] calldata _pB,
        uint256[2] calldata _pC,
        uint256[4] calldata _pubSignals
    ) external view returns (bool) {
        if (_checkProof) {
            uint256[8] memory flat = [_pA[0], _pA[1], _pB[0][0], _pB[0][1], _pB[1][0], _pB[1][1], _pC[0], _pC[1]];
            for (uint256 i = 0; i < 8; ++i) {
                if (flat[i] != _expectedProof[i]) return false;
            }
        }
        if (_checkSignals) {
            for (uint256 i = 0; i < 4; ++i) {
                if (_pubSignals[i] != _expectedSignals[i]) return false;
            }
        }
        return _answer;
    }
}
