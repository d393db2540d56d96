/**
 * A push-fed async iterator: the watch producers (an HTTP stream, the fake's event log) push,
 * the consumer `for await`s. Unlike an async generator, closing it (break / return()) takes
 * effect at once even while the consumer waits, and tells the producer to stop.
 */

type Waiter<T> = { resolve: (result: IteratorResult<T>) => void; reject: (err: unknown) => void };

export class EventChannel<T> implements AsyncIterableIterator<T> {
  private readonly buffer: T[] = [];
  private readonly waiters: Waiter<T>[] = [];
  private finished = false;
  private failure: { error: unknown } | undefined;
  private closed = false;

  /** `onClose` runs once when the consumer stops listening or the producer ends the stream. */
  constructor(private readonly onClose: () => void = () => undefined) {}

  /** True once ended, failed or closed by the consumer: pushes are then dropped. */
  get isClosed(): boolean {
    return this.finished || this.closed;
  }

  push(value: T): void {
    if (this.isClosed) return;
    const waiter = this.waiters.shift();
    if (waiter === undefined) this.buffer.push(value);
    else waiter.resolve({ value, done: false });
  }

  /** Normal end: buffered values are still delivered, then the iteration finishes. */
  end(): void {
    if (this.isClosed) return;
    this.finished = true;
    this.settleWaiters();
    this.close();
  }

  /** Ends with an error, thrown to the consumer after the buffered values. */
  fail(error: unknown): void {
    if (this.isClosed) return;
    this.finished = true;
    this.failure = { error };
    this.settleWaiters();
    this.close();
  }

  next(): Promise<IteratorResult<T>> {
    if (this.buffer.length > 0) {
      return Promise.resolve({ value: this.buffer.shift() as T, done: false });
    }
    if (this.failure !== undefined) {
      const { error } = this.failure;
      this.failure = undefined;
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
    if (this.isClosed) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => {
      this.waiters.push({ resolve, reject });
    });
  }

  return(): Promise<IteratorResult<T>> {
    this.buffer.length = 0;
    this.failure = undefined;
    this.closed = true;
    for (const waiter of this.waiters.splice(0)) waiter.resolve({ value: undefined, done: true });
    this.close();
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  private settleWaiters(): void {
    // Waiters exist only while the buffer is empty, so they see the end (or the failure) now.
    for (const waiter of this.waiters.splice(0)) {
      if (this.failure !== undefined) {
        const { error } = this.failure;
        this.failure = undefined;
        waiter.reject(error);
      } else {
        waiter.resolve({ value: undefined, done: true });
      }
    }
  }

  private closeNotified = false;

  private close(): void {
    if (this.closeNotified) return;
    this.closeNotified = true;
    this.onClose();
  }
}
