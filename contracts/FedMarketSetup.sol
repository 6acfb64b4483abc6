// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

import {IFedMarket} from "./interfaces/IFedMarket.sol";
import {FedMarketRounds} from "./FedMarketRounds.sol";

/// @title FedMarketSetup
/// @notice FedMarket's project creation (see {IFedMarket-createProject}): checks a configuration,
///         stores it and escrows the budget.
/// @dev A delegated module: FedMarket deploys it in its constructor and forwards `createProject`
///      to it unchanged with `delegatecall`, so it runs on FedMarket's storage, as FedMarket, and
///      its events come from FedMarket's address. Its reentrancy guard is FedMarket's (the same
///      transient slot, in FedMarket's context). It exists because FedMarket alone would exceed
///      EIP-170's 24,576 bytes, and creation is the largest piece that runs once per project and
///      shares no code with the rounds. Called directly it only creates projects in its own storage,
///      which no market reads.
contract FedMarketSetup is FedMarketRounds, ReentrancyGuardTransient {
    /// @dev Upper bound on trainer slots, so every loop over slots is bounded.
    uint256 internal constant MAX_SLOTS = 64;
    /// @dev Longest submission, reveal or aggregation window: keeps every deadline far inside uint64.
    uint64 internal constant MAX_WINDOW = 365 days;
    /// @dev Sentinel round tag of a slot entry that has never held a submission.
    uint32 internal constant NO_ROUND = type(uint32).max;

    // `config` in memory on purpose (see the function body).
    // solhint-disable gas-calldata-parameters
    /// @notice See {IFedMarket-createProject} (FedMarket forwards it here by `delegatecall`).
    function createProject(IFedMarket.ProjectConfig memory config)
        external
        payable
        nonReentrant
        returns (uint256 projectId)
    {
        // `config` is decoded into memory once: reading it field by field from calldata (validating
        // every read) takes more bytecode.
        (uint8 slotCount, uint32 numChunks) = _validateConfig(config);
        projectId = ++_projectCount;
        Project storage p = _projects[projectId];
        _storeConfig(p, config, slotCount, numChunks);
        // Sentinels, paid by the owner, so that a commitment only ever rewrites non-zero storage.
        for (uint256 slot; slot < config.maxTrainersPerRound; ++slot) {
            SlotEntry storage e = _slots[projectId][slot];
            e.value = 1;
            e.round = NO_ROUND;
        }
        uint256 received = _pull(config.token, config.budget);
        p.budget = received;
        p.deposited = received;
        emit IFedMarket.ProjectCreated(projectId, msg.sender, config, received, p.paramsHash, numChunks);
    }
    // solhint-enable gas-calldata-parameters

    function _validateConfig(IFedMarket.ProjectConfig memory c) private view returns (uint8 slotCount, uint32 numChunks) {
        if (c.token != address(0) && c.token.code.length == 0) revert IFedMarket.InvalidConfig("token");
        if (c.aggregator == address(0)) revert IFedMarket.InvalidConfig("aggregator");
        if (c.aggregator == msg.sender) revert IFedMarket.AggregatorIsOwner(msg.sender);
        if (address(c.verifier).code.length == 0) revert IFedMarket.InvalidConfig("verifier");
        if (c.numRounds == 0) revert IFedMarket.InvalidConfig("numRounds");
        if (c.rewardDecayPpm == 0 || c.rewardDecayPpm > REWARD_DECAY_ONE) revert IFedMarket.InvalidConfig("rewardDecayPpm");
        if (c.submissionWindow == 0 || c.submissionWindow > MAX_WINDOW) revert IFedMarket.InvalidConfig("submissionWindow");
        if (c.revealWindow == 0 || c.revealWindow > MAX_WINDOW) revert IFedMarket.InvalidConfig("revealWindow");
        if (c.aggregationWindow == 0 || c.aggregationWindow > MAX_WINDOW) revert IFedMarket.InvalidConfig("aggregationWindow");
        if (c.challengeWindow > c.submissionWindow + c.revealWindow) revert IFedMarket.InvalidConfig("challengeWindow");
        if (c.slashAmount > c.aggregatorBond) revert IFedMarket.InvalidConfig("slashAmount");
        if (c.trainerStake > type(uint128).max) revert IFedMarket.InvalidConfig("trainerStake");
        if (c.params.modelSize == 0) revert IFedMarket.InvalidConfig("modelSize");
        if (c.initialModelCommitment >= FIELD_MODULUS) revert IFedMarket.InvalidConfig("initialModelCommitment");
        _checkCid(bytes(c.specCid).length);
        _checkCid(bytes(c.initialModelCid).length);
        _validateHyperParamBounds(c.minHyperParams, c.maxHyperParams);
        _checkHyperParams(c.initialHyperParams, c.minHyperParams, c.maxHyperParams);

        uint256 kMax = c.verifier.maxTrainers();
        uint256 chunk = c.verifier.chunkSize();
        if (kMax == 0 || kMax > MAX_SLOTS || chunk == 0) revert IFedMarket.InvalidConfig("verifier");
        if (c.verifier.decisionInputCount() != _decisionInputCount(kMax)) revert IFedMarket.InvalidConfig("verifier");
        // The model's headroom: more rounds could push a model value out of the bits the chunk proof adds in.
        if (c.numRounds > c.verifier.maxRounds()) revert IFedMarket.InvalidConfig("numRounds");
        // At least the rule by consensus's quorum, so that it can count anyone.
        uint256 quorum = _consensusQuorum(c.params.byzantineTolerance);
        if (c.maxTrainersPerRound < quorum || c.maxTrainersPerRound > kMax) {
            revert IFedMarket.InvalidConfig("maxTrainersPerRound");
        }
        uint256 chunks = (uint256(c.params.modelSize) + chunk - 1) / chunk;
        return (uint8(kMax), uint32(chunks));
    }

    function _storeConfig(Project storage p, IFedMarket.ProjectConfig memory c, uint8 slotCount, uint32 numChunks)
        private
    {
        p.owner = msg.sender;
        p.numRounds = c.numRounds;
        p.numChunks = numChunks;
        p.byzantineTolerance = c.params.byzantineTolerance;
        p.slotCount = slotCount;
        p.submissionWindow = c.submissionWindow;
        p.revealWindow = uint32(c.revealWindow);
        p.aggregationWindow = c.aggregationWindow;
        p.challengeWindow = c.challengeWindow;
        p.challengeDeposit = c.challengeDeposit;
        p.maxTrainersPerRound = uint16(c.maxTrainersPerRound);
        p.status = IFedMarket.ProjectStatus.AwaitingAggregator;
        p.token = c.token;
        p.aggregator = c.aggregator;
        p.awaitingSince = uint64(block.timestamp);
        p.rewardDecayPpm = c.rewardDecayPpm;
        p.verifier = c.verifier;
        p.rewardPerRound = c.rewardPerRound;
        p.aggregatorBond = c.aggregatorBond;
        p.slashAmount = c.slashAmount;
        p.trainerStake = c.trainerStake;
        p.allowlistRoot = c.allowlistRoot;
        p.paramsHash = keccak256(abi.encode(c.params));
        p.ownerEncryptionKey = c.ownerEncryptionKey;
        p.modelCommitment = c.initialModelCommitment;
        p.params = c.params;
        p.hyperParams = c.initialHyperParams;
        p.minHyperParams = c.minHyperParams;
        p.maxHyperParams = c.maxHyperParams;
        p.modelCid = c.initialModelCid;
        p.specCid = c.specCid;
    }

    /// @dev A zero learning rate, epoch count or batch size would make a round untrainable.
    function _validateHyperParamBounds(IFedMarket.HyperParams memory min, IFedMarket.HyperParams memory max)
        private
        pure
    {
        if (min.learningRateMicros == 0 || min.localEpochs == 0 || min.batchSize == 0) {
            revert IFedMarket.InvalidConfig("minHyperParams");
        }
        if (
            min.learningRateMicros > max.learningRateMicros || min.localEpochs > max.localEpochs
                || min.batchSize > max.batchSize
        ) revert IFedMarket.InvalidConfig("maxHyperParams");
    }
}
