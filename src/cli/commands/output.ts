import { CliError, UsageError, bool, str, type CommandSpec, type Parsed } from '../args';
import { cliConfig, print, printJson, withClient } from '../context';
import { formatBytes, formatTable } from '../render';
import { describeOrFail } from './shared';

export const spec: CommandSpec = {
  name: 'output',
  summary: "Mint presigned links to a run's outputs in the object store (never stored anywhere).",
  usage: ['output url <workflowId> [--expires 1h] [--json]'],
  options: {
    expires: { type: 'string', value: 'DURATION', description: 'How long the links work: 90s, 15m, 1h (default), 2d; at most 7d' },
    json: { type: 'boolean', description: 'Print JSON' },
  },
  positionals: { min: 2, max: 2, names: '"url" and the workflow id' },
  details: [
    'Reads the finished run\'s result from Temporal, finds every s3:// output it names (each language of a',
    'localize run, a batch\'s results.jsonl …) and signs a GET link for each with this machine\'s store',
    'credentials (the AWS SDK chain: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE, roles) and',
    'REELAY_S3_ENDPOINT/REGION/FORCE_PATH_STYLE. A link is a credential until it expires: it is printed',
    'here and nowhere else, never in a workflow\'s history.',
    'Exit status: 0 when links were printed, 1 when the run has none (still running, failed without outputs,',
    'or outputs on a worker\'s disk), 2 for bad usage.',
  ],
};

export async function run({ values, positionals }: Parsed): Promise<number> {
  const [sub, workflowId] = positionals as [string, string];
  if (sub !== 'url') throw new UsageError(`unknown output subcommand "${sub}" (one of: url)`);
  const { MAX_LINK_SECONDS, outputLinks, parseExpiry } = await import('../../client/outputs');
  const raw = str(values, 'expires') ?? '1h';
  const seconds = parseExpiry(raw);
  if (seconds === undefined || seconds < 1 || seconds > MAX_LINK_SECONDS) {
    throw new UsageError(`--expires: "${raw}" must be a duration from 1s to 7d, like 90s, 15m, 1h or 2d`);
  }
  const json = bool(values, 'json');
  const config = await cliConfig();
  return withClient(async (client) => {
    const handle = client.workflow.getHandle(workflowId);
    const desc = await describeOrFail(client, handle);
    if (desc.status.name === 'RUNNING') throw new CliError(`${workflowId} is still running; its outputs are known once it has finished (reelay watch ${workflowId})`);
    const links = await outputLinks(client, workflowId, { expiresInSeconds: seconds, storage: config.storage });
    if (json) {
      printJson({ workflowId, links });
      return links.length ? 0 : 1;
    }
    if (!links.length) {
      print(`${workflowId} (${desc.status.name}) names no outputs in an object store${config.storage.output.kind === 'local' ? '; outputs here go to a local directory (REELAY_OUTPUT_URL is not s3://)' : ''}.`);
      return 1;
    }
    const table = formatTable(['OUTPUT', 'URI', 'SIZE'], links.map((l) => [l.label, l.uri, l.bytes !== undefined ? formatBytes(l.bytes) : '']));
    for (const line of table.trimEnd().split('\n')) print(line);
    print(`Links valid until ${links[0]!.expiresAt}:`);
    for (const l of links) print(`  ${l.label}: ${l.url}`);
    return 0;
  });
}
