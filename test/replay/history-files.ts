import fs from 'node:fs';
import zlib from 'node:zlib';
import path from 'node:path';
import type { History } from '@temporalio/common/lib/proto-utils';
import * as proto from '@temporalio/proto';
import { patchProtobufRoot } from '@temporalio/proto/lib/patch-protobuf-root';

/**
 * The recorded histories that CI replays against the current workflow code, and their index: one JSON
 * history per file (the Temporal CLI's `workflow show --output json` form, read by `historyFromJSON`),
 * plus `index.json` with what a history cannot say about itself — the workflow id it ran under (child
 * ids and markers derive from it), the scenario, and where and when it was recorded.
 */
export const HISTORIES_DIR = path.join(__dirname, 'histories');
export const INDEX_FILE = 'index.json';

export interface RecordedHistory {
  /** File name under histories/, `<workflowType>--<scenario>[--<n>].json`. */
  file: string;
  workflowType: string;
  scenario: string;
  workflowId: string;
  /** What the scenario does, for the reader of a failing replay. */
  description: string;
  sdkVersion: string;
  gitCommit: string;
  recordedAt: string;
  events: number;
  /** Set when recorded against another workflows module than src/workflows (the test fixtures). */
  workflowsModule?: string;
}

export interface HistoryIndex {
  /** Written by scripts/record-histories.ts; every entry stands for runs that may still exist in production. */
  note: string;
  histories: RecordedHistory[];
}

export const INDEX_NOTE =
  'Recorded by `npm run record-histories`; replayed by test/replay/replay.test.ts. Each file stands for workflow runs that may still be open in production: add new recordings beside the old ones, and remove a file only when no run of that code can exist any more (docs/evolving-workflows.md).';

export function readIndex(dir = HISTORIES_DIR): HistoryIndex {
  const file = path.join(dir, INDEX_FILE);
  if (!fs.existsSync(file)) return { note: INDEX_NOTE, histories: [] };
  return JSON.parse(fs.readFileSync(file, 'utf8')) as HistoryIndex;
}

export function writeIndex(index: HistoryIndex, dir = HISTORIES_DIR): void {
  const histories = [...index.histories].sort((a, b) => a.file.localeCompare(b.file));
  fs.writeFileSync(path.join(dir, INDEX_FILE), JSON.stringify({ note: INDEX_NOTE, histories }, null, 2) + '\n');
}

/** `<workflowType>--<scenario>.json`, then `--2`, `--3`… for later recordings kept beside it. */
export function historyFileName(workflowType: string, scenario: string, n = 1): string {
  return `${workflowType}--${scenario}${n > 1 ? `--${n}` : ''}.json`;
}

/**
 * protobufjs' proto3 JSON codec from the copy of protobufjs that built @temporalio/proto's types.
 * `historyToJSON`/`historyFromJSON` of @temporalio/common 1.24 load protobufjs from their own package, and
 * npm installs a second copy there (the top level holds grpc's protobufjs 7), so their `instanceof Type`
 * check fails with "type must be a Type" — for `Worker.runReplayHistory` given JSON too. Converting here
 * with the matching copy gives the same JSON (the Temporal CLI's `--output json` form) and a real History.
 */
type ProtoJson = {
  toJson(type: unknown, message: unknown): unknown;
  fromJson(type: unknown, json: unknown, options?: { ignoreUnknownFields?: boolean }): History | null;
};
const protojson = require(require.resolve('protobufjs/ext/protojson', { paths: [path.dirname(require.resolve('@temporalio/proto/package.json'))] })) as ProtoJson;
const historyType = (patchProtobufRoot(proto) as unknown as { lookupType(name: string): unknown }).lookupType('temporal.api.history.v1.History');

/** A history (as `handle.fetchHistory()` returns it) as pretty-printed proto3 JSON. */
export function historyToJson(history: History): string {
  const message = proto.temporal.api.history.v1.History.fromObject(history);
  return JSON.stringify(protojson.toJson(historyType, message), null, 2) + '\n';
}

