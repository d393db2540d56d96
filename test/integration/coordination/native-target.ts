/** How integration tests reach the coordination layer on a real ZooKeeper through the native client. */
import type { ZooKeeperSession } from '../../../src/coordination/session.js';
import type { ZooKeeperConnector } from '../../../src/coordination/zookeeper/client.js';
import { NativeZooKeeperClient } from '../../../src/coordination/zookeeper/native-client.js';

export const nativeConnector: ZooKeeperConnector = (options) => NativeZooKeeperClient.connect(options);

/** Expires the session's current ZooKeeper session on the server (`connectString` without chroot). */
export async function expireNative(connectString: string, session: ZooKeeperSession): Promise<void> {
  const client = session.currentClient;
  if (!(client instanceof NativeZooKeeperClient)) throw new Error('the session has no native client to expire');
  await NativeZooKeeperClient.expireSession(connectString, client);
}
