/** The field audit of the text2video client (src/providers/fields.ts explains the table; docs/provider-fields.md renders it). */
import type { FieldAudit, ProviderAudit } from '../../providers/fields';

const STATUSES = ['queued', 'processing', 'completed', 'failed'] as const;

const DIGITS_READ: FieldAudit['wrongType'] = { outcome: 'accepted', does: 'the digits are read as the number' };
const NUMBER_AS_TEXT: FieldAudit['wrongType'] = { outcome: 'accepted', does: 'read as its text' };

/** The fields a job carries in GET /status/{job_id} and, per job, in GET /jobs (`prefix` is where the job sits). */
function jobRows(prefix: string, quote: (field: string) => string): FieldAudit[] {
  return [
    {
      path: `${prefix}progress`,
      kind: 'number',
      documented: quote('progress'),
      required: false,
      whenMissing: 'the progress bar stays where it was and the poll pace falls back to backoff; values outside 0–100 are clamped, anything not a number is ignored',
      wrongType: DIGITS_READ,
    },
    {
      path: `${prefix}message`,
      kind: 'text',
      documented: quote('message'),
      required: false,
      whenMissing: 'read as "" (a failed job\'s reason then comes from `error`, else a default naming its last log line)',
      wrongType: NUMBER_AS_TEXT,
    },
    {
      path: `${prefix}created_at`,
      kind: 'number',
      documented: quote('created_at'),
      required: false,
      whenMissing:
        prefix === ''
          ? 'createdAt undefined; not used by the pipeline'
          : 'the job cannot be ruled out by age: after a lost submit answer the reconcile says unsure (OutcomeUnknown) rather than submit twice',
      wrongType: DIGITS_READ,
    },
    {
      path: `${prefix}logs`,
      kind: 'array',
      documented: quote('logs'),
      required: false,
      whenMissing: 'read as [] (no lines mirrored into the progress log); entries that are not text are dropped',
    },
  ];
}

export const TEXT2VIDEO_FIELDS: ProviderAudit = {
  provider: 'text2video',
  doc: 'text2video.md',
  endpoints: [
    {
      endpoint: 'POST /generate',
      docs: 'text2video.md § 1. Generate Video, Response (202 Accepted)',
      status: 202,
      example: { job_id: '550e8400-e29b-41d4-a716-446655440000', status: 'queued', message: 'Video generation started' },
      fields: [
        {
          path: 'job_id',
          kind: 'id',
          documented: '"job_id": "550e8400-e29b-41d4-a716-446655440000",',
          required: true,
          whenMissing: 'ProviderResponseInvalid naming job_id, not retried (a create): the pipeline has no job to follow',
          idForms: 'string',
        },
        {
          path: 'status',
          kind: 'enum',
          documented: '"status": "queued",',
          required: false,
          whenMissing: 'not needed: the pipeline polls GET /status/{job_id} for the status',
          values: STATUSES,
          unknown: { outcome: 'accepted', does: 'passed through as text; the pipeline polls the status endpoint as usual' },
        },
        {
          path: 'message',
          kind: 'text',
          documented: '"message": "Video generation started"',
          required: false,
          whenMissing: 'read as ""',
          wrongType: NUMBER_AS_TEXT,
        },
      ],
    },
    {
      endpoint: 'GET /status/{job_id}',
      docs: 'text2video.md § 2. Get Job Status, Response (200 OK) and Possible Status Values',
      example: {
        status: 'processing',
        progress: 60,
        message: 'Generating video search queries...',
        created_at: 1648656000,
        logs: ['Starting audio generation...', 'Audio generation completed', 'Starting search query generation...'],
        // Assumed (not in the docs): a failed job's reason. The docs-minimal sandbox never sends it.
        error: 'Error generating search queries',
      },
      fields: [
        {
          path: 'status',
          kind: 'enum',
          documented: '"status": "processing",',
          required: true,
          whenMissing: 'ProviderResponseInvalid naming status, retried (a read): the wait is decided on it',
          values: STATUSES,
          unknown: {
            outcome: 'accepted',
            does: 'the pipeline keeps waiting (until its deadline) and logs `text2video reported status "…" for job …, which the docs do not list; still waiting`',
          },
        },
        ...jobRows('', (f) =>
          ({
            progress: '"progress": 60,',
            message: '"message": "Generating video search queries...",',
            created_at: '"created_at": 1648656000,',
            logs: '"logs": [',
          })[f]!,
        ),
        {
          path: 'error',
          kind: 'text',
          documented: null,
          required: false,
          whenMissing: 'a failed job\'s reason is its `message`; without one, "no reason given" and its last log line; without logs, "no reason given (its status answer has no message or logs)"',
          wrongType: NUMBER_AS_TEXT,
        },
      ],
    },
    {
      endpoint: 'GET /jobs',
      docs: 'text2video.md § 4. List All Jobs (read only to reconcile a submit whose answer was lost)',
      example: {
        jobs: {
          job_id_1: {
            status: 'completed',
            progress: 100,
            message: 'Video generation completed',
            created_at: 1648656000,
            output_file: 'output/video_job_id_1.mp4',
            logs: ['Starting audio generation...', 'Audio generation completed'],
          },
        },
      },
      fields: [
        {
          path: 'jobs',
          kind: 'object',
          documented: '"jobs": {',
          required: true,
          whenMissing: 'ProviderResponseInvalid naming jobs, retried (a read); the submit is left unsure (OutcomeUnknown) once retries run out',
        },
        {
          path: 'jobs.*.status',
          kind: 'enum',
          documented: '"status": "completed",',
          required: false,
          whenMissing: 'not needed (the reconcile goes by creation time)',
          values: STATUSES,
          unknown: { outcome: 'accepted', does: 'passed through as text; not used' },
        },
        ...jobRows('jobs.*.', (f) =>
          ({
            progress: '"progress": 100,',
            message: '"message": "Video generation completed",',
            created_at: '"created_at": 1648656000,',
            logs: '"logs": [',
          })[f]!,
        ),
        {
          path: 'jobs.*.output_file',
          kind: 'text',
          documented: '"output_file": "output/video_job_id_1.mp4",',
          required: false,
          whenMissing: 'not needed (the video is fetched from GET /download/{job_id})',
          wrongType: NUMBER_AS_TEXT,
        },
      ],
    },
  ],
};
