import { describe, expect, it } from '@jest/globals';
import { withListener } from '../../../src/local/kafka-server.js';

const rendered = [
  '# listeners=commented out',
  'listeners=PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093',
  'advertised.listeners=PLAINTEXT://127.0.0.1:9092',
  'listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
  'inter.broker.listener.name=PLAINTEXT',
].join('\n');

describe('withListener', () => {
  it('adds a listener that binds and advertises the given address, keeping the loopback one', () => {
    expect(withListener(rendered, { name: 'PODS', address: '10.244.3.1', port: 9094 }).split('\n')).toEqual([
      '# listeners=commented out',
      'listeners=PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093,PODS://10.244.3.1:9094',
      'advertised.listeners=PLAINTEXT://127.0.0.1:9092,PODS://10.244.3.1:9094',
      'listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,PODS:PLAINTEXT',
      'inter.broker.listener.name=PLAINTEXT',
    ]);
  });

  it('refuses a configuration without the keys it extends', () => {
    expect(() => withListener('listeners=PLAINTEXT://127.0.0.1:9092', { name: 'PODS', address: '10.244.3.1', port: 9094 })).toThrow(/advertised.listeners, listener.security.protocol.map/);
  });
});
