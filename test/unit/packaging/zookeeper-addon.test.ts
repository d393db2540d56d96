/**
 * The fix the product's build of the `zookeeper` addon carries (tools/node/runtime.mjs): it must
 * apply to the addon source npm installs, arm the reconnect timer at both exits of `yield()`,
 * apply once, and refuse a source it was not written for rather than build something else.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from '@jest/globals';
import { repoRoot } from '../../support/packaging/manifests.js';

const { withReconnectFix } = (await import(pathToFileURL(join(repoRoot, 'tools', 'node', 'runtime.mjs')).href)) as { withReconnectFix: (source: string) => string };
const published = readFileSync(join(repoRoot, 'node_modules', 'zookeeper', 'src', 'node-zk.cpp'), 'utf8');

describe("the zookeeper addon's reconnect fix", () => {
  it('arms the timer where yield() returned with no socket and where a connect failed at once', () => {
    const fixed = withReconnectFix(published);
    expect(fixed.match(/zookeeperReconnectFix/g)).toHaveLength(2);
    expect(fixed).toContain('uv_timer_start(&zk_timer, &zk_timer_cb, backoff, backoff);');
    expect(fixed).toContain('if (rc != ZINVALIDSTATE) uv_timer_start(&zk_timer, &zk_timer_cb, 100, 100);');
    expect(fixed.length).toBeGreaterThan(published.length);
  });

  it('applies once', () => {
    const fixed = withReconnectFix(published);
    expect(withReconnectFix(fixed)).toBe(fixed);
  });

  it('refuses a source it was not written for', () => {
    expect(() => withReconnectFix(published.replace('if (fd == -1 ) {', 'if (fd < 0) {'))).toThrow(/not the source the reconnect fix was written for/);
  });
});
