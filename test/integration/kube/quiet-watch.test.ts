/**
 * A kind with nothing happening must cost the API server nothing but an open watch. client-node's
 * Watch aborts a stream that delivers no bytes for 30 s; an informer that took that for a broken
 * connection would list the kind again every ~30 s in every quiet namespace.
 */
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { setTimeout as sleep } from 'node:timers/promises';
import { Informer, listerWatcher } from '../../../src/machinery/informer.js';
import type { ConfigMap } from '../../../src/kube/objects.js';
import { createLogger } from '../../../src/logging/logger.js';
import { MemoryStream } from '../../support/memory-stream.js';
import { adminKubeClient, createNamespace, deleteNamespace } from '../../harness/kube.js';

let namespace: string;

beforeAll(async () => {
  namespace = await createNamespace('quiet-watch');
});

afterAll(async () => {
  await deleteNamespace(namespace);
});

it('keeps watching a quiet kind past the client idle limit without listing again', async () => {
  const log = new MemoryStream();
  const client = adminKubeClient();
  const informer = new Informer<ConfigMap>({
    name: 'configmaps',
    listerWatcher: listerWatcher(client, 'ConfigMap', { namespace, labelSelector: 'quiet-watch=nothing' }),
    logger: createLogger({ level: 'warn', format: 'json', destination: log }),
  });
  informer.start();
  try {
    await informer.waitForSync();
    await sleep(40_000);
    // Still live: an object created now reaches the cache through the watch, not a list.
    await client.create('ConfigMap', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'late', namespace, labels: { 'quiet-watch': 'nothing' } } });
    const deadline = Date.now() + 10_000;
    while (informer.get({ namespace, name: 'late' }) === undefined && Date.now() < deadline) await sleep(50);
    expect(informer.get({ namespace, name: 'late' })).toBeDefined();
    expect(informer.listCount).toBe(1);
    expect(log.jsonLines().map((line) => line.msg)).toEqual([]);
  } finally {
    await informer.stop();
  }
}, 90_000);
