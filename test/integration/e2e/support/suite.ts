/**
 * The frame of an end-to-end test file: one world started before its scenarios and torn down
 * after them (even when they fail), and scenarios that print the world's diagnosis when they
 * fail. Scenarios of a file usually build on each other (one job taken through its life), so by
 * default a scenario after a failed one fails at once instead of waiting out its deadlines.
 *
 *   const e2e = e2eSuite({ name: 'lifecycle' });
 *   it('runs the job', e2e.scenario(async (world) => { … }), e2eTimeoutMs);
 */
import { afterAll, beforeAll } from '@jest/globals';
import { E2eWorld, type E2eWorldOptions } from './e2e-world.js';

/** Jest timeout for one scenario: room for a few of the 90 s waits plus the diagnosis. */
export const e2eTimeoutMs = 240_000;

export interface E2eSuiteOptions extends E2eWorldOptions {
  /** Scenarios build on each other: after a failure the rest fail at once (default true). */
  readonly ordered?: boolean;
}

export interface E2eSuite {
  /** The world, once `beforeAll` has started it. */
  readonly world: E2eWorld;
  /** A test body that gets the world and prints its diagnosis when it fails. */
  scenario(body: (world: E2eWorld) => Promise<void>): () => Promise<void>;
}

/** Registers the world's `beforeAll`/`afterAll` in the enclosing `describe` (or file). */
export function e2eSuite(options: E2eSuiteOptions): E2eSuite {
  let world: E2eWorld | undefined;
  let failed: string | undefined;

  beforeAll(async () => {
    world = await E2eWorld.start(options);
  }, 120_000);

  afterAll(async () => {
    await world?.close();
  }, 120_000);

  const current = (): E2eWorld => {
    if (world === undefined) throw new Error(`the e2e world ${options.name} did not start (see beforeAll)`);
    return world;
  };

  return {
    get world() {
      return current();
    },
    scenario(body) {
      return async () => {
        if (failed !== undefined && options.ordered !== false) throw new Error(`not run: an earlier scenario of ${options.name} failed (${failed})`);
        const running = current();
        try {
          await body(running);
        } catch (err) {
          const first = err instanceof Error ? (err.message.split('\n')[0] ?? '') : String(err);
          failed = first;
          await running.diagnose(first);
          throw err;
        }
      };
    },
  };
}
