import type { PollingConfig } from '../../contract/common';
import type { EdgeSpec, PipelineEntry, StartCli } from '../spec';
import type { Text2videoPipelineParsed } from './input';

/** The server renders a story in minutes (audio, captions, search, footage, render); poll 5 s → 30 s, give up after 2 h. */
export const TEXT2VIDEO_POLLING_DEFAULTS = {
  initialIntervalSeconds: 5,
  maxIntervalSeconds: 30,
  backoffCoefficient: 1.5,
  deadlineMinutes: 120,
  hints: true,
  timeScale: 1,
} as const satisfies PollingConfig;

const cli: StartCli = {
  usage: ['start text2video --text "…"|--text-file PATH [--max-resubmits N] [options]'],
  examples: ['start text2video --text-file ./story.txt --watch'],
  flags: {
    text: { kind: 'custom', type: 'string', value: 'TEXT', description: 'the story or text to turn into a video' },
    'text-file': { kind: 'custom', type: 'string', value: 'PATH', description: 'read the text from this file (instead of --text)' },
    'max-resubmits': { kind: 'number', field: 'maxResubmits', value: 'N', description: 'resubmit a job the server forgot at most N times (0–10, default 3)' },
    'output-name': { kind: 'string', field: 'outputName', value: 'FILE', description: 'name of the delivered file (default video.mp4)' },
  },
  apply(input, read) {
    const text = read.str('text');
    const textFile = read.str('text-file');
    if (text !== undefined && textFile !== undefined) throw read.usageError('--text and --text-file: give one of them, not both');
    const value = textFile !== undefined ? read.readTextFile('text-file', textFile) : text;
    if (value !== undefined) input.text = value;
  },
};

const edge: EdgeSpec<Text2videoPipelineParsed> = {
  files: () => [],
  summary: (i, t) => `text2video: ${t.oneLine(i.text, 70)}`,
  keyHint: (i) => i.text.slice(0, 30),
};

export const text2videoSpec = {
  workflowType: 'text2videoPipeline',
  idPrefix: 'text2video',
  provider: 'text2video',
  title: 'text2video',
  startable: true,
  batchItem: true,
  cost: 'free',
  pacedTaskQueue: false,
  cli,
  edge,
} as const satisfies PipelineEntry;