/** A history file's JSON back into a History that `Worker.runReplayHistory` accepts as is. */
export function historyFromJson(json: unknown): History {
  const history = protojson.fromJson(historyType, json, { ignoreUnknownFields: true });
  if (!history) throw new TypeError('not a history');
  return history;
}

/**
 * A history file is kept under this many bytes. A longer one (a run that filled its event budget before it
 * continued as new) is stored gzipped, as `<name>.json.gz`, under the same bound.
 */
export const HISTORY_FILE_MAX_BYTES = 200_000;

/** The JSON text of a history file (`.json`, or `.json.gz` gunzipped), relative to `dir` or absolute. */
export function readHistoryText(file: string, dir = HISTORIES_DIR): string {
  const bytes = fs.readFileSync(path.resolve(dir, file));
  return (file.endsWith('.gz') ? zlib.gunzipSync(bytes) : bytes).toString('utf8');
}

/** The bytes to write for a history's JSON, and the file name they go under (gzipped when long). */
export function historyFileBytes(fileName: string, json: string): { file: string; bytes: Buffer } {
  return json.length > HISTORY_FILE_MAX_BYTES ? { file: `${fileName}.gz`, bytes: zlib.gzipSync(json, { level: 9 }) } : { file: fileName, bytes: Buffer.from(json) };
}

/** `file` relative to `dir`, or absolute. */
export function readHistoryFile(file: string, dir = HISTORIES_DIR): History {
  return historyFromJson(JSON.parse(readHistoryText(file, dir)));
}

interface JsonEvent {
  eventType?: string;
  [attributes: string]: unknown;
}

/**
 * What a history does, as a set: the kinds of events, the activity types scheduled, child workflow
 * types, signals sent and received, patch markers. Counts, order and timers are left out on purpose —
 * how often a poll loop ran and whether it had to wait at all depend on timing, not on the code — so two
 * recordings of one scenario with the same code have the same shape, and one that took a new (e.g.
 * patched) branch does not. A change that only adds a timer fails replay, and once guarded by
 * patched() it shows in the shape as its marker.
 */
export function historyShape(history: { events?: JsonEvent[] }): string[] {
  const shape = new Set<string>();
  for (const e of history.events ?? []) {
    const type = String(e.eventType ?? '').replace(/^EVENT_TYPE_/, '');
    const attrs = Object.entries(e).find(([k]) => k.endsWith('EventAttributes'))?.[1] as Record<string, unknown> | undefined;
    const name = (v: unknown) => (v as { name?: string } | undefined)?.name ?? '';
    switch (type) {
      case 'ACTIVITY_TASK_SCHEDULED':
        shape.add(`activity ${name(attrs?.activityType)}`);
        break;
      case 'START_CHILD_WORKFLOW_EXECUTION_INITIATED':
        shape.add(`child ${name(attrs?.workflowType)}`);
        break;
      case 'SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED':
        shape.add(`signal-external ${String(attrs?.signalName ?? '')}`);
        break;
      case 'WORKFLOW_EXECUTION_SIGNALED':
        shape.add(`signaled ${String(attrs?.signalName ?? '')}`);
        break;
      case 'MARKER_RECORDED': {
        // A patch marker (`core_patch`) carries `{"id":…,"deprecated":…}` under details["patch-data"].
        const details = (attrs?.details ?? {}) as Record<string, { payloads?: Array<{ data?: string }> }>;
        const data = details['patch-data']?.payloads?.[0]?.data;
        let patchId = '';
        try {
          patchId = data ? ` ${(JSON.parse(Buffer.from(data, 'base64').toString('utf8')) as { id?: string }).id ?? ''}` : '';
        } catch {
          patchId = ' (unreadable patch data)';
        }
        shape.add(`marker ${String(attrs?.markerName ?? '')}${patchId}`);
        break;
      }
      case 'TIMER_STARTED':
      case 'TIMER_FIRED':
      case 'TIMER_CANCELED':
        break;
      default:
        shape.add(type);
    }
  }
  return [...shape].sort();
}
