/**
 * Objects a reconcile pass is creating, so that their ADDED events do not trigger another pass
 * for the same job: the pass that created them already computed the job's status with them in
 * it (client-go's ReplicaSet controller keeps "expectations" for the same reason). Skipping is
 * safe because the pass that created them ends in an error — and a retry — if anything after the
 * create failed. Entries expire, so an event that never comes costs nothing.
 */
import { systemClock, type Clock } from '../machinery/clock.js';

export class CreateExpectations {
  private readonly pending = new Map<string, number>();

  constructor(
    private readonly clock: Clock = systemClock,
    private readonly ttlMs = 300_000,
  ) {}

  /** Call before creating `kind` `namespace/name`. */
  expect(kind: string, namespace: string, name: string): void {
    this.pending.set(`${kind}/${namespace}/${name}`, this.clock.now() + this.ttlMs);
    if (this.pending.size % 1024 === 0) this.expire();
  }

  /** The create failed or was not made: its event (if any) is news. */
  cancel(kind: string, namespace: string, name: string): void {
    this.pending.delete(`${kind}/${namespace}/${name}`);
  }

  /** True, once, when the ADDED event of `kind` `namespace/name` was expected. */
  fulfil(kind: string, namespace: string, name: string): boolean {
    const key = `${kind}/${namespace}/${name}`;
    const expires = this.pending.get(key);
    if (expires === undefined) return false;
    this.pending.delete(key);
    return expires > this.clock.now();
  }

  get size(): number {
    return this.pending.size;
  }

  private expire(): void {
    const now = this.clock.now();
    for (const [key, expires] of this.pending) if (expires <= now) this.pending.delete(key);
  }
}
