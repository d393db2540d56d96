/**
 * What a KafkaClient adapter has open — its producers and range readers — so that closing the
 * client closes them too, and nothing is opened once it is closed. One home for both adapters.
 */
import { StreamkeeperError } from '../../errors/index.js';
import type { Logger } from '../../logging/logger.js';

interface Closable {
  close(): Promise<void>;
}

export function closedClient(): StreamkeeperError {
  return new StreamkeeperError('SK_KAFKA_INVALID_REQUEST', 'the Kafka client is closed');
}

export class ClientResources {
  private readonly open = new Set<Closable>();
  private closed = false;

  get isOpen(): boolean {
    return !this.closed;
  }

  /** SK_KAFKA_INVALID_REQUEST once the client is closed. */
  ensureOpen(): void {
    if (this.closed) throw closedClient();
  }

  track<T extends Closable>(resource: T): T {
    this.open.add(resource);
    return resource;
  }

  /** A resource closed on its own: the client no longer closes it. */
  forget(resource: Closable): void {
    this.open.delete(resource);
  }

  /** Marks the client closed and closes every resource and `also`, logging the first failure. */
  async closeAll(logger: Logger, also: readonly Closable[] = []): Promise<void> {
    this.closed = true;
    const resources = [...this.open, ...also];
    this.open.clear();
    const results = await Promise.allSettled(resources.map((r) => r.close()));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed !== undefined) logger.warn({ error: String(failed.reason) }, 'a Kafka connection did not close cleanly');
  }
}
