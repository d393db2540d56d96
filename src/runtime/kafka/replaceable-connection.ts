/**
 * A kafkajs client (admin or producer) that can be swapped for a fresh one while calls are still
 * running on the old one. The old one is disconnected only after its last call has ended: kafkajs
 * quietly reconnects a disconnected client when a call still running on it retries, and that
 * connection would then never be closed.
 */

export interface Generation<T> {
  readonly connected: Promise<T>;
  inFlight: number;
  retired: boolean;
}

export class ReplaceableConnection<T> {
  private current: Generation<T> | undefined;
  /** Every generation not yet disconnected. */
  private readonly live = new Set<Generation<T>>();

  constructor(
    /** Connects a new client; on failure it must clean up after itself and throw. */
    private readonly connect: () => Promise<T>,
    private readonly disconnect: (client: T) => Promise<void>,
  ) {}

  /** The generation new calls use, connecting one if there is none. */
  generation(): Generation<T> {
    if (this.current !== undefined) return this.current;
    const generation: Generation<T> = { connected: this.connect(), inFlight: 0, retired: false };
    generation.connected.catch(() => {
      if (this.current === generation) this.current = undefined;
      this.live.delete(generation);
    });
    this.current = generation;
    this.live.add(generation);
    return generation;
  }

  /** Runs `action` on `generation` (the current one unless given). */
  async run<R>(action: (client: T) => Promise<R>, generation: Generation<T> = this.generation()): Promise<R> {
    generation.inFlight++;
    try {
      return await action(await generation.connected);
    } finally {
      generation.inFlight--;
      if (generation.retired && generation.inFlight === 0) await this.shut(generation);
    }
  }

  /** Later calls get a new client; this one is disconnected once its last call has ended. */
  async retire(generation: Generation<T>): Promise<void> {
    generation.retired = true;
    if (this.current === generation) this.current = undefined;
    if (generation.inFlight === 0) await this.shut(generation);
  }

  async close(): Promise<void> {
    await Promise.all([...this.live].map((g) => this.retire(g)));
  }

  private async shut(generation: Generation<T>): Promise<void> {
    if (!this.live.delete(generation)) return;
    const client = await generation.connected.catch(() => undefined);
    if (client !== undefined) await this.disconnect(client).catch(() => undefined);
  }
}
