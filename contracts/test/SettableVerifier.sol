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
    uint256[3] private _expectedSignals;

    /// @param answer Initial answer of {verifyProof}.
    constructor(bool answer) {
        _answer = answer;
    }

    /// @notice Sets what {verifyProof} answers (when the signals match, if an expectation is set).
    function setAnswer(bool answer) external {
        _answer = answer;
    }

    /// @notice From now on, {verifyProof} returns false unless the public signals equal `signals`.
    function expectPublicSignals(uint256[3] calldata signals) external {
        _expectedSignals = signals;
        _checkSignals = true;
    }

    /// @notice Drops the expectation set by {expectPublicSignals}.
    function clearExpectation() external {
        _checkSignals = false;
    }

    /// @inheritdoc IInferenceVerifier
    function verifyProof(
        uint256[2] calldata,
        uint256[2][2] calldata,
        uint256[2] calldata,
        uint256[3] calldata _pubSignals
    ) external view returns (bool) {
        if (_checkSignals) {
            for (uint256 i = 0; i < 3; ++i) {
                if (_pubSignals[i] != _expectedSignals[i]) return false;
            }
        }
        return _answer;
    }
}
