// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IModelRegistry} from "../../contracts/interfaces/IModelRegistry.sol";
import {Groth16} from "../../contracts/libraries/Groth16.sol";
import {Groth16Harness} from "../../contracts/test/Groth16Harness.sol";

import {MarketFixture} from "./MarketFixture.sol";
import {TestKeys} from "./TestKeys.sol";
import {VM} from "./Vm.sol";

// Test names follow the test_<function>_<outcome> convention, not mixedCase.
// solhint-disable func-name-mixedcase

/**
 * @dev Audit finding F3: verification keys that let proofs be made without the circuit. Each test
 * first shows the danger, a forged proof that the protocol's own {Groth16} code accepts against
 * the key (stored as the registry would store it), made from the key alone with no witness; then
 * that the registry refuses the key, as a single key and as a batch key. Keys whose points are not
 * canonical or not on their curve admit no proof at all (the precompiles refuse them): for those
 * the test shows that a proof valid for the sound key fails, a model nobody could serve.
 */
contract DegenerateKeysTest is MarketFixture {
    Groth16Harness private _harness;
    bytes private _sound;
    uint256[] private _signals;

    function setUp() public override {
        super.setUp();
        _harness = new Groth16Harness();
        _sound = TestKeys.key(3, "sound");
        _signals = [uint256(11), 22, 33];
    }

    function _verifies(bytes memory key, uint256[] memory signals, uint256[8] memory p) private returns (bool) {
        return _harness.verify(_harness.store(key), signals, p);
    }

    /// @dev The registry refuses `key` with `defect` at `offset`, as the single key and as a batch key.
    function _refused(bytes memory key, Groth16.KeyDefect defect, uint256 offset) private {
        bytes memory reason = abi.encodeWithSelector(IModelRegistry.ModelRegistryInvalidKey.selector, defect, offset);
        VM.expectRevert(reason);
        registry.registerBakedModel(terms(feeToken, PRICE), key, new uint256[](0), new bytes[](0));
        uint256[] memory sizes = new uint256[](1);
        sizes[0] = 2;
        bytes[] memory keys = new bytes[](1);
        keys[0] = key;
        VM.expectRevert(reason);
        registry.registerBakedModel(terms(feeToken, PRICE), _sound, sizes, keys);
    }

    /// @dev `forged` verifies against `key` but not against the sound key; then `key` is refused.
    function _forgeryThenRefusal(
        bytes memory key,
        uint256[8] memory forged,
        Groth16.KeyDefect defect,
        uint256 offset
    ) private {
        check(_verifies(key, _signals, forged), "the forged proof verifies against the degenerate key");
        check(!_verifies(_sound, _signals, forged), "and only because of the defect");
        _refused(key, defect, offset);
    }

    function _copy(bytes memory key) private pure returns (bytes memory) {
        return bytes.concat(key);
    }

    function _alpha() private view returns (uint256[2] memory) {
        return TestKeys.readG1(_sound, 0);
    }

    function _vkX() private view returns (uint256[2] memory) {
        return TestKeys.vkX(_sound, _signals);
    }

    function _zero1() private pure returns (uint256[2] memory z) {}

    function _zero2() private pure returns (uint256[4] memory z) {}

    // ------------------------------------------------------------ the sound key

    function test_registerBakedModel_acceptsTheSoundKey() public {
        uint256 id = registry.registerBakedModel(terms(feeToken, PRICE), _sound, new uint256[](0), new bytes[](0));
        check(keccak256(registry.verificationKey(id, 1)) == keccak256(_sound), "registered");
    }

    // ------------------------------------------------------------ gamma

    /// gamma at infinity: e(vk_x, gamma) = 1, so A = alpha, B = beta, C = 0 proves any signals.
    function test_registerBakedModel_refusesGammaAtInfinity() public {
        bytes memory key = TestKeys.withG2(_copy(_sound), Groth16.GAMMA_OFFSET, _zero2());
        uint256[8] memory forged = TestKeys.proof(_alpha(), TestKeys.g2Twice(), _zero1());
        _forgeryThenRefusal(key, forged, Groth16.KeyDefect.GammaNotGenerator, Groth16.GAMMA_OFFSET);
    }

    /// gamma = 2 G2 and delta = G2: C = -2 vk_x cancels e(vk_x, gamma).
    function test_registerBakedModel_refusesGammaOtherThanTheGenerator() public {
        bytes memory key = TestKeys.withG2(_copy(_sound), Groth16.GAMMA_OFFSET, TestKeys.g2Twice());
        TestKeys.withG2(key, Groth16.DELTA_OFFSET, TestKeys.g2Generator());
        uint256[2] memory c = TestKeys.negG1(TestKeys.mul(_vkX(), 2));
        uint256[8] memory forged = TestKeys.proof(_alpha(), TestKeys.g2Twice(), c);
        _forgeryThenRefusal(key, forged, Groth16.KeyDefect.GammaNotGenerator, Groth16.GAMMA_OFFSET);
    }

    // ------------------------------------------------------------ delta and beta related to gamma or each other

    /// delta = gamma: C = -vk_x.
    function test_registerBakedModel_refusesDeltaEqualToGamma() public {
        bytes memory key = TestKeys.withG2(_copy(_sound), Groth16.DELTA_OFFSET, TestKeys.g2Generator());
        uint256[8] memory forged = TestKeys.proof(_alpha(), TestKeys.g2Twice(), TestKeys.negG1(_vkX()));
        _forgeryThenRefusal(key, forged, Groth16.KeyDefect.Related, Groth16.DELTA_OFFSET);
    }

    /// delta = -gamma: C = vk_x.
    function test_registerBakedModel_refusesDeltaEqualToMinusGamma() public {
        bytes memory key = TestKeys.withG2(_copy(_sound), Groth16.DELTA_OFFSET, TestKeys.negG2(TestKeys.g2Generator()));
        uint256[8] memory forged = TestKeys.proof(_alpha(), TestKeys.g2Twice(), _vkX());
        _forgeryThenRefusal(key, forged, Groth16.KeyDefect.Related, Groth16.DELTA_OFFSET);
    }

    /// beta = gamma: A = alpha + vk_x, B = gamma, C = 0.
    function test_registerBakedModel_refusesBetaEqualToGamma() public {
        bytes memory key = TestKeys.withG2(_copy(_sound), Groth16.BETA_OFFSET, TestKeys.g2Generator());
        uint256[2] memory a = TestKeys.add(_alpha(), _vkX());
        uint256[8] memory forged = TestKeys.proof(a, TestKeys.g2Generator(), _zero1());
        _forgeryThenRefusal(key, forged, Groth16.KeyDefect.Related, Groth16.BETA_OFFSET);
    }

    /// beta = -gamma: A = vk_x - alpha, B = gamma, C = 0.
    function test_registerBakedModel_refusesBetaEqualToMinusGamma() public {
        bytes memory key = TestKeys.withG2(_copy(_sound), Groth16.BETA_OFFSET, TestKeys.negG2(TestKeys.g2Generator()));
        uint256[2] memory a = TestKeys.add(_vkX(), TestKeys.negG1(_alpha()));
        uint256[8] memory forged = TestKeys.proof(a, TestKeys.g2Generator(), _zero1());
        _forgeryThenRefusal(key, forged, Groth16.KeyDefect.Related, Groth16.BETA_OFFSET);
    }

    /// beta = delta: A = vk_x, B = gamma, C = -alpha.
    function test_registerBakedModel_refusesBetaEqualToDelta() public {
        bytes memory key = TestKeys.withG2(_copy(_sound), Groth16.BETA_OFFSET, TestKeys.g2Thrice());
        uint256[8] memory forged = TestKeys.proof(_vkX(), TestKeys.g2Generator(), TestKeys.negG1(_alpha()));
        _forgeryThenRefusal(key, forged, Groth16.KeyDefect.Related, Groth16.DELTA_OFFSET);
    }

    /// beta = -delta: A = vk_x, B = gamma, C = alpha.
    function test_registerBakedModel_refusesBetaEqualToMinusDelta() public {
        bytes memory key = TestKeys.withG2(_copy(_sound), Groth16.BETA_OFFSET, TestKeys.negG2(TestKeys.g2Thrice()));
        uint256[8] memory forged = TestKeys.proof(_vkX(), TestKeys.g2Generator(), _alpha());
        _forgeryThenRefusal(key, forged, Groth16.KeyDefect.Related, Groth16.DELTA_OFFSET);
    }

    // ------------------------------------------------------------ points at infinity

    /// alpha at infinity: e(alpha, beta) = 1, so A = vk_x, B = gamma, C = 0.
    function test_registerBakedModel_refusesAlphaAtInfinity() public {
        bytes memory key = TestKeys.withG1(_copy(_sound), 0, _zero1());
        uint256[8] memory forged = TestKeys.proof(_vkX(), TestKeys.g2Generator(), _zero1());
        _forgeryThenRefusal(key, forged, Groth16.KeyDefect.AtInfinity, 0);
    }

    /// beta at infinity: the same forgery.
    function test_registerBakedModel_refusesBetaAtInfinity() public {
        bytes memory key = TestKeys.withG2(_copy(_sound), Groth16.BETA_OFFSET, _zero2());
        uint256[8] memory forged = TestKeys.proof(_vkX(), TestKeys.g2Generator(), _zero1());
        _forgeryThenRefusal(key, forged, Groth16.KeyDefect.AtInfinity, Groth16.BETA_OFFSET);
    }

    /// delta at infinity: C drops out of the check, so any C passes. The key's author (who knows
    /// beta = 2 G2) proves with A = vk_x + 2 alpha, B = gamma; C is then free, witness or not.
    function test_registerBakedModel_refusesDeltaAtInfinity() public {
        bytes memory key = TestKeys.withG2(_copy(_sound), Groth16.DELTA_OFFSET, _zero2());
        uint256[2] memory a = TestKeys.add(_vkX(), TestKeys.mul(_alpha(), TestKeys.BETA_LOG));
        uint256[8] memory forged = TestKeys.proof(a, TestKeys.g2Generator(), TestKeys.g1(7));
        _forgeryThenRefusal(key, forged, Groth16.KeyDefect.AtInfinity, Groth16.DELTA_OFFSET);
    }

    /// An IC point at infinity: its signal (here the output) is not bound, so one proof serves
    /// every output.
    function test_registerBakedModel_refusesAnIcPointAtInfinity() public {
        uint256 outputIc = Groth16.IC_OFFSET + 2 * 64;
        bytes memory key = TestKeys.withG1(_copy(_sound), outputIc, _zero1());
        uint256[2] memory a = TestKeys.add(TestKeys.vkX(key, _signals), TestKeys.mul(_alpha(), TestKeys.BETA_LOG));
        uint256[8] memory p = TestKeys.proof(a, TestKeys.g2Generator(), _zero1());
        uint256[] memory otherOutput = new uint256[](3);
        (otherOutput[0], otherOutput[1], otherOutput[2]) = (_signals[0], 999, _signals[2]);
        check(_verifies(key, _signals, p), "a proof for one output");
        check(_verifies(key, otherOutput, p), "verifies for any other output");
        uint256[2] memory soundA = TestKeys.add(_vkX(), TestKeys.mul(_alpha(), TestKeys.BETA_LOG));
        uint256[8] memory soundP = TestKeys.proof(soundA, TestKeys.g2Generator(), _zero1());
        check(_verifies(_sound, _signals, soundP), "with the sound key the same construction verifies");
        check(!_verifies(_sound, otherOutput, soundP), "for its own output only");
        _refused(key, Groth16.KeyDefect.AtInfinity, outputIc);
    }

    // ------------------------------------------------------------ not canonical, not on the curve

    /// @dev A proof that verifies for the sound key (made by its author, who knows beta's log).
    function _soundProof() private view returns (uint256[8] memory) {
        uint256[2] memory a = TestKeys.add(_vkX(), TestKeys.mul(_alpha(), TestKeys.BETA_LOG));
        return TestKeys.proof(a, TestKeys.g2Generator(), _zero1());
    }

    function _unusable(bytes memory key, Groth16.KeyDefect defect, uint256 offset) private {
        uint256[8] memory p = _soundProof();
        check(_verifies(_sound, _signals, p), "the proof verifies for the sound key");
        check(!_verifies(key, _signals, p), "and for no proof against the broken key");
        _refused(key, defect, offset);
    }

    function test_registerBakedModel_refusesANonCanonicalCoordinate() public {
        bytes memory key = _copy(_sound);
        TestKeys.writeWord(key, 0, _alpha()[0] + TestKeys.Q);
        _unusable(key, Groth16.KeyDefect.NotCanonical, 0);
        key = _copy(_sound);
        TestKeys.writeWord(key, Groth16.DELTA_OFFSET + 32, TestKeys.g2Thrice()[1] + TestKeys.Q);
        _unusable(key, Groth16.KeyDefect.NotCanonical, Groth16.DELTA_OFFSET + 32);
    }

    function test_registerBakedModel_refusesG1PointsOffTheCurve() public {
        _unusable(TestKeys.withG1(_copy(_sound), 0, [uint256(1), 3]), Groth16.KeyDefect.NotOnCurve, 0);
        uint256 ic1 = Groth16.IC_OFFSET + 64;
        _unusable(TestKeys.withG1(_copy(_sound), ic1, [uint256(1), 3]), Groth16.KeyDefect.NotOnCurve, ic1);
    }

    function test_registerBakedModel_refusesG2PointsOutsideTheSubgroupOrOffTheTwist() public {
        uint256[4] memory offSubgroup = TestKeys.g2OffSubgroup();
        _unusable(
            TestKeys.withG2(_copy(_sound), Groth16.DELTA_OFFSET, offSubgroup),
            Groth16.KeyDefect.NotOnCurve,
            Groth16.DELTA_OFFSET
        );
        _unusable(
            TestKeys.withG2(_copy(_sound), Groth16.BETA_OFFSET, offSubgroup),
            Groth16.KeyDefect.NotOnCurve,
            Groth16.BETA_OFFSET
        );
        uint256[4] memory offTwist = TestKeys.g2Thrice();
        offTwist[3] = (offTwist[3] + 1) % TestKeys.Q;
        _unusable(
            TestKeys.withG2(_copy(_sound), Groth16.DELTA_OFFSET, offTwist),
            Groth16.KeyDefect.NotOnCurve,
            Groth16.DELTA_OFFSET
        );
    }
}
