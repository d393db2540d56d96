/**
 * The fixes the product's build of the `zookeeper` addon carries (tools/node/runtime.mjs): they
 * must apply to the addon source npm installs, arm the reconnect timer at both exits of `yield()`,
 * poll each socket through a descriptor of the addon's own that is dropped as soon as the client's
 * socket changes, apply once, and refuse a source they were not written for rather than build
 * something else.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from '@jest/globals';
import { repoRoot } from '../../support/packaging/manifests.js';

const { withReconnectFix, withSocketPollFix, withAddonFixes } = (await import(pathToFileURL(join(repoRoot, 'tools', 'node', 'runtime.mjs')).href)) as Record<'withReconnectFix' | 'withSocketPollFix' | 'withAddonFixes', (source: string) => string>;
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

describe("the zookeeper addon's socket poll fix", () => {
  it('polls a close-on-exec duplicate of each new socket and drops it once the client has another socket or none', () => {
    const fixed = withSocketPollFix(published);
    expect(fixed).toContain('int own = fcntl(client_fd, F_DUPFD_CLOEXEC, 0);');
    expect(fixed).toContain('fcntl(client_fd, F_SETFD, flags | FD_CLOEXEC);');
    expect(fixed).toContain('int err = io ? uv_poll_init(Nan::GetCurrentEventLoop(), io, own) : UV_ENOMEM;');
    // The old poll goes right after zookeeper_interest, before the number can be reused elsewhere.
    expect(fixed).toMatch(/int rc = zookeeper_interest\(zhandle, &fd, &interest, &tv\);\s+\/\/ zookeeperSocketPollFix[^\n]*\n\s+if \(zk_io && !polls_socket\(fd\)\) \{\s+drop_poll\(\);/);
    expect(fixed).toContain('return now.st_ino == zk_io_ino && now.st_dev == zk_io_dev;');
    // No poll is made on the client's own descriptor any more.
    expect(fixed).not.toMatch(/uv_poll_init\(Nan::GetCurrentEventLoop\(\), zk_io, fd\)/);
    expect(fixed).not.toContain('if (oldFd != fd) {');
  });

  it('applies once, with or without the reconnect fix, and both go into the build', () => {
    const fixed = withSocketPollFix(published);
    expect(withSocketPollFix(fixed)).toBe(fixed);
    const both = withAddonFixes(published);
    expect(both).toBe(withSocketPollFix(withReconnectFix(published)));
    expect(both).toBe(withReconnectFix(fixed));
    expect(both).toContain('zookeeperReconnectFix');
    expect(withAddonFixes(both)).toBe(both);
  });

  it('refuses a source it was not written for', () => {
    expect(() => withSocketPollFix(published.replace('        if (oldFd != fd) {', '        if (fd != oldFd) {'))).toThrow(/not the source the socket poll fix was written for/);
  });
});
