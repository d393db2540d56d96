import { describe, expect, it } from '@jest/globals';
import { canConnect } from '../../src/local/free-port.js';
import { fourLetterWord } from '../../src/local/zookeeper-server.js';
import { X509Certificate } from 'node:crypto';
import { kafkaBrokers, kafkaSecure, zkConnect } from '../harness/servers.js';

function portOf(hostPort: string): number {
  return Number(hostPort.split(':')[1]);
}

describe('integration harness', () => {
  it('provides a real ZooKeeper server on loopback', async () => {
    const connect = zkConnect();
    expect(connect).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(await fourLetterWord(portOf(connect), 'ruok')).toBe('imok');
  });

  it('provides a real Kafka broker on loopback', async () => {
    const [broker] = kafkaBrokers();
    expect(broker).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(await canConnect(portOf(broker ?? ''))).toBe(true);
  });

  it("provides the broker's SASL_SSL listener on loopback with a CA of its own and a SCRAM-SHA-512 user", async () => {
    const secure = kafkaSecure();
    expect(secure.brokers).toEqual([expect.stringMatching(/^127\.0\.0\.1:\d+$/)]);
    expect(secure.brokers).not.toEqual(kafkaBrokers());
    expect(await canConnect(portOf(secure.brokers[0] ?? ''))).toBe(true);
    const ca = new X509Certificate(secure.caPem);
    expect(ca.ca).toBe(true);
    expect(secure.mechanism).toBe('scram-sha-512');
    expect(secure.username).not.toBe('');
    expect(secure.password.length).toBeGreaterThanOrEqual(16);
  });
});
