import fs from 'node:fs';
import { runCli, type CliRun } from '../support/cli';
import { startHarness, tempDir, type Harness } from '../support/harness';
import { cliCases, makeFixtures, type Fixtures } from './catalogue';
import { expectNoCrash, mapLimit, providerCalls, workflowsOnQueue } from './support';

/**
 * Every CLI case of the catalogue through the real `reelay` (a child process), against the test dev server
 * and a worker on this file's queue: exit 2, one line on stderr naming the flag or field, no stack trace,
 * nothing on stdout, nothing started, no provider called.
 */

describe('bad CLI flags', () => {
  let h: Harness;
  let f: Fixtures;
  const runs = new Map<string, CliRun>();

  beforeAll(async () => {
    h = await startHarness();
    await h.startWorker();
    f = makeFixtures(tempDir('bad-input-cli'));
    // Asking to wait for the result: a refusal must still come before any connection.
    const results = await mapLimit(cliCases, 3, (c) => {
      const argv = c.argv(f);
      return runCli(h, [...argv, argv[0] === 'batch' ? '--watch' : '--wait']);
    });
    cliCases.forEach((c, i) => runs.set(c.id, results[i]!));
  });
  afterAll(async () => {
    await h?.close();
    if (f) fs.rmSync(f.dir, { recursive: true, force: true });
  });

  it.each(cliCases.map((c) => [c.id, c] as const))('%s: exit 2, naming the field on one line of stderr', (_id, c) => {
    const r = runs.get(c.id)!;
    expect({ id: c.id, code: r.code, stdout: r.stdout }).toEqual({ id: c.id, code: 2, stdout: '' });
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`^reelay ${c.argv(f)[0]}: `));
    expect(lines[0]).toContain(c.expectField);
    expect(lines[0]).toMatch(c.expectReason);
    expectNoCrash(r);
  });

  it('started nothing and called no provider', async () => {
    expect(await workflowsOnQueue(h)).toEqual([]);
    expect(providerCalls(h)).toBe(0);
    expect(fs.readdirSync(h.outputRoot)).toEqual([]);
  });
});
