// How a pod's process ends: explicitly, with the work's exit code, once its logs are out — never
// by waiting for the event loop to drain, which a handle left open by a library can prevent.
import { describe, expect, it } from '@jest/globals';
import { Writable } from 'node:stream';
import { StreamkeeperError } from '../../../src/errors/index.js';
import { createLogger } from '../../../src/logging/logger.js';
import { exitWhenDone } from '../../../src/runtime/pod-process.js';

/** A destination that takes its time with every write, as a busy pipe does. */
class SlowStream extends Writable {
  text = '';
  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    setTimeout(() => {
      this.text += chunk.toString();
      callback();
    }, 5);
  }
}

function harness(): { stream: SlowStream; exits: { code: number; written: string }[]; exit: (code: number) => void } {
  const stream = new SlowStream();
  const exits: { code: number; written: string }[] = [];
  return { stream, exits, exit: (code) => exits.push({ code, written: stream.text }) };
}

describe('exitWhenDone', () => {
  it('ends the process with the exit code the work returned, once every log line is written', async () => {
    const { stream, exits, exit } = harness();
    const logger = createLogger({ name: 'executor', format: 'json', destination: stream });
    const code = await exitWhenDone(async () => {
      for (let i = 0; i < 5; i++) logger.info({ i }, 'working');
      logger.info('drained: every task finished or handed back');
      return Promise.resolve(0);
    }, { command: 'executor', logger, stderr: stream }, exit);
    expect(code).toBe(0);
    expect(exits).toHaveLength(1);
    expect(exits[0]?.code).toBe(0);
    expect(exits[0]?.written.trim().split('\n').map((line) => (JSON.parse(line) as { msg: string }).msg)).toEqual([...Array.from({ length: 5 }, () => 'working'), 'drained: every task finished or handed back']);
  });

  it('passes on a non-zero exit code', async () => {
    const { stream, exits, exit } = harness();
    await exitWhenDone(() => Promise.resolve(3), { command: 'driver', logger: createLogger({ format: 'json', destination: stream }), stderr: stream }, exit);
    expect(exits.map((e) => e.code)).toEqual([3]);
  });

  it('ends with 1 and says why when the work fails', async () => {
    const { stream, exits, exit } = harness();
    const logger = createLogger({ name: 'driver', format: 'json', destination: stream });
    await exitWhenDone(() => Promise.reject(new StreamkeeperError('SK_ZK_NO_AUTH', 'not authorised for /streamkeeper')), { command: 'driver', logger, stderr: stream }, exit);
    expect(exits.map((e) => e.code)).toEqual([1]);
    expect(exits[0]?.written).toContain('streamkeeper driver: SK_ZK_NO_AUTH');
  });
});
