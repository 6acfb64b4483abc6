/**
 * Event queries over bounded block ranges. Public RPC endpoints cap `eth_getLogs` (typically at
 * 1,000-10,000 blocks or a number of results), so a query from block `a` to `b` is split into
 * windows of `blockRange` blocks (default 2,000), each retried with exponential backoff on
 * transport errors. If the endpoint still rejects a window as too large, the window is halved
 * (down to one block) and the rest of the query continues at the smaller size.
 */
import type { Interface, Provider, TopicFilter } from "ethers";
import { withRetries, type RetryOptions } from "./retry.ts";

export interface EventQueryOptions {
  /** First block (default 0). */
  readonly fromBlock?: number;
  /** Last block, inclusive (default: the latest block when the query starts). */
  readonly toBlock?: number;
  /** Blocks per `eth_getLogs` call (default 2,000). */
  readonly blockRange?: number;
  readonly retry?: RetryOptions;
  /** Called after every window (e.g. for progress). */
  readonly onWindow?: (info: { fromBlock: number; toBlock: number; found: number }) => void;
}

/** One decoded log. `args` holds the event's named arguments. */
export interface ParsedEvent {
  readonly eventName: string;
  readonly args: Readonly<Record<string, unknown>>;
  readonly blockNumber: number;
  readonly transactionHash: string;
  readonly logIndex: number;
}

const TOO_LARGE = /range|too many|limit|exceed|query returned more than|block range/i;

/** Splits `[from, to]` into consecutive windows of at most `size` blocks. */
export function blockWindows(from: number, to: number, size: number): [number, number][] {
  if (!Number.isInteger(size) || size < 1) throw new RangeError(`blockRange ${size} must be a positive integer`);
  const out: [number, number][] = [];
  for (let a = from; a <= to; a += size) out.push([a, Math.min(to, a + size - 1)]);
  return out;
}

/** Runs `eth_getLogs` for `address` + `topics` over `[fromBlock, toBlock]` in bounded windows. */
export async function queryEventsChunked(
  provider: Provider,
  iface: Interface,
  address: string,
  topics: TopicFilter,
  options: EventQueryOptions = {},
): Promise<ParsedEvent[]> {
  const fromBlock = options.fromBlock ?? 0;
  const toBlock = options.toBlock ?? (await withRetries(() => provider.getBlockNumber(), options.retry));
  let size = options.blockRange ?? 2_000;
  const out: ParsedEvent[] = [];
  let a = fromBlock;
  while (a <= toBlock) {
    const z = Math.min(toBlock, a + size - 1);
    let logs;
    try {
      logs = await withRetries(() => provider.getLogs({ address, topics, fromBlock: a, toBlock: z }), options.retry);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      if (size > 1 && TOO_LARGE.test(message)) {
        size = Math.max(1, Math.floor(size / 2));
        continue;
      }
      throw err;
    }
    for (const log of logs) {
      const parsed = iface.parseLog(log);
      if (parsed === null) continue;
      const args: Record<string, unknown> = {};
      parsed.fragment.inputs.forEach((input, i) => {
        args[input.name] = parsed.args[i];
      });
      out.push({ eventName: parsed.name, args, blockNumber: log.blockNumber, transactionHash: log.transactionHash, logIndex: log.index });
    }
    options.onWindow?.({ fromBlock: a, toBlock: z, found: logs.length });
    a = z + 1;
  }
  return out;
}
