// Stops every server the global setup started, whether the tests passed or not.
export default async function globalTeardown() {
  const servers = globalThis.__streamkeeperServers;
  globalThis.__streamkeeperServers = undefined;
  await servers?.destroy();
}
