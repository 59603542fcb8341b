import { CliError, UsageError, bool, str, type CommandSpec, type Parsed } from '../args';
import { cliConfig, print, printJson, withClient } from '../context';
import { formatBytes, formatTable } from '../render';
import { describeOrFail } from './shared';

export const spec: CommandSpec = {
  name: 'output',
  summary: "Mint presigned GET links to a finished run's outputs in the object store (never stored anywhere).",
  usage: ['output url <workflowId> [--expires 1h] [--json]'],
  options: {
    expires: { type: 'string', value: 'D', description: 'How long the links work: 90s, 30m, 1h (default), 7d at most' },
    json: { type: 'boolean', description: 'Print JSON (an array of links)' },
  },
  positionals: { min: 2, max: 2, names: '"url" and the workflow id' },
  details: [
    "Reads the finished run's result from Temporal (or, for a run that failed part-way, what its failure says",
    'was delivered), finds every s3:// output it names (each language of a localize run, a batch\'s',
    'results.jsonl and manifest …) and presigns a GET link for each with this machine\'s store settings',
    '(REELAY_S3_ENDPOINT, REELAY_S3_REGION, the AWS credential chain). The links are minted here and kept in',
    'no workflow history: anyone holding one can download until it expires.',
    'Exit status: 0 when links were printed, 1 when the run names no stored output (still running, or its',
    "outputs are local files on a worker), 2 for bad usage.",
  ],
};

/** `90s`, `30m`, `1h`, `7d` or plain seconds, in seconds. */
export function parseExpires(raw: string): number {
  const m = /^(\d+)\s*([smhd]?)$/.exec(raw.trim());
  if (!m) throw new UsageError(`--expires: ${JSON.stringify(raw)} is not a duration like 90s, 30m, 1h or 7d`);
  const seconds = Number(m[1]) * { '': 1, s: 1, m: 60, h: 3600, d: 86_400 }[m[2] as '' | 's' | 'm' | 'h' | 'd'];
  if (seconds < 1 || seconds > 7 * 86_400) throw new UsageError(`--expires: ${raw} is outside 1s … 7d (the longest a presigned URL lives)`);
  return seconds;
}

export async function run({ values, positionals }: Parsed): Promise<number> {
  const [verb, workflowId] = positionals as [string, string];
  if (verb !== 'url') throw new UsageError(`unknown "output" subcommand "${verb}" (there is: url)`);
  const expiresIn = parseExpires(str(values, 'expires') ?? '1h');
  const json = bool(values, 'json');
  const config = await cliConfig();
  const { outputLinks } = await import('../../client/outputs');
  return withClient(async (client) => {
    const handle = client.workflow.getHandle(workflowId);
    const desc = await describeOrFail(client, handle);
    if (desc.status.name === 'RUNNING') throw new CliError(`${workflowId} is still running: its outputs are known once it has finished (reelay watch ${workflowId})`);
    const links = await outputLinks(client, workflowId, { expiresInSeconds: expiresIn, storage: config.storage });
    if (!links.length) {
      throw new CliError(`${workflowId} (${desc.status.name.toLowerCase()}) has no outputs in an object store${config.storage.output.kind === 'local' ? ' (its outputs are local files on the worker; REELAY_OUTPUT_URL is not s3:// here)' : ''}`);
    }
    if (json) {
      printJson(links);
      return 0;
    }
    const table = formatTable(['OUTPUT', 'URI', 'SIZE'], links.map((l) => [l.label, l.uri, l.bytes !== undefined ? formatBytes(l.bytes) : '']));
    for (const line of table.trimEnd().split('\n')) print(line);
    print(`Links valid until ${links[0]!.expiresAt}:`);
    for (const l of links) print(`  ${l.label}: ${l.url}`);
    return 0;
  });
}
