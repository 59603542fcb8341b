/**
 * The benchmark's shape: each section measures one thing next to its reference, in the same run, and
 * returns figures the runner prints as a table and writes as JSON.
 */

export interface BenchContext {
  /** CI smoke: tiny sizes and counts, bounded to seconds; the figures only prove the harness works. */
  quick: boolean;
  /** A directory of this run, removed at the end unless --keep. */
  dir: string;
  /** Path of the `temporal` CLI (built from its Go module, never downloaded). */
  temporalCli: string;
  log(line: string): void;
}

export interface Figure {
  /** What is measured: "LipDub end-to-end, median". */
  metric: string;
  value: number;
  unit: string;
  /** What it is measured against, in the same run: "plain script (no Temporal)". */
  reference?: { label: string; value: number; unit: string };
  /** value / reference, when that ratio means something; lower is better unless `higherIsBetter`. */
  ratio?: number;
  higherIsBetter?: boolean;
  /** A target from the issue and whether it was met. */
  target?: { text: string; met: boolean };
  note?: string;
}

export interface SectionResult {
  id: string;
  title: string;
  figures: Figure[];
  /** Raw numbers for the JSON (samples, per-run figures). */
  details?: unknown;
  /** Set by the runner when the section threw: the other sections still run and report. */
  error?: string;
}

export interface BenchSection {
  id: string;
  title: string;
  run(ctx: BenchContext): Promise<SectionResult>;
}
