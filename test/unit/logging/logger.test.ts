import { describe, expect, it } from '@jest/globals';
import { createLogger, mergeBindings, resolveLogLevel } from '../../../src/logging/logger.js';
import { MemoryStream } from '../../support/memory-stream.js';

/** The top-level keys of a JSON object text, in order and with repeats (JSON.parse hides them). */
function topLevelKeys(line: string): string[] {
  const keys: string[] = [];
  let depth = 0;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (c === '"') {
      let end = i + 1;
      while (line[end] !== '"') end += line[end] === '\\' ? 2 : 1;
      if (depth === 1 && line[end + 1] === ':') keys.push(JSON.parse(line.slice(i, end + 1)) as string);
      i = end;
    } else if (c === '{' || c === '[') depth++;
    else if (c === '}' || c === ']') depth--;
  }
  return keys;
}

function lines(sink: MemoryStream): string[] {
  return sink.text().split('\n').filter((l) => l.trim() !== '');
}

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

  describe('never repeats a key in a line', () => {
    it('makes a part that names itself a component the process component\'s subsystem', () => {
      const sink = new MemoryStream();
      const logger = createLogger({ name: 'executor', destination: sink, format: 'json' });
      logger.child({ component: 'metrics-server' }).info({ port: 9090 }, 'serving /metrics');
      logger.child({ job: 'a/b' }).child({ component: 'zookeeper' }).child({ component: 'watch' }).warn('retrying');
      const [serving, retrying] = lines(sink);
      expect(topLevelKeys(serving ?? '')).toEqual(['level', 'time', 'component', 'subsystem', 'port', 'msg']);
      expect(JSON.parse(serving ?? '')).toMatchObject({ component: 'executor', subsystem: 'metrics-server' });
      expect(topLevelKeys(retrying ?? '')).toEqual(['level', 'time', 'component', 'job', 'subsystem', 'msg']);
      expect(JSON.parse(retrying ?? '')).toMatchObject({ component: 'executor', job: 'a/b', subsystem: 'zookeeper/watch' });
    });

    it('keeps a child\'s component as is when nothing above names one', () => {
      const sink = new MemoryStream();
      createLogger({ destination: sink, format: 'json' }).child({ component: 'node-agent' }).info('started');
      expect(JSON.parse(lines(sink)[0] ?? '')).toMatchObject({ component: 'node-agent' });
      expect(JSON.parse(lines(sink)[0] ?? '')).not.toHaveProperty('subsystem');
    });

    it('writes a key bound again, by a child or in a line\'s fields, once with the newer value', () => {
      const sink = new MemoryStream();
      const logger = createLogger({ name: 'driver', destination: sink, format: 'json' }).child({ kafka: 'source', job: 'a/b' });
      logger.child({ kafka: '127.0.0.1:9092' }).info('connected');
      logger.info({ job: 'a/c', batch: '7' }, 'planned');
      const [connected, planned] = lines(sink);
      expect(topLevelKeys(connected ?? '')).toEqual(['level', 'time', 'component', 'kafka', 'job', 'msg']);
      expect(JSON.parse(connected ?? '')).toMatchObject({ kafka: '127.0.0.1:9092', job: 'a/b' });
      expect(topLevelKeys(planned ?? '')).toEqual(['level', 'time', 'component', 'kafka', 'job', 'batch', 'msg']);
      expect(JSON.parse(planned ?? '')).toMatchObject({ job: 'a/c', batch: '7', msg: 'planned' });
    });

    it('keeps the level and the redaction of the logger a child comes from', () => {
      const sink = new MemoryStream();
      const logger = createLogger({ name: 'operator', destination: sink, format: 'json', level: 'info' });
      logger.level = 'debug';
      logger.child({ component: 'event-recorder' }).debug({ password: 'hunter2' }, 'recorded');
      expect(sink.text()).toContain('recorded');
      expect(sink.text()).not.toContain('hunter2');
    });
  });

  it('merges bindings: component stays, a second one becomes the subsystem, other keys take the newer value', () => {
    expect(mergeBindings({ component: 'executor', job: 'a/b' }, { component: 'metrics-server', job: 'a/c' })).toEqual({ component: 'executor', job: 'a/c', subsystem: 'metrics-server' });
    expect(mergeBindings({ component: 'operator', subsystem: 'job-coordination' }, { component: 'zookeeper' })).toEqual({ component: 'operator', subsystem: 'job-coordination/zookeeper' });
    expect(mergeBindings({ component: 'executor' }, { component: 'executor' })).toEqual({ component: 'executor' });
    expect(mergeBindings({}, { component: 'node-agent', skipped: undefined })).toEqual({ component: 'node-agent' });
  });
});
