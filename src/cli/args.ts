import { parseArgs } from 'node:util';

/** Bad usage or bad input: the CLI prints the message and exits 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** An operational failure already explained to the user: exit 1 with this message, no stack. */
export class CliError extends Error {
  override name = 'CliError';
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

export interface OptionSpec {
  type: 'string' | 'boolean';
  multiple?: boolean;
  short?: string;
  /** Shown in the help after the flag, e.g. `PATH|URL`. */
  value?: string;
  description: string;
}

export interface CommandSpec {
  name: string;
  summary: string;
  /** Usage lines without the leading `reelay `. */
  usage: string[];
  /** Free text after the options (examples, notes). */
  details?: string[];
  options: Record<string, OptionSpec>;
  positionals: { min: number; max: number; names: string };
}

export type OptionValues = Record<string, string | boolean | string[] | boolean[] | undefined>;

export interface Parsed {
  values: OptionValues;
  positionals: string[];
}

const HELP_OPTION: OptionSpec = { type: 'boolean', short: 'h', description: 'Show this help' };

export function parseCommandArgs(spec: CommandSpec, argv: string[]): Parsed & { help: boolean } {
  const options: Record<string, { type: 'string' | 'boolean'; multiple?: boolean; short?: string }> = {};
  for (const [name, o] of Object.entries({ ...spec.options, help: HELP_OPTION })) {
    options[name] = { type: o.type, ...(o.multiple ? { multiple: true } : {}), ...(o.short ? { short: o.short } : {}) };
  }
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (err) {
    // parseArgs messages are long and mention `strict`; keep the part that names the flag.
    const message = (err as Error).message.split('. ')[0]!.replace(/^Unknown option '(.+?)'.*/, "unknown option '$1'");
    throw new UsageError(`${message} (see reelay ${spec.name} --help)`);
  }
  const values = parsed.values as OptionValues;
  const help = values.help === true;
  if (!help) {
    const n = parsed.positionals.length;
    if (n < spec.positionals.min) throw new UsageError(`missing ${spec.positionals.names} (see reelay ${spec.name} --help)`);
    if (n > spec.positionals.max) throw new UsageError(`unexpected argument '${parsed.positionals[spec.positionals.max]}' (see reelay ${spec.name} --help)`);
  }
  return { values, positionals: parsed.positionals, help };
}

export function formatHelp(spec: CommandSpec): string {
  const rows = Object.entries({ ...spec.options, help: HELP_OPTION }).map(([name, o]) => {
    const flag = `${o.short ? `-${o.short}, ` : ''}--${name}${o.type === 'string' ? ` ${o.value ?? 'VALUE'}` : ''}`;
    return [flag, o.description + (o.multiple ? ' (repeatable)' : '')] as const;
  });
  const width = Math.min(34, Math.max(...rows.map(([f]) => f.length)) + 2);
  const lines = [
    `${spec.summary}`,
    '',
    'Usage:',
    ...spec.usage.map((u) => `  reelay ${u}`),
    '',
    'Options:',
    ...rows.map(([flag, desc]) => (flag.length + 2 > width ? `  ${flag}\n  ${' '.repeat(width)}${desc}` : `  ${flag.padEnd(width)}${desc}`)),
  ];
  if (spec.details?.length) lines.push('', ...spec.details);
  return lines.join('\n') + '\n';
}

// Typed accessors: they name the flag in every error.

export function str(values: OptionValues, name: string): string | undefined {
  const v = values[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw new UsageError(`--${name} takes a value`);
  return v;
}

export function list(values: OptionValues, name: string, { commaSeparated = false } = {}): string[] | undefined {
  const v = values[name];
  if (v === undefined) return undefined;
  const items = (Array.isArray(v) ? v : [v]).map(String);
  return commaSeparated ? items.flatMap((s) => s.split(',')).map((s) => s.trim()).filter(Boolean) : items;
}

export function bool(values: OptionValues, name: string): boolean {
  return values[name] === true;
}

const DECIMAL = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

export function num(values: OptionValues, name: string, { integer = false, min }: { integer?: boolean; min?: number } = {}): number | undefined {
  const raw = str(values, name);
  if (raw === undefined) return undefined;
  // Decimal only: Number() would also take "0x10", "0b11" and "" (16, 3 and 0), which nobody means.
  const n = DECIMAL.test(raw.trim()) ? Number(raw) : NaN;
  if (!Number.isFinite(n)) throw new UsageError(`--${name}: "${raw}" is not a number`);
  if (integer && !Number.isInteger(n)) throw new UsageError(`--${name}: "${raw}" is not a whole number`);
  if (min !== undefined && n < min) throw new UsageError(`--${name}: must be at least ${min}`);
  return n;
}

export function oneOf<T extends string>(values: OptionValues, name: string, allowed: readonly T[]): T | undefined {
  const raw = str(values, name);
  if (raw === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(raw)) throw new UsageError(`--${name}: must be one of ${allowed.join(', ')}, not "${raw}"`);
  return raw as T;
}

/** `LANG=VALUE` pairs, e.g. `--audio es-MX=./es.mp3`; split at the first `=`. */
export function pairs(values: OptionValues, name: string, valueName: string): Array<{ key: string; value: string }> | undefined {
  const items = list(values, name);
  if (!items) return undefined;
  return items.map((item) => {
    const eq = item.indexOf('=');
    if (eq <= 0 || eq === item.length - 1) throw new UsageError(`--${name}: expected LANG=${valueName}, got "${item}"`);
    return { key: item.slice(0, eq), value: item.slice(eq + 1) };
  });
}
