/**
 * `npm run bench`: what orchestration costs, each figure measured next to its reference in the same run,
 * on embedded dev servers and the sandbox (loopback only). Prints a table and writes JSON.
 *
 *   npm run bench                          every section
 *   npm run bench -- --only overhead,history
 *   npm run bench -- --quick               the CI smoke: tiny sizes, bounded to seconds
 *   options: --json FILE (default .reelay/bench/results.json, written after each section), --keep (keep the work directory)
 *   exit 1 when a section failed (the others still run and report)
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { ensureTemporalCli } from '../../src/dev/temporal';
import { SECTIONS } from './sections';
import { cores, round } from './support';
import type { BenchContext, Figure, SectionResult } from './types';

function fmt(n: number, unit: string): string {
  if (!Number.isFinite(n)) return '—';
  const abs = Math.abs(n);
  const s = abs >= 100 ? n.toFixed(0) : abs >= 10 ? n.toFixed(1) : abs >= 1 ? n.toFixed(2) : n.toPrecision(2);
  return unit ? `${s} ${unit}` : s;
}

function table(results: SectionResult[]): string {
  const rows: string[][] = [['', 'measured', 'reference', 'ratio', 'target / note']];
  for (const r of results) {
    rows.push([`[${r.title}]`, '', '', '', r.error ? `FAILED: ${r.error.split('\n')[0]}` : '']);
    for (const f of r.figures as Figure[]) {
      rows.push([
        `  ${f.metric}`,
        fmt(f.value, f.unit),
        f.reference ? `${fmt(f.reference.value, f.reference.unit)} (${f.reference.label})` : '',
        f.ratio !== undefined ? `${fmt(f.ratio, '')}×` : '',
        [f.target ? `${f.target.met ? 'met' : 'MISSED'}: ${f.target.text}` : '', f.note ?? ''].filter(Boolean).join('; '),
      ]);
    }
  }
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows.map((r) => r.map((cell, c) => cell.padEnd(widths[c]!)).join('  ').trimEnd()).join('\n');
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: { quick: { type: 'boolean' }, only: { type: 'string' }, json: { type: 'string' }, keep: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) {
    process.stdout.write(`Usage: npm run bench -- [--quick] [--only ${SECTIONS.map((s) => s.id).join(',')}] [--json FILE] [--keep]\n`);
    return 0;
  }
  const only = values.only?.split(',').map((s) => s.trim());
  const unknown = only?.filter((id) => !SECTIONS.some((s) => s.id === id)) ?? [];
  if (unknown.length) throw new Error(`--only: unknown section(s) ${unknown.join(', ')}; there are ${SECTIONS.map((s) => s.id).join(', ')}`);
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const t0 = Date.now();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'reelay-bench-'));
  const ctx: BenchContext = {
    quick: Boolean(values.quick),
    dir,
    temporalCli: ensureTemporalCli({ log: (l) => process.stderr.write(`${l}\n`) }).path,
    log: (line) => process.stderr.write(`[bench ${((Date.now() - t0) / 1000).toFixed(1).padStart(6)}s] ${line}\n`),
  };
  const results: SectionResult[] = [];
  const machine = { cpus: cores(), cpuModel: os.cpus()[0]?.model ?? '?', memoryGiB: round(os.totalmem() / 2 ** 30, 1), node: process.version, platform: `${os.platform()} ${os.release()}` };
  const out = values.json ?? path.join('.reelay', 'bench', 'results.json');
  fs.mkdirSync(path.dirname(path.resolve(out)), { recursive: true });
  // Written after every section, so a long run that is stopped keeps what it measured.
  const save = () =>
    fs.writeFileSync(out, JSON.stringify({ date: new Date().toISOString(), quick: ctx.quick, machine, seconds: round((Date.now() - t0) / 1000, 1), sections: results }, null, 2));
  try {
    for (const section of SECTIONS.filter((s) => !only || only.includes(s.id))) {
      ctx.log(`${section.title}…`);
      const started = Date.now();
      try {
        results.push(await section.run(ctx));
        ctx.log(`${section.title}: done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
      } catch (err) {
        // One broken section must not cost the figures of the others (a full run takes most of an hour).
        ctx.log(`${section.title}: FAILED after ${((Date.now() - started) / 1000).toFixed(1)} s: ${(err as Error).stack ?? String(err)}`);
        results.push({ id: section.id, title: section.title, figures: [], error: (err as Error).message ?? String(err) });
      }
      save();
    }
  } finally {
    if (!values.keep) fs.rmSync(dir, { recursive: true, force: true });
    else ctx.log(`kept ${dir}`);
  }
  process.stdout.write(`Reelay benchmark${ctx.quick ? ' (quick smoke: figures are not meaningful)' : ''} — ${machine.cpus} cores, ${machine.memoryGiB} GiB, Node ${machine.node}\n\n`);
  process.stdout.write(table(results) + '\n\n');
  process.stdout.write(`JSON: ${out}\n`);
  const failed = results.filter((r) => r.error).map((r) => r.id);
  if (failed.length) process.stderr.write(`bench: section(s) failed: ${failed.join(', ')}\n`);
  return failed.length ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`bench: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(2);
  },
);
