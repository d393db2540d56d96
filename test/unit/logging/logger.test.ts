import { describe, expect, it } from '@jest/globals';
import { createLogger, resolveLogLevel } from '../../../src/logging/logger.js';
import { MemoryStream } from '../../support/memory-stream.js';

describe('logger', () => {
  it('writes JSON lines with level, time, component and message', () => {
    const sink = new MemoryStream();
    const logger = createLogger({ name: 'operator', destination: sink, format: 'json' });
    logger.info({ job: 'default/wordcount' }, 'reconciled');
    const [line] = sink.jsonLines();
    expect(line).toMatchObject({ level: 'info', component: 'operator', job: 'default/wordcount', msg: 'reconciled' });
    expect(typeof line?.time).toBe('string');
  });

  it('drops lines below the configured level', () => {
    const sink = new MemoryStream();
    const logger = createLogger({ destination: sink, format: 'json', level: 'warn' });
    logger.info('hidden');
    logger.warn('shown');
    expect(sink.jsonLines().map((l) => l.msg)).toEqual(['shown']);
  });

  it('never writes secret-bearing fields', () => {
    const sink = new MemoryStream();
    const logger = createLogger({ destination: sink, format: 'json' });
    logger.info({ password: 'hunter2', sasl: { username: 'u', password: 'p' }, kafka: { password: 'x' } }, 'connecting');
    expect(sink.text()).not.toContain('hunter2');
    expect(sink.text()).not.toContain('"p"');
    expect(sink.text()).toContain('[redacted]');
  });

  it('formats for humans when asked for pretty output', () => {
    const sink = new MemoryStream();
    const logger = createLogger({ destination: sink, format: 'pretty' });
    logger.info('hello');
    expect(sink.text()).toContain('INFO');
    expect(sink.text()).toContain('hello');
    expect(() => {
      JSON.parse(sink.text());
    }).toThrow();
  });

  it('takes the level from the flag, then STREAMKEEPER_LOG_LEVEL, then info', () => {
    expect(resolveLogLevel('debug', { STREAMKEEPER_LOG_LEVEL: 'error' })).toBe('debug');
    expect(resolveLogLevel(undefined, { STREAMKEEPER_LOG_LEVEL: 'error' })).toBe('error');
    expect(resolveLogLevel(undefined, {})).toBe('info');
    expect(() => resolveLogLevel('verbose', {})).toThrow(/log level must be one of/);
  });
});
