/** The field audit of the aistudio client (src/providers/fields.ts explains the table; docs/provider-fields.md renders it). */
import type { FieldAudit, ProviderAudit } from '../../providers/fields';

const STATUSES = ['PENDING', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED'] as const;

const DIGITS_READ: FieldAudit['wrongType'] = { outcome: 'accepted', does: 'the digits are read as the number' };
const NUMBER_AS_TEXT: FieldAudit['wrongType'] = { outcome: 'accepted', does: 'read as its text' };

const JOB_ID = '550e8400-e29b-41d4-a716-446655440000';
const VIDEO_URL = 'https://res.cloudinary.com/your-cloud/video/upload/v123/ai_studio/videos/550e8400.mp4';

/** The VideoJob of the docs' create example (Quick Start § 1). */
const CREATED_JOB = {
  id: JOB_ID,
  userId: 'user-123',
  prompt: 'A cinematic shot of a sunset over mountains',
  model: 'veo-3.1-fast-generate-preview',
  resolution: '1080p',
  aspectRatio: '16:9',
  durationSeconds: 8,
  status: 'PENDING',
  statusMessage: 'Job queued for processing',
  progressPercentage: 0,
  logs: [{ timestamp: '2024-01-15T10:30:00Z', level: 'info', message: '📝 Job created' }],
  tokensConsumed: 50,
  createdAt: '2024-01-15T10:30:00Z',
};

type Use = 'create' | 'poll' | 'list';

/**
 * The optional VideoJob fields as read on one endpoint: `prefix` is where the job sits, `quote` the doc
 * line that shows the field there, `use` what the pipeline does with it.
 */
function videoJobRows(prefix: string, quote: (field: string) => string | null, use: Use): FieldAudit[] {
  const notUsed = 'undefined; not used by the pipeline';
  const match = 'undefined: the job cannot be ruled out on it, so the reconcile matches on the other fields (an unsure match is OutcomeUnknown)';
  const row = (field: string, kind: 'text' | 'number' | 'url', whenMissing: string): FieldAudit => ({
    path: `${prefix}${field}`,
    kind,
    documented: quote(field),
    required: false,
    whenMissing,
    ...(kind === 'text' ? { wrongType: NUMBER_AS_TEXT } : kind === 'number' ? { wrongType: DIGITS_READ } : {}),
  });
  const rows: FieldAudit[] = [
    row('userId', 'text', notUsed),
    row(
      'prompt',
      'text',
      use === 'list' ? 'read as no prompt: the job matches only a run that sent none (a run from an initial image)' : notUsed,
    ),
    row('model', 'text', use === 'list' ? match : notUsed),
    row('resolution', 'text', use === 'list' ? match : notUsed),
    row('aspectRatio', 'text', use === 'list' ? match : notUsed),
    row('durationSeconds', 'number', use === 'list' ? match : notUsed),
    row(
      'statusMessage',
      'text',
      use === 'poll' ? 'a failed job\'s reason is its errorMessage; without both, "no reason given (its answer has no errorMessage or statusMessage)"' : notUsed,
    ),
    row(
      'progressPercentage',
      'number',
      use === 'poll' ? 'the progress bar stays where it was and the poll pace falls back to the documented duration; values outside 0–100 are clamped' : notUsed,
    ),
    {
      path: `${prefix}logs`,
      kind: 'array',
      documented: quote('logs'),
      required: false,
      whenMissing: use === 'poll' ? 'read as [] (no lines mirrored into the progress log)' : 'read as []; not used by the pipeline',
    },
    row('logs[].timestamp', 'text', notUsed),
    row('logs[].level', 'text', notUsed),
    row('logs[].message', 'text', use === 'poll' ? 'the entry is dropped (not mirrored into the progress log)' : 'the entry is dropped'),
    row(
      'tokensConsumed',
      'number',
      use === 'poll' ? notUsed : 'the result has no tokensConsumed and the progress line no token count (the docs say a job costs 50)',
    ),
    row('createdAt', 'text', use === 'list' ? 'the job cannot be ruled out by age: a matching one still counts as ours, two as unsure (OutcomeUnknown)' : notUsed),
  ];
  if (use !== 'create') {
    rows.push(
      row('cloudinaryUrl', 'url', 'undefined; not used: the video is fetched from the Location of GET /video-jobs/{id}/download; a value that is not an http(s) URL is ignored'),
      row('errorMessage', 'text', use === 'poll' ? 'a failed job\'s reason is its statusMessage; without both, "no reason given (its answer has no errorMessage or statusMessage)"' : notUsed),
      row('completedAt', 'text', notUsed),
    );
  }
  return rows;
}

/** Doc lines of the create example (Quick Start § 1), by field. */
const CREATE_LINES: Record<string, string> = {
  userId: '"userId": "user-123",',
  prompt: '"prompt": "A cinematic shot of a sunset over mountains",',
  model: '"model": "veo-3.1-fast-generate-preview",',
  resolution: '"resolution": "1080p",',
  aspectRatio: '"aspectRatio": "16:9",',
  durationSeconds: '"durationSeconds": 8,',
  statusMessage: '"statusMessage": "Job queued for processing",',
  progressPercentage: '"progressPercentage": 0,',
  logs: '"logs": [',
  'logs[].timestamp': '"timestamp": "2024-01-15T10:30:00Z",',
  'logs[].level': '"level": "info",',
  'logs[].message': '"message": "📝 Job created"',
  tokensConsumed: '"tokensConsumed": 50,',
  createdAt: '"createdAt": "2024-01-15T10:30:00Z"',
};

/** Doc lines that show a field on a polled job (Quick Start § 2 and § 3, the frontend example), else the VideoJob reference. */
const POLL_LINES: Record<string, string> = {
  statusMessage: '"statusMessage": "Video generation in progress...",',
  progressPercentage: '"progressPercentage": 45,',
  logs: '"logs": [',
  'logs[].timestamp': '"timestamp": "2024-01-15T10:30:00Z",',
  'logs[].level': '"level": "info",',
  'logs[].message': '"message": "🚀 Starting video generation"',
  cloudinaryUrl: '"cloudinaryUrl": "https://res.cloudinary.com/your-cloud/video/upload/v123/ai_studio/videos/550e8400.mp4",',
  errorMessage: "console.error('Generation failed:', updatedJob.errorMessage);",
  completedAt: '"completedAt": "2024-01-15T10:35:00Z"',
};
const VIDEO_JOB_REF = '**Response:** VideoJob object';
const LIST_REF = '"jobs": [/* array of VideoJob objects */],';

export const AISTUDIO_FIELDS: ProviderAudit = {
  provider: 'aistudio',
  doc: 'aistudio.md',
  endpoints: [
    {
      endpoint: 'POST /video-jobs',
      docs: 'aistudio.md § Quick Start 1. Create a Video Generation Job, Response (202 Accepted)',
      status: 202,
      example: CREATED_JOB,
      fields: [
        {
          path: 'id',
          kind: 'id',
          documented: '"id": "550e8400-e29b-41d4-a716-446655440000",',
          required: true,
          whenMissing: 'ProviderResponseInvalid naming id, not retried (a create, 50 tokens): the pipeline has no job to follow',
          idForms: 'string',
        },
        {
          path: 'status',
          kind: 'enum',
          documented: '"status": "PENDING",',
          required: false,
          whenMissing: 'not needed: the pipeline polls GET /video-jobs/{id}',
          values: STATUSES,
          unknown: { outcome: 'accepted', does: 'passed through as text; the pipeline polls as usual' },
        },
        ...videoJobRows('', (f) => CREATE_LINES[f] ?? null, 'create'),
      ],
    },
    {
      endpoint: 'GET /video-jobs/{id}',
      docs: 'aistudio.md § GET /api/v1/video-jobs/{jobId} (Response: VideoJob object, Job Statuses) and Quick Start 2–3',
      // Every VideoJob field on one answer (the docs' examples show subsets: running, succeeded).
      example: {
        ...CREATED_JOB,
        status: 'SUCCEEDED',
        statusMessage: 'Video generation completed successfully!',
        progressPercentage: 100,
        cloudinaryUrl: VIDEO_URL,
        errorMessage: 'Video generation failed',
        completedAt: '2024-01-15T10:35:00Z',
      },
      fields: [
        {
          path: 'id',
          kind: 'id',
          documented: '"id": "550e8400-e29b-41d4-a716-446655440000",',
          required: false,
          whenMissing: 'the id asked for (an unusable one, such as "..", is ignored the same way)',
          idForms: 'string',
        },
        {
          path: 'status',
          kind: 'enum',
          documented: '"status": "RUNNING",',
          required: true,
          whenMissing: 'ProviderResponseInvalid naming status, retried (a read): the wait is decided on it',
          values: STATUSES,
          unknown: {
            outcome: 'accepted',
            does: 'the pipeline keeps waiting (until its deadline) and logs `AI Studio reported status "…" for job …, which the docs do not list; still waiting`',
          },
        },
        ...videoJobRows('', (f) => POLL_LINES[f] ?? VIDEO_JOB_REF, 'poll'),
      ],
    },
    {
      endpoint: 'GET /video-jobs',
      docs: 'aistudio.md § GET /api/v1/video-jobs (read only to reconcile a create whose answer was lost)',
      example: { jobs: [{ ...CREATED_JOB, cloudinaryUrl: VIDEO_URL, errorMessage: 'Video generation failed', completedAt: '2024-01-15T10:35:00Z' }], total: 42 },
      fields: [
        {
          path: 'jobs',
          kind: 'array',
          documented: LIST_REF,
          required: true,
          whenMissing: 'ProviderResponseInvalid naming jobs, retried (a read); the create is left unsure (OutcomeUnknown) once retries run out',
        },
        {
          path: 'total',
          kind: 'number',
          documented: '"total": 42',
          required: false,
          whenMissing: 'read as the number of jobs listed (paging stops at a short page or one older than the create)',
          wrongType: DIGITS_READ,
        },
        {
          path: 'jobs[].id',
          kind: 'id',
          documented: LIST_REF,
          required: true,
          whenMissing: 'ProviderResponseInvalid naming id, retried (a read): a job found without an id cannot be followed',
          idForms: 'string',
        },
        {
          path: 'jobs[].status',
          kind: 'enum',
          documented: LIST_REF,
          required: false,
          whenMissing: 'not needed (the reconcile goes by parameters and creation time)',
          values: STATUSES,
          unknown: { outcome: 'accepted', does: 'passed through as text; not used' },
        },
        ...videoJobRows('jobs[].', () => LIST_REF, 'list'),
      ],
    },
  ],
};
