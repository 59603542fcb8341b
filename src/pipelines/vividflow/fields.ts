/** The field audit of the vividflow client (src/providers/fields.ts explains the table; docs/provider-fields.md renders it). */
import type { FieldAudit, ProviderAudit } from '../../providers/fields';

const STATUSES = ['queued', 'processing', 'completed', 'failed', 'cancelled'] as const;

const DIGITS_READ: FieldAudit['wrongType'] = { outcome: 'accepted', does: 'the digits are read as the number' };
const NUMBER_AS_TEXT: FieldAudit['wrongType'] = { outcome: 'accepted', does: 'read as its text' };

const JOB_ID = 'c2c625a3-0fc9-44ba-90e4-25d37428607a';
const RESULT_URL = 'https://storage.googleapis.com/your-bucket/videos/job_123.mp4';

function text(path: string, documented: string, whenMissing: string): FieldAudit {
  return { path, kind: 'text', documented, required: false, whenMissing, wrongType: NUMBER_AS_TEXT };
}

function count(path: string, documented: string, whenMissing = 'undefined; not used by the pipeline'): FieldAudit {
  return { path, kind: 'number', documented, required: false, whenMissing, wrongType: DIGITS_READ };
}

export const VIVIDFLOW_FIELDS: ProviderAudit = {
  provider: 'vividflow',
  doc: 'vividflow.md',
  endpoints: [
    {
      endpoint: 'POST /generate',
      docs: 'vividflow.md § 1. Generate Video (Async Queue), Success Response (202 Accepted)',
      status: 202,
      example: { message: 'Generation job accepted', job_id: JOB_ID, status: 'queued', estimated_wait_time: '~2-5 minutes' },
      fields: [
        {
          path: 'job_id',
          kind: 'id',
          documented: '"job_id": "c2c625a3-0fc9-44ba-90e4-25d37428607a",',
          required: true,
          whenMissing: 'ProviderResponseInvalid naming job_id, not retried (a create, billed): the pipeline has no job to follow',
          idForms: 'string',
        },
        {
          path: 'status',
          kind: 'enum',
          documented: '"status": "queued",',
          required: false,
          whenMissing: 'not needed: the pipeline polls GET /status/{job_id}',
          values: STATUSES,
          unknown: { outcome: 'accepted', does: 'passed through as text; the pipeline polls the status endpoint as usual' },
        },
        text('message', '"message": "Generation job accepted",', 'read as ""'),
        text(
          'estimated_wait_time',
          '"estimated_wait_time": "~2-5 minutes"',
          'the first status call is placed by the documented duration (VIVIDFLOW_JOB_DURATION in its spec) instead of the estimate; unreadable text counts as missing',
        ),
      ],
    },
    {
      endpoint: 'GET /status/{job_id}',
      docs: 'vividflow.md § 2. Check Job Status, Status Values and Response Examples (Queued, Processing, Completed, Failed)',
      // Every field the four examples show, on one answer (a completed job: its result_url is required).
      example: {
        job_id: 'c2c625a3...',
        status: 'completed',
        created_at: '2025-01-15T10:30:00',
        updated_at: '2025-01-15T10:31:00',
        result_url: RESULT_URL,
        metrics: { generation_time: 45.2, spin_up_time: 12.5, total_time: 57.7 },
        error_message: 'Video generation returned no results.',
        message: 'Job completed successfully.',
      },
      fields: [
        {
          path: 'job_id',
          kind: 'id',
          documented: '"job_id": "c2c625a3...",',
          required: false,
          whenMissing: 'the id asked for (an unusable one, such as "..", is ignored the same way)',
          idForms: 'string',
        },
        {
          path: 'status',
          kind: 'enum',
          documented: '"status": "completed",',
          required: true,
          whenMissing: 'ProviderResponseInvalid naming status, retried (a read): the wait is decided on it',
          values: STATUSES,
          unknown: {
            outcome: 'accepted',
            does: 'the pipeline keeps waiting (until its deadline) and logs `Vivid Flow reported status "…" for job …, which the docs do not list; still waiting`',
          },
        },
        {
          path: 'result_url',
          kind: 'url',
          documented: '"result_url": "https://storage.googleapis.com/your-bucket/videos/job_123.mp4",',
          required: true,
          whenMissing:
            'absent before `completed` (as in the docs); on a completed job ProviderResponseInvalid naming result_url, retried (a read): there is nothing to download without it. The download activity reads it fresh from this endpoint (signed URLs may expire)',
        },
        {
          path: 'metrics',
          kind: 'object',
          documented: '"metrics": {',
          required: false,
          whenMissing: 'the result has no metrics',
        },
        count('metrics.generation_time', '"generation_time": 45.2,', 'left out of the result\'s metrics'),
        count('metrics.spin_up_time', '"spin_up_time": 12.5,', 'left out of the result\'s metrics'),
        count('metrics.total_time', '"total_time": 57.7', 'left out of the result\'s metrics'),
        text(
          'error_message',
          '"error_message": "Video generation returned no results.",',
          'a failed or cancelled job\'s reason is its `message`; without one, "no reason given (its status answer has no error_message or message)"',
        ),
        text('message', '"message": "Job completed successfully."', 'no text after the status in the progress log; not the failure reason'),
        text('created_at', '"created_at": "2025-01-15T10:30:00",', 'undefined; not used by the pipeline'),
        text('updated_at', '"updated_at": "2025-01-15T10:31:00",', 'undefined; not used by the pipeline'),
      ],
    },
    {
      endpoint: 'POST /cancel/{job_id}',
      docs: 'vividflow.md § 3. Cancel Job, Success Response (200 OK)',
      example: { message: 'Job cancelled successfully', job_id: 'c2c625a3...' },
      fields: [
        text('message', '"message": "Job cancelled successfully",', 'read as "" (the 200 alone says the job was cancelled)'),
        {
          path: 'job_id',
          kind: 'id',
          documented: '"job_id": "c2c625a3..."',
          required: false,
          whenMissing: 'the id asked for',
          idForms: 'string',
        },
      ],
    },
    {
      endpoint: 'GET /history',
      docs: 'vividflow.md § 4. Get History (read only to reconcile a generate whose answer was lost)',
      example: {
        count: 1,
        jobs: [{ job_id: 'abc123', status: 'completed', prompt: 'A sunset...', result_url: 'https://storage.googleapis.com/b/v.mp4', created_at: '2025-01-15T10:30:00' }],
      },
      fields: [
        count('count', '"count": 3,', 'read as the number of jobs listed'),
        {
          path: 'jobs',
          kind: 'array',
          documented: '"jobs": [',
          required: true,
          whenMissing: 'ProviderResponseInvalid naming jobs, retried (a read); the generate is left unsure (OutcomeUnknown) once retries run out',
        },
        {
          path: 'jobs[].job_id',
          kind: 'id',
          documented: '"job_id": "abc123",',
          required: true,
          whenMissing: 'ProviderResponseInvalid naming job_id, retried (a read): a job found without an id cannot be followed',
          idForms: 'string',
        },
        {
          path: 'jobs[].status',
          kind: 'enum',
          documented: '"status": "completed",',
          required: false,
          whenMissing: 'not needed (the reconcile goes by prompt and creation time)',
          values: STATUSES,
          unknown: { outcome: 'accepted', does: 'passed through as text; not used' },
        },
        {
          path: 'jobs[].prompt',
          kind: 'text',
          documented: '"prompt": "A sunset...",',
          required: true,
          whenMissing: 'ProviderResponseInvalid naming prompt, retried (a read): without it no job can be told to be ours, and a second generate would be billed',
          wrongType: { outcome: 'rejected', does: 'ProviderResponseInvalid naming prompt (it is compared with the prompt sent)' },
        },
        {
          path: 'jobs[].result_url',
          kind: 'url',
          documented: '"result_url": "https://...",',
          required: false,
          whenMissing: 'undefined; not used (the download reads result_url from GET /status/{job_id}); a value that is not an http(s) URL is ignored',
        },
        text(
          'jobs[].created_at',
          '"created_at": "2025-01-15T10:30:00"',
          'the job cannot be ruled out by age: a matching prompt still counts as ours, two as unsure (OutcomeUnknown)',
        ),
      ],
    },
    {
      endpoint: 'GET /usage',
      docs: 'vividflow.md § 5. Get Usage (read by a batch\'s balance check)',
      example: {
        total_jobs: 25,
        completed_jobs: 23,
        failed_jobs: 2,
        queued_jobs: 0,
        recent_24h_jobs: 5,
        credits_remaining: 495,
        daily_limit: 500,
        reset_time: '2025-01-16T00:00:00',
      },
      fields: [
        count('total_jobs', '"total_jobs": 25,'),
        count('completed_jobs', '"completed_jobs": 23,'),
        count('failed_jobs', '"failed_jobs": 2,'),
        count('queued_jobs', '"queued_jobs": 0,'),
        count('recent_24h_jobs', '"recent_24h_jobs": 5,'),
        {
          path: 'credits_remaining',
          kind: 'number',
          documented: '"credits_remaining": 495,',
          required: true,
          whenMissing: 'ProviderResponseInvalid naming credits_remaining, retried (a read): the balance check has nothing to compare',
          wrongType: DIGITS_READ,
        },
        count('daily_limit', '"daily_limit": 500,'),
        text('reset_time', '"reset_time": "2025-01-16T00:00:00"', 'undefined; not used by the pipeline'),
      ],
    },
  ],
};
