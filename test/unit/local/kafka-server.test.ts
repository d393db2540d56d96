import { describe, expect, it } from '@jest/globals';
import { secureListenerProperties, withListener } from '../../../src/local/kafka-server.js';

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

  it('maps a SASL_SSL listener to its protocol', () => {
    expect(withListener(rendered, { name: 'SECURE', address: '127.0.0.1', port: 9095, protocol: 'SASL_SSL' }).split('\n')[4 - 1]).toBe(
      'listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,SECURE:SASL_SSL',
    );
  });

  it('refuses a configuration without the keys it extends', () => {
    expect(() => withListener('listeners=PLAINTEXT://127.0.0.1:9092', { name: 'PODS', address: '10.244.3.1', port: 9094 })).toThrow(/advertised.listeners, listener.security.protocol.map/);
  });
});

describe('secureListenerProperties', () => {
  it('takes only SCRAM-SHA-512 on that listener, checks users against the cluster metadata and serves the PEM keystore', () => {
    expect(secureListenerProperties('SECURE', '/tmp/k/tls/keystore.pem').trimEnd().split('\n')).toEqual([
      'listener.name.secure.sasl.enabled.mechanisms=SCRAM-SHA-512',
      'listener.name.secure.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;',
      'listener.name.secure.ssl.keystore.type=PEM',
      'listener.name.secure.ssl.keystore.location=/tmp/k/tls/keystore.pem',
    ]);
  });
});
