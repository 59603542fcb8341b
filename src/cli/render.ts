import type { PipelineProgress } from '../contract/progress';

/**
 * Terminal rendering with plain ANSI escapes: progress bars, tables, and a live area that redraws in
 * place on a TTY and falls back to appended lines (only what changed) everywhere else.
 */

export interface Styler {
  bold(s: string): string;
  dim(s: string): string;
  green(s: string): string;
  red(s: string): string;
  yellow(s: string): string;
  cyan(s: string): string;
}

export function styler(stream: NodeJS.WriteStream | { isTTY?: boolean }): Styler {
  const on = Boolean(stream.isTTY) && !process.env.NO_COLOR && process.env.TERM !== 'dumb';
  const wrap = (open: number, close: number) => (s: string) => (on ? `\x1b[${open}m${s}\x1b[${close}m` : s);
  return { bold: wrap(1, 22), dim: wrap(2, 22), green: wrap(32, 39), red: wrap(31, 39), yellow: wrap(33, 39), cyan: wrap(36, 39) };
}

const PLAIN = styler({ isTTY: false });

export function progressBar(percent: number, width = 24): string {
  const p = Math.max(0, Math.min(100, Number.isFinite(percent) ? percent : 0));
  const full = Math.round((p / 100) * width);
  return `[${'█'.repeat(full)}${'░'.repeat(width - full)}]`;
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[u]}`;
}

export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

/** `2025-01-31 14:05:09` in local time: what a person scanning a table wants. */
export function formatTime(d: Date | undefined): string {
  if (!d) return '-';
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

const ANSI = /\x1b\[[0-9;]*[A-Za-z]/g;
export function visibleLength(s: string): number {
  return s.replace(ANSI, '').length;
}

/** Cut a line to `width` visible characters (ANSI sequences kept intact, the style reset at the end). */
export function truncate(s: string, width: number): string {
  if (visibleLength(s) <= width) return s;
  let out = '';
  let seen = 0;
  for (let i = 0; i < s.length; ) {
    ANSI.lastIndex = i;
    const m = ANSI.exec(s);
    if (m && m.index === i) {
      out += m[0];
      i += m[0].length;
      continue;
    }
    if (seen >= width - 1) break;
    out += s[i];
    seen++;
    i++;
  }
  return out + '…' + (out.includes('\x1b[') ? '\x1b[0m' : '');
}

export function formatTable(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(visibleLength(h), ...rows.map((r) => visibleLength(r[i] ?? ''))));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c + ' '.repeat(widths[i]! - visibleLength(c))))
      .join('  ')
      .trimEnd();
  return [line(headers), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n') + '\n';
}

export type Outcome = 'RUNNING' | 'COMPLETED' | 'FAILED' | 'CANCELLED' | 'TERMINATED' | 'TIMED_OUT' | 'CONTINUED_AS_NEW' | 'UNKNOWN';

export function colorStatus(status: string, st: Styler = PLAIN): string {
  switch (status) {
    case 'COMPLETED':
      return st.green(status);
    case 'RUNNING':
      return st.cyan(status);
    case 'FAILED':
    case 'TERMINATED':
    case 'TIMED_OUT':
      return st.red(status);
    case 'CANCELLED':
      return st.yellow(status);
    default:
      return status;
  }
}

/** What the renderer knows about one workflow at one moment. */
export interface WatchedState {
  workflowId: string;
  /** A short label shown before the bar (e.g. `LipDub es-MX, fr-FR`); defaults to the workflow id. */
  label?: string;
  status: Outcome;
  progress?: PipelineProgress;
  /** Why no progress is shown (no worker answering the query yet, …). */
  note?: string;
  /** Failure message once closed. */
  failure?: string;
}

/** The lines of one workflow's block: bar, percent, stage, then the last `logLines` log lines. */
export function progressBlock(s: WatchedState, opts: { logLines?: number; barWidth?: number; labelWidth?: number; st?: Styler } = {}): string[] {
  const st = opts.st ?? PLAIN;
  const p = s.progress;
  const percent = s.status === 'COMPLETED' ? 100 : (p?.percent ?? 0);
  const label = (s.label ?? s.workflowId).padEnd(opts.labelWidth ?? 0);
  const stage = s.status === 'RUNNING' ? (p?.stage ?? 'waiting for a worker') : colorStatus(s.status, st) + (p && p.stage.toUpperCase() !== s.status ? st.dim(` (${p.stage})`) : '');
  const bar = progressBar(percent, opts.barWidth);
  const coloredBar = s.status === 'COMPLETED' ? st.green(bar) : s.status === 'RUNNING' ? st.cyan(bar) : s.status === 'CANCELLED' ? st.yellow(bar) : st.red(bar);
  const lines = [`${st.bold(label)} ${coloredBar} ${String(percent).padStart(3)}%  ${stage}`];
  const log = p?.log.slice(-(opts.logLines ?? 1)) ?? [];
  for (const l of log) lines.push(`    ${st.dim(l.at.slice(11, 19))} ${l.message}`);
  if (s.note && !log.length) lines.push(`    ${st.dim(s.note)}`);
  if (s.failure) lines.push(`    ${st.red('✗')} ${s.failure}`);
  if (p?.leftAtProvider?.length) lines.push(`    ${st.yellow('left at provider:')} ${p.leftAtProvider.join('; ')}`);
  return lines;
}

/**
 * A block of lines redrawn in place on a TTY. Lines are cut to the terminal width so that the number
 * of rows to move up is exactly the number of lines drawn.
 */
export class LiveArea {
  private drawn = 0;
  private last = '';
  constructor(private readonly stream: NodeJS.WriteStream) {}

  get interactive(): boolean {
    return Boolean(this.stream.isTTY);
  }

  update(lines: string[]): void {
    const width = Math.max(20, (this.stream.columns || 100) - 1);
    const cut = lines.map((l) => truncate(l, width));
    if (this.drawn && cut.join('\n') === this.last) return;
    this.last = cut.join('\n');
    let out = this.drawn ? `\x1b[${this.drawn}F\x1b[0J` : '';
    out += cut.map((l) => l + '\n').join('');
    this.stream.write(out);
    this.drawn = cut.length;
  }

  /** Keep what is on screen and start fresh below it. */
  done(): void {
    this.drawn = 0;
  }
}

/**
 * The non-TTY twin of the live area: prints a line when a workflow's stage, percent or status changes,
 * and each new log line once, prefixed by the workflow's label.
 */
export class AppendLog {
  private readonly seen = new Map<string, { key: string; logAt: string }>();
  constructor(private readonly stream: NodeJS.WritableStream) {}

  update(states: WatchedState[]): void {
    for (const s of states) {
      const label = s.label ?? s.workflowId;
      const prev = this.seen.get(s.workflowId) ?? { key: '', logAt: '' };
      const p = s.progress;
      for (const l of p?.log ?? []) {
        if (l.at > prev.logAt) this.stream.write(`[${label}] ${l.at.slice(11, 19)} ${l.message}\n`);
      }
      const percent = s.status === 'COMPLETED' ? 100 : (p?.percent ?? 0);
      const key = `${s.status}|${p?.stage ?? ''}|${percent}|${s.note ?? ''}`;
      if (key !== prev.key) {
        const stage = s.status === 'RUNNING' ? (p?.stage ?? s.note ?? 'waiting for a worker') : `${s.status}${p && p.stage.toUpperCase() !== s.status ? ` (${p.stage})` : ''}`;
        this.stream.write(`[${label}] ${String(percent).padStart(3)}% ${stage}${s.failure ? ` — ${s.failure}` : ''}\n`);
      }
      this.seen.set(s.workflowId, { key, logAt: p?.log[p.log.length - 1]?.at ?? prev.logAt });
    }
  }
}

/** Renders a set of watched workflows to a stream: live on a TTY, appended lines otherwise. */
export class ProgressView {
  private readonly live?: LiveArea;
  private readonly append?: AppendLog;
  private readonly st: Styler;
  constructor(
    stream: NodeJS.WriteStream,
    private readonly opts: { logLines?: number; header?: () => string[] } = {},
  ) {
    this.st = styler(stream);
    if (stream.isTTY) this.live = new LiveArea(stream);
    else this.append = new AppendLog(stream);
  }

  update(states: WatchedState[]): void {
    if (this.append) return this.append.update(states);
    const labelWidth = Math.max(...states.map((s) => (s.label ?? s.workflowId).length));
    const lines = [...(this.opts.header?.() ?? [])];
    for (const s of states) lines.push(...progressBlock(s, { logLines: this.opts.logLines, labelWidth, st: this.st }));
    this.live!.update(lines);
  }

  done(): void {
    this.live?.done();
  }
}
