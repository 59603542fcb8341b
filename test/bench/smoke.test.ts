import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { SECTIONS } from '../../scripts/bench/sections';
import type { SectionResult } from '../../scripts/bench/types';
import { tempDir } from '../support/harness';

const ROOT = path.resolve(__dirname, '../..');

/**
 * `npm run bench -- --quick`: every section runs end to end at tiny sizes and reports finite figures,
 * each with what it is measured against. The figures themselves are not judged here (timing targets
 * belong in the benchmark, not in a test on a busy machine).
 */
describe('benchmark smoke (--quick)', () => {
  it('runs every section and writes every figure with its reference or note', () => {
    const dir = tempDir('bench');
    const json = path.join(dir, 'bench.json');
    const run = spawnSync(process.execPath, ['--import', 'tsx', path.join(ROOT, 'scripts/bench/index.ts'), '--quick', '--json', json], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 12 * 60_000,
    });
    expect({ status: run.status, stderrTail: run.status === 0 ? '' : run.stderr.slice(-3000) }).toEqual({ status: 0, stderrTail: '' });
    const report = JSON.parse(fs.readFileSync(json, 'utf8')) as { quick: boolean; sections: SectionResult[] };
    expect(report.quick).toBe(true);
    expect(report.sections.map((s) => s.id)).toEqual(SECTIONS.map((s) => s.id));
    for (const section of report.sections) {
      expect(section.figures.length).toBeGreaterThan(0);
      for (const f of section.figures) {
        expect({ section: section.id, metric: f.metric, finite: Number.isFinite(f.value) }).toEqual({ section: section.id, metric: f.metric, finite: true });
        if (f.reference) expect(Number.isFinite(f.reference.value)).toBe(true);
      }
    }
    expect(run.stdout).toContain('Reelay benchmark');
    fs.rmSync(dir, { recursive: true, force: true });
  }, 13 * 60_000);
});
