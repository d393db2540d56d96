import { describe, expect, it } from '@jest/globals';
import { logLevel } from 'kafkajs';
import { createLogger, type LogLevel } from '../../../../src/logging/logger.js';
import { kafkajsLevel, kafkajsLogCreator } from '../../../../src/runtime/kafka/kafkajs-logging.js';
import { MemoryStream } from '../../../support/memory-stream.js';

function bridge(level: LogLevel = 'debug') {
  const out = new MemoryStream();
  const write = kafkajsLogCreator(createLogger({ level, destination: out }))(logLevel.DEBUG);
  return { out, write };
}

describe('kafkajs log bridge', () => {
  it.each<[LogLevel, logLevel]>([
    ['trace', logLevel.DEBUG],
    ['debug', logLevel.DEBUG],
    ['info', logLevel.INFO],
    ['warn', logLevel.WARN],
    ['error', logLevel.ERROR],
    ['fatal', logLevel.ERROR],
    ['silent', logLevel.NOTHING],
  ])('lets kafkajs log at its %s equivalent', (level, expected) => {
    expect(kafkajsLevel(level)).toBe(expected);
  });

  it('writes kafkajs entries as project log lines at the same level, with kafkajs fields nested', () => {
    const { out, write } = bridge();
    write({ namespace: 'Connection', level: logLevel.WARN, label: 'WARN', log: { timestamp: '2024-01-01T00:00:00.000Z', logger: 'kafkajs', message: 'Connection timeout', broker: '127.0.0.1:9092' } });
    write({ namespace: 'Runner', level: logLevel.ERROR, label: 'ERROR', log: { timestamp: 't', message: 'Crash', error: new Error('boom') } });
    expect(out.jsonLines()).toMatchObject([
      { level: 'warn', msg: 'Connection timeout', kafkajs: { namespace: 'Connection', broker: '127.0.0.1:9092' } },
      { level: 'error', msg: 'Crash', kafkajs: { namespace: 'Runner', error: 'boom' } },
    ]);
    expect(out.jsonLines()[0]?.kafkajs).not.toHaveProperty('timestamp');
  });

  it('logs the expected events of the protocol at debug, not as errors or warnings', () => {
    const { out, write } = bridge();
    write({ namespace: 'Connection', level: logLevel.ERROR, label: 'ERROR', log: { timestamp: 't', message: 'Response AddPartitionsToTxn(key: 24, version: 1)', error: 'Producer attempted an operation with an old epoch', broker: 'b:9092' } });
    write({ namespace: 'Producer', level: logLevel.WARN, label: 'WARN', log: { timestamp: 't', message: 'Limiting retries for the idempotent producer may invalidate EoS guarantees' } });
    write({ namespace: 'Connection', level: logLevel.ERROR, label: 'ERROR', log: { timestamp: 't', message: 'Connection error: connect ECONNREFUSED 127.0.0.1:1' } });
    expect(out.jsonLines().map((line) => line.level)).toEqual(['debug', 'debug', 'error']);
  });

  it('leaves out an expected protocol event when kafkajs was asked for warnings only', () => {
    const out = new MemoryStream();
    const write = kafkajsLogCreator(createLogger({ level: 'debug', destination: out }), 'warn')(logLevel.WARN);
    write({ namespace: 'Producer', level: logLevel.WARN, label: 'WARN', log: { timestamp: 't', message: 'Limiting retries for the idempotent producer may invalidate EoS guarantees' } });
    write({ namespace: 'Connection', level: logLevel.ERROR, label: 'ERROR', log: { timestamp: 't', message: 'Connection error: connect ECONNREFUSED 127.0.0.1:1' } });
    expect(out.jsonLines().map((line) => [line.level, line.msg])).toEqual([['error', 'Connection error: connect ECONNREFUSED 127.0.0.1:1']]);
  });

  it('never passes on fields that may hold credentials', () => {
    const { out, write } = bridge();
    write({ namespace: 'SASL', level: logLevel.INFO, label: 'INFO', log: { timestamp: 't', message: 'authenticating', sasl: { password: 'hunter2' }, password: 'hunter2', authToken: 'tok' } });
    expect(out.text()).not.toContain('hunter2');
    expect(out.text()).not.toContain('tok');
    expect(out.jsonLines()[0]).toMatchObject({ kafkajs: { sasl: '[redacted]', password: '[redacted]', authToken: '[redacted]' } });
  });

  it('leaves filtering by level to the project logger as well', () => {
    const { out, write } = bridge('warn');
    write({ namespace: 'Connection', level: logLevel.DEBUG, label: 'DEBUG', log: { timestamp: 't', message: 'Request Fetch' } });
    expect(out.text()).toBe('');
  });
});
