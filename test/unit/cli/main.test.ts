import { describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot, streamkeeperVersion } from '../../../src/package-info.js';
import { commands } from '../../../src/cli/commands/index.js';
import { runCli } from '../../support/cli.js';

describe('streamkeeper CLI', () => {
  it('lists every subcommand in its help', async () => {
    const result = await runCli(['--help']);
    expect(result.code).toBe(0);
    for (const name of ['operator', 'driver', 'executor', 'local', 'demo', 'version']) {
      expect(result.stdout).toMatch(new RegExp(`^  ${name}\\s`, 'm'));
    }
  });

  it('exits 2 with the help text when no command is given', async () => {
    const result = await runCli([]);
    expect(result.code).toBe(2);
    expect(result.stdout).toContain('Usage: streamkeeper <command>');
  });

  it.each(commands.map((c) => c.name))('prints help for `%s --help` and exits 0', async (name) => {
    const result = await runCli([name, '--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`Usage: streamkeeper ${name}`);
    expect(result.stdout).toContain('--log-level');
  });

  it('rejects an unknown command with exit code 2', async () => {
    const result = await runCli(['launch']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('unknown command "launch"');
  });

  it('rejects an unknown flag with exit code 2 and names it', async () => {
    const result = await runCli(['version', '--frobnicate']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("'--frobnicate'");
    expect(result.stderr).toContain('streamkeeper version --help');
  });

  it('rejects an invalid --log-level with exit code 2', async () => {
    const result = await runCli(['version', '--log-level', 'loud']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('log level must be one of');
  });

  it('rejects an invalid STREAMKEEPER_LOG_LEVEL with exit code 2', async () => {
    const result = await runCli(['version'], { STREAMKEEPER_LOG_LEVEL: 'chatty' });
    expect(result.code).toBe(2);
  });

  it('prints the package version', async () => {
    const plain = await runCli(['version']);
    expect(plain).toEqual({ code: 0, stdout: `streamkeeper ${streamkeeperVersion()}\n`, stderr: '' });
    const json = await runCli(['version', '--json']);
    expect(JSON.parse(json.stdout)).toEqual({ version: streamkeeperVersion(), node: process.versions.node });
  });

  it('rejects an unknown `local` action with exit code 2', async () => {
    const result = await runCli(['local', 'sideways']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('expected one of up, down, status, logs');
  });

  it('runs from the package bin as a real process', () => {
    const bin = join(packageRoot, 'bin', 'streamkeeper.js');
    expect(existsSync(join(packageRoot, 'dist', 'cli', 'run.js'))).toBe(true);
    const result = spawnSync(process.execPath, [bin, 'version'], { encoding: 'utf8' });
    expect(result.status).toBe(0);
    expect(result.stdout).toBe(`streamkeeper ${streamkeeperVersion()}\n`);
    const bad = spawnSync(process.execPath, [bin, 'version', '--nope'], { encoding: 'utf8' });
    expect(bad.status).toBe(2);
  });
});
