import { CliError, UsageError, formatHelp, parseCommandArgs, type CommandSpec, type Parsed } from './args';
import * as batch from './commands/batch';
import * as cancel from './commands/cancel';
import * as codecServer from './commands/codec-server';
import * as dashboard from './commands/dashboard';
import * as dev from './commands/dev';
import * as list from './commands/list';
import * as output from './commands/output';
import * as sandbox from './commands/sandbox';
import * as start from './commands/start';
import * as status from './commands/status';
import * as watch from './commands/watch';
import * as worker from './commands/worker';

/**
 * `reelay`: start, follow and manage Reelay pipelines. Command modules load only light code at import
 * time (heavy Temporal modules are imported when a command runs), so `--help` answers fast.
 *
 * Exit status: 0 success; 1 a failed or cancelled pipeline, or an operational error; 2 bad usage or input.
 */

interface Command {
  spec: CommandSpec;
  run(parsed: Parsed): Promise<number>;
}

export const COMMANDS: Record<string, Command> = { start, status, watch, list, cancel, output, batch, worker, sandbox, dev, dashboard, 'codec-server': codecServer };

function topHelp(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length)) + 2;
  return [
    'reelay — run AI video provider jobs (LipDub, DubLab, text2video, Vivid Flow, AI Studio) as durable Temporal workflows',
    '',
    'Usage: reelay <command> [options]    (reelay <command> --help for its options)',
    '',
    'Commands:',
    ...Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}${c.spec.summary}`),
    '',
    'Configuration comes from the environment or a .env file: TEMPORAL_ADDRESS (default 127.0.0.1:7233),',
    'TEMPORAL_NAMESPACE, or a profile of the Temporal config file (TEMPORAL_PROFILE, TEMPORAL_CONFIG_FILE);',
    'REELAY_TASK_QUEUE, REELAY_OUTPUT_DIR or REELAY_OUTPUT_URL (s3://bucket/prefix, with REELAY_S3_ENDPOINT …),',
    '<PROVIDER>_BASE_URL, <PROVIDER>_API_KEY (AISTUDIO_TOKEN);',
    'REELAY_PAYLOAD_KEY turns on payload encryption (docs/security.md). It is checked when a command starts:',
    'a bad value exits 2, naming each variable and what it accepts.',
    'Exit status: 0 success, 1 failed/cancelled pipeline or operational error, 2 bad usage or input.',
    'REELAY_DEBUG=1 prints stack traces.',
    '',
  ].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    const sub = name === 'help' ? rest[0] : undefined;
    if (sub && COMMANDS[sub]) process.stdout.write(formatHelp(COMMANDS[sub].spec));
    else process.stdout.write(topHelp());
    return name === undefined ? 2 : 0;
  }
  const command = COMMANDS[name];
  if (!command) throw new UsageError(`unknown command "${name}" (commands: ${Object.keys(COMMANDS).join(', ')})`);
  const parsed = parseCommandArgs(command.spec, rest);
  if (parsed.help) {
    process.stdout.write(formatHelp(command.spec));
    return 0;
  }
  const { loadDotEnv } = await import('../config');
  loadDotEnv();
  return command.run(parsed);
}

/** Maps every error to one line on stderr and an exit status. */
export function exitCodeForError(err: unknown): { code: number; message: string } {
  const e = err as Error & { problems?: string[] };
  if (err instanceof UsageError) return { code: 2, message: err.message };
  if (e?.name === 'InputError' && Array.isArray(e.problems)) return { code: 2, message: `invalid input: ${e.problems.join('; ')}` };
  // src/config.ts: every bad setting, one per line, already naming its variable.
  if (e?.name === 'ConfigError' && Array.isArray(e.problems)) return { code: 2, message: e.message };
  if (err instanceof CliError) return { code: err.exitCode, message: err.message };
  return { code: 1, message: e?.message ?? String(err) };
}

export function run(argv = process.argv.slice(2)): void {
  const command = argv[0] && !argv[0].startsWith('-') ? argv[0] : undefined;
  // Spans still buffered (a start's) are exported before the process exits.
  main(argv)
    .finally(async () => (await import('../telemetry/shutdown')).shutdownTracing())
    .then(
    (code) => {
      process.exitCode = code;
      // Lingering handles (gRPC channels, timers) must not keep a finished command alive.
      setTimeout(() => process.exit(code), 200).unref();
    },
    (err: unknown) => {
      const { code, message } = exitCodeForError(err);
      process.stderr.write(`reelay${command && COMMANDS[command] ? ` ${command}` : ''}: ${message}\n`);
      if (process.env.REELAY_DEBUG === '1' && err instanceof Error && err.stack) process.stderr.write(err.stack + '\n');
      process.exitCode = code;
      setTimeout(() => process.exit(code), 200).unref();
    },
  );
}

if (require.main === module) run();
