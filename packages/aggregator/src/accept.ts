/**
 * `fedmarket-aggregator accept`: the appointed aggregator consents to a project by posting its
 * bond and registering its seal key (the BabyJubJub public key `A = a * Base8` trainers seal their
 * updates for, and the round proof decrypts them with `a`); this opens the next round. The
 * acceptance commits to the terms (bond and slash amount): those given with `--bond` / `--slash`,
 * else the ones read from the chain just before; the contract refuses it if the owner changed them
 * in between. The seal key file is created (0600, keys.ts) when it does not exist, so the same file
 * is then passed to `run --seal-key-file`.
 *
 * Before anything is sent it prepares the project's circuit artifacts (prepare.ts, what
 * `fedmarket-aggregator setup` does: minutes the first time), so the aggregator never commits its
 * bond to windows it cannot meet; `skipSetup` (`--skip-setup`) leaves that to an earlier `setup`.
 */
import { Wallet, ZeroAddress } from "ethers";
import { checkModelHeadroom, publicKeyOf, type CircuitConfig, type CurvePoint } from "@fedmarket/core";
import {
  connectRpc,
  FedMarketClient,
  HeliaBlobStore,
  KuboBlobStore,
  ProjectStatus,
  type BlobStore,
  type NodeLogger,
  type ProjectInfo,
} from "@fedmarket/protocol";
import { AggregatorError } from "./errors.ts";
import { loadOrCreateSealKeyFile, sealKeyText } from "./keys.ts";
import { blobSource } from "./steps/context.ts";
import { ModelCache } from "./steps/model-cache.ts";
import { prepareProjectCircuits, type PreparedCircuits, type ProjectSetupOptions } from "./prepare.ts";

export interface AcceptOptions {
  readonly rpcUrl: string;
  readonly market: string;
  readonly projectId: bigint;
  /** The seal key file (keys.ts): read, or created with a fresh secret when it does not exist. */
  readonly keyFile: string;
  readonly chainId?: bigint;
  /** The bond the aggregator agrees to post; refuse any other (default: the appointment's). */
  readonly bond?: bigint;
  /** The slash amount per failed round it agrees to; refuse any other (default: the appointment's). */
  readonly slashAmount?: bigint;
  readonly env?: NodeJS.ProcessEnv;
  /** Do not prepare the circuit artifacts first (`--skip-setup`: an earlier `setup` did, or tests). */
  readonly skipSetup?: boolean;
  /** Where the project's model spec is read for the setup: a Kubo RPC API... */
  readonly ipfsApi?: string;
  /** ...or an embedded IPFS block folder... */
  readonly ipfsRepo?: string;
  /** ...or this store (tests). */
  readonly store?: BlobStore;
  /** The setup's `--circuits` folder, heartbeat and IPFS fetch settings. */
  readonly setup?: ProjectSetupOptions;
}

export interface AcceptResult {
  readonly projectId: bigint;
  readonly aggregator: string;
  /** The seal key registered, `publicKeyOf(secret)` of the key file's secret. */
  readonly sealKey: CurvePoint;
  readonly bondPaid: bigint;
  readonly slashAmount: bigint;
  readonly keyFileCreated: boolean;
  readonly txHash: string;
  readonly round: number;
  /** The setup made before the acceptance (undefined with `skipSetup`). */
  readonly circuits?: PreparedCircuits;
}

const NO_STORE =
  "accept prepares the project's circuits before it posts the bond and reads the model spec for that: pass --ipfs-api <url> or " +
  "--ipfs-repo <dir> (or set FEDMARKET_IPFS_API / FEDMARKET_IPFS_REPO), or --skip-setup if `fedmarket-aggregator setup` already ran";

/** The store the setup reads the spec from (`own`: opened here, closed by the caller). */
async function setupStore(o: AcceptOptions): Promise<{ store: BlobStore; own: boolean }> {
  if (o.store !== undefined) return { store: o.store, own: false };
  if (o.ipfsApi !== undefined) return { store: new KuboBlobStore({ apiUrl: o.ipfsApi }), own: true };
  if (o.ipfsRepo !== undefined) return { store: await HeliaBlobStore.create({ dataDir: o.ipfsRepo }), own: true };
  throw new AggregatorError("usage", NO_STORE);
}

/**
 * Refuses a project whose initial model leaves no headroom (core `checkModelHeadroom`): some round of
 * it might move a model value out of `BG` bits, which no honest proof can show, and the bond would pay
 * for that failed round. The model is fetched and checked against its commitment (ModelCache).
 */
