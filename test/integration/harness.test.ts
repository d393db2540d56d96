import { describe, expect, it } from '@jest/globals';
import { canConnect } from '../../src/local/free-port.js';
import { fourLetterWord } from '../../src/local/zookeeper-server.js';
import { kafkaBrokers, zkConnect } from '../harness/servers.js';

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
});
