// Stops every server the global setup started, whether the tests passed or not.
import { rmSync } from 'node:fs';

export default async function globalTeardown() {
  const servers = globalThis.__streamkeeperServers;
  globalThis.__streamkeeperServers = undefined;
  const scratch = globalThis.__streamkeeperScratch;
  globalThis.__streamkeeperScratch = undefined;
  try {
    await servers?.destroy();
  } finally {
    if (scratch !== undefined) rmSync(scratch, { recursive: true, force: true });
  }
}