async function checkInitialModel(
  store: BlobStore,
  project: ProjectInfo,
  config: CircuitConfig,
  setup: ProjectSetupOptions = {},
): Promise<void> {
  const model = (await new ModelCache().initial(blobSource(store, setup), project, config)).values;
  try {
    checkModelHeadroom(model, project.numRounds, config);
  } catch (err) {
    throw new AggregatorError(
      "model",
      `project ${project.id} cannot be proven in every round, nothing was sent: ${(err as Error).message}`,
    );
  }
}

export async function acceptProject(o: AcceptOptions, logger: NodeLogger): Promise<AcceptResult> {
  // checked before anything else: an argument error
  if (o.skipSetup !== true && o.store === undefined && o.ipfsApi === undefined && o.ipfsRepo === undefined)
    throw new AggregatorError("usage", NO_STORE);
  const pk = (o.env ?? process.env).FEDMARKET_PRIVATE_KEY;
  if (pk === undefined || pk === "")
    throw new AggregatorError("config", "no Ethereum key: set FEDMARKET_PRIVATE_KEY to the aggregator account's private key");
  let wallet: Wallet;
  try {
    wallet = new Wallet(pk.startsWith("0x") ? pk : `0x${pk}`);
  } catch {
    throw new AggregatorError("config", "FEDMARKET_PRIVATE_KEY is not a valid private key (0x + 64 hex characters)");
  }
  const { provider } = await connectRpc(o.rpcUrl, { pollingIntervalMs: 250 });
  try {
    const signer = wallet.connect(provider);
    const client = new FedMarketClient(o.market, signer);
    await client.checkNetwork(o.chainId);
    const project = await client.getProject(o.projectId);
    if (project.aggregator.toLowerCase() !== wallet.address.toLowerCase()) {
      throw new AggregatorError(
        "config",
        `project ${o.projectId} names ${project.aggregator} as its aggregator, not this account (${wallet.address}): check FEDMARKET_PRIVATE_KEY`,
      );
    }
    if (project.status !== ProjectStatus.AwaitingAggregator) {
      throw new AggregatorError(
        "state",
        `project ${o.projectId} is ${project.statusName}: there is nothing to accept (only a project awaiting its aggregator can be accepted)`,
      );
    }
    const terms = { bond: o.bond ?? project.aggregatorBond, slashAmount: o.slashAmount ?? project.slashAmount };
    if (terms.bond !== project.aggregatorBond || terms.slashAmount !== project.slashAmount) {
      throw new AggregatorError(
        "state",
        `project ${o.projectId} asks for bond ${project.aggregatorBond} and slash amount ${project.slashAmount}, not the bond ${terms.bond} and slash ${terms.slashAmount} given: nothing was sent`,
      );
    }
    let circuits: PreparedCircuits | undefined;
    if (o.skipSetup !== true) {
      logger.log(
        "info",
        "accept.setup",
        `preparing project ${o.projectId}'s circuits before accepting: the bond is posted only once this machine can prove its rounds`,
        { projectId: o.projectId },
      );
      const { store, own } = await setupStore(o);
      try {
        circuits = await prepareProjectCircuits(client, store, project, logger, o.setup);
        await checkInitialModel(store, project, circuits.config, o.setup);
      } finally {
        if (own) await store.close();
      }
    }
    const { secret, created } = await loadOrCreateSealKeyFile(o.keyFile);
    const sealKey = publicKeyOf(secret);
    const inEth = project.token === ZeroAddress;
    if (!inEth && terms.bond > 0n) await client.wait(await client.approveToken(project.token, terms.bond));
    const receipt = await client.wait(await client.acceptAggregator(o.projectId, sealKey, terms, inEth));
    const txHash = receipt.hash;
    const after = await client.getProject(o.projectId);
    const accepted = {
      projectId: o.projectId,
      aggregator: wallet.address,
      sealKey,
      bondPaid: terms.bond,
      slashAmount: terms.slashAmount,
      keyFileCreated: created,
      txHash,
      round: after.currentRound,
    };
    logger.log(
      "info",
      "accept.done",
      `accepted project ${o.projectId}: bond ${terms.bond} posted (slash ${terms.slashAmount} per failed round), seal key ${sealKeyText(sealKey)}${created ? ` (new seal key file ${o.keyFile})` : ` (from ${o.keyFile})`}; round ${after.currentRound} is open`,
      accepted,
    );
    return {
      ...accepted,
      ...(circuits === undefined ? {} : { circuits }),
    };
  } finally {
    provider.destroy();
  }
}
