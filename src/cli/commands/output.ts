import { CliError, UsageError, str, type CommandSpec, type Parsed } from '../args';
import { cliConfig, print, printJson, withClient } from '../context';
import { outputFiles } from '../pipelines';
import { describeOrFail } from './shared';

export const spec: CommandSpec = {
  name: 'output',
  summary: "Mint presigned GET links to a completed pipeline's outputs in the object store.",
  usage: ['output url <workflowId> [--expires 1h] [--json]'],
  options: {
    expires: { type: 'string', value: 'D', description: 'How long the links work: 90s, 30m, 1h (default), 7d at most' },
    json: { type: 'boolean', description: 'Print JSON' },
  },
  positionals: { min: 2, max: 2, names: '"url" and the workflow id' },
  details: [
    'Reads the result of a completed run and presigns a GET link for each output stored at s3:// (with the',
    "worker's store settings: REELAY_S3_ENDPOINT, REELAY_S3_REGION, the AWS credential chain). The links are",
    'minted here, never kept in a workflow history: anyone holding one can download until it expires.',
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
  const config = await cliConfig();
  const { parseS3Uri } = await import('../../storage/location');
  const { presignGet } = await import('../../storage/s3');
  const { storeForConfig } = await import('../../storage/worker-store');
  const result = await withClient(async (client) => {
    const handle = client.workflow.getHandle(workflowId);
    const desc = await describeOrFail(client, handle);
    if (desc.status.name !== 'COMPLETED') throw new CliError(`${workflowId} is ${desc.status.name.toLowerCase()}: only a completed run has outputs to link`);
    return handle.result();
  });
  const stored = outputFiles(result).filter((f) => /^s3:\/\//i.test(f.path));
  if (!stored.length) throw new CliError(`${workflowId} has no outputs in an object store (its outputs are local files on the worker)`);
  const store = storeForConfig(config);
  const expiresAt = new Date(Date.now() + expiresIn * 1000).toISOString();
  const links = [];
  for (const f of stored) links.push({ label: f.label, uri: f.path, bytes: f.bytes, sha256: f.sha256, url: await presignGet(store, parseS3Uri(f.path, { requireKey: true }), expiresIn), expiresAt });
  store.client.destroy();
  if (values.json) printJson(links);
  else for (const l of links) print(`${l.label}  ${l.uri}\n  ${l.url}`);
  return 0;
}
