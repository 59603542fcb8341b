/** The field audit of the lipdub client (src/providers/fields.ts explains the table; docs/provider-fields.md renders it). */
import type { EndpointAudit, FieldAudit, ProviderAudit } from '../../providers/fields';

const UPLOAD_STATUSES = ['uploading', 'completed', 'failed'] as const;
const SHOT_STATUSES = ['running', 'finished', 'failed', 'not_started'] as const;
const TRAINING_STATUSES = ['not_started', 'processing', 'finished', 'failed'] as const;
const GENERATE_STATUSES = ['not_started', 'pending', 'running', 'finished', 'failed'] as const;

/** The `data` envelope every documented LipDub answer has: needed, since everything read sits in it. */
const dataEnvelope = (documented: string): FieldAudit => ({
  path: 'data',
  kind: 'object',
  documented,
  required: true,
  whenMissing: 'ProviderResponseInvalid naming `data` (retried on reads, not on creates): the answer has nothing to read',
});

const uploadStatusDoc = '- `upload_status`: `uploading` | `completed` | `failed`';
const shotStatusDoc = '- `shot_status`: `running` | `finished` | `failed` | `not_started`';
const trainingStatusDoc = '- `ai_training_status`: `not_started` | `processing` | `finished` | `failed`';

const endpoints: EndpointAudit[] = [
  {
    endpoint: 'POST /video',
    docs: 'lipdub.md § POST /v1/video',
    example: {
      data: {
        project_id: 12345,
        scene_id: 67890,
        actor_id: 11111,
        video_id: 'uuid-string',
        upload_url: 'https://storage.googleapis.com/upload/video',
        success_url: '/v1/video/success/{video_id}',
        failure_url: '/v1/video/failure/{video_id}',
      },
    },
    fields: [
      dataEnvelope('"data": {'),
      {
        path: 'data.video_id',
        kind: 'id',
        idForms: 'string',
        documented: '"video_id": "uuid-string",',
        required: true,
        whenMissing: 'ProviderResponseInvalid naming video_id, not retried (a create): without it the upload cannot be confirmed or polled',
      },
      {
        path: 'data.upload_url',
        kind: 'url',
        documented: '"upload_url": "https://storage.googleapis.com/...",',
        required: true,
        whenMissing: 'ProviderResponseInvalid naming upload_url, not retried (a create): there is nowhere to PUT the video',
      },
    ],
  },
  {
    endpoint: 'POST /video/success/{video_id}',
    docs: 'lipdub.md § POST /v1/video/success/{video_id}',
    example: { data: { shot_id: 746176, asset_type: 'dubbing-video' } },
    fields: [
      {
        path: 'data',
        kind: 'object',
        documented: '"data": {',
        required: false,
        whenMissing: 'read as an answer without a shot id: the shot id comes from GET /video/status',
      },
      {
        path: 'data.shot_id',
        kind: 'id',
        idForms: 'number',
        documented: '"shot_id": 746176,',
        required: false,
        whenMissing:
          'normal (docs flow, step 3 "Wait for Shot Ready" reads it from video status): the upload activity looks at GET /video/status once, and when that has none either the workflow polls GET /video/status on durable timers until it has one (digits that are not a whole number are refused)',
      },
    ],
  },
  {
    endpoint: 'GET /video/status/{video_id}',
    docs: 'lipdub.md § GET /v1/video/status/{video_id}',
    example: { data: { shot_id: 746176, upload_status: 'completed', shot_status: 'finished', ai_training_status: 'finished' } },
    fields: [
      dataEnvelope('"data": {'),
      {
        path: 'data.shot_id',
        kind: 'id',
        idForms: 'number',
        documented: '"shot_id": 746176,',
        required: false,
        whenMissing: 'the shot is not made yet: the workflow polls again (backoff, within the pipeline deadline) until it appears',
      },
      {
        path: 'data.upload_status',
        kind: 'enum',
        values: UPLOAD_STATUSES,
        documented: uploadStatusDoc,
        required: false,
        whenMissing: 'the shot id alone decides: the workflow keeps polling until it appears; `failed` fails the pipeline (ProviderJobFailed)',
        unknown: { outcome: 'accepted', does: 'the workflow keeps waiting for the shot id, with a line in its progress log' },
      },
      {
        path: 'data.shot_status',
        kind: 'enum',
        values: SHOT_STATUSES,
        documented: shotStatusDoc,
        required: false,
        whenMissing: 'reads `not_started`; nothing decides on it here (the shot wait polls GET /shots/{shot_id}/status)',
        unknown: { outcome: 'accepted', does: 'passed through as text; nothing decides on it here' },
      },
      {
        path: 'data.ai_training_status',
        kind: 'enum',
        values: TRAINING_STATUSES,
        documented: trainingStatusDoc,
        required: false,
        whenMissing: 'reads `not_started`; nothing decides on it here (the shot wait polls GET /shots/{shot_id}/status)',
        unknown: { outcome: 'accepted', does: 'passed through as text; nothing decides on it here' },
      },
    ],
  },
  {
    endpoint: 'POST /audio',
    docs: 'lipdub.md § POST /v1/audio',
    example: {
      data: {
        audio_id: 'cc2c8712-da4c-4401-ad5d-dd1c83af210c',
        upload_url: 'https://storage.googleapis.com/upload/audio',
        success_url: '/v1/audio/success/{audio_id}',
        failure_url: '/v1/audio/failure/{audio_id}',
      },
    },
    fields: [
      dataEnvelope('"data": {'),
      {
        path: 'data.audio_id',
        kind: 'id',
        idForms: 'string',
        documented: '"audio_id": "cc2c8712-da4c-4401-ad5d-dd1c83af210c",',
        required: true,
        whenMissing: 'ProviderResponseInvalid naming audio_id, not retried (a create): the audio cannot be confirmed or used',
      },
      {
        path: 'data.upload_url',
        kind: 'url',
        documented: '"upload_url": "https://storage.googleapis.com/...",',
        required: true,
        whenMissing: 'ProviderResponseInvalid naming upload_url, not retried (a create): there is nowhere to PUT the audio',
      },
    ],
  },
  {
    endpoint: 'GET /audio/status/{audio_id}',
    docs: 'lipdub.md § GET /v1/audio/status/{audio_id}',
    example: { data: { audio_id: 'cc2c8712-da4c-4401-ad5d-dd1c83af210c', upload_status: 'completed' } },
    fields: [
      dataEnvelope('"data": {'),
      {
        path: 'data.audio_id',
        kind: 'id',
        idForms: 'string',
        documented: '"audio_id": "cc2c8712-da4c-4401-ad5d-dd1c83af210c",',
        required: false,
        whenMissing: 'the id asked for',
      },
      {
        path: 'data.upload_status',
        kind: 'enum',
        values: UPLOAD_STATUSES,
        documented: uploadStatusDoc,
        required: true,
        whenMissing: 'ProviderResponseInvalid naming upload_status (retried): a reused audio id cannot be checked without it',
        unknown: {
          outcome: 'accepted',
          does: 'read as text; a reused audio id that is not `completed` is refused by the pipeline (AudioNotReady, naming the status)',
        },
      },
    ],
  },
  {
    endpoint: 'GET /audio',
    docs: 'lipdub.md § GET /v1/audio',
    example: {
      data: [
        {
          audio_id: 'string',
          upload_status: 'completed',
          content_type: 'audio/mpeg',
          file_name: 'audio.MP3',
          created_at: '2026-02-17T02:20:42Z',
        },
      ],
      count: 1,
    },
    fields: [
      {
        path: 'data',
        kind: 'array',
        documented: '"data": [',
        required: true,
        whenMissing: 'ProviderResponseInvalid naming `data` (retried): an upload retry cannot tell whether an earlier attempt finished',
      },
      {
        path: 'data[].audio_id',
        kind: 'id',
        idForms: 'string',
        documented: '"audio_id": "string",',
        required: true,
        whenMissing: 'ProviderResponseInvalid naming audio_id (retried): an entry that cannot be reused or told apart',
      },
      {
        path: 'data[].upload_status',
        kind: 'enum',
        values: UPLOAD_STATUSES,
        documented: '"upload_status": "completed",',
        required: false,
        whenMissing: 'the entry is not taken for a completed upload: the retry uploads the audio again',
        unknown: { outcome: 'accepted', does: 'the entry is not taken for a completed upload: the retry uploads the audio again' },
      },
      {
        path: 'data[].file_name',
        kind: 'text',
        documented: '"file_name": "audio.MP3",',
        required: false,
        whenMissing: 'the entry is not recognised as an earlier attempt\'s (Reelay\'s marker is in the file name): the retry uploads the audio again',
        wrongType: { outcome: 'accepted', does: 'read as its digits (so never matches a marker)' },
      },
      {
        path: 'count',
        kind: 'number',
        documented: '"count": 1',
        required: false,
        whenMissing: 'the length of `data`',
        wrongType: { outcome: 'accepted', does: 'ignored: the length of `data`' },
      },
    ],
  },
  {
    endpoint: 'GET /shots',
    docs: 'lipdub.md § GET /v1/shots',
    example: {
      data: [
        {
          shot_id: 746176,
          shot_label: 'string',
          shot_project_id: 12345,
          shot_scene_id: 67890,
          shot_project_name: 'string',
          shot_scene_name: 'string',
        },
      ],
      count: 1,
    },
    fields: [
      {
        path: 'data',
        kind: 'array',
        documented: '"data": [',
        required: true,
        whenMissing: 'ProviderResponseInvalid naming `data` (retried): an upload retry cannot tell whether an earlier attempt made a shot',
      },
      {
        path: 'data[].shot_id',
        kind: 'id',
        idForms: 'number',
        documented: '"shot_id": 746176,',
        required: true,
        whenMissing: 'ProviderResponseInvalid naming shot_id (retried): a shot that cannot be reused',
      },
      {
        path: 'data[].shot_scene_name',
        kind: 'text',
        documented: '"shot_scene_name": "string"',
        required: false,
        whenMissing:
          'the shot is not recognised as an earlier attempt\'s (Reelay\'s marker is in the scene name): the retry then asks GET /video/status of the earlier attempt\'s video, and uploads again only when that was not confirmed',
        wrongType: { outcome: 'accepted', does: 'read as its digits (so never matches a marker)' },
      },
      {
        path: 'data[].shot_label',
        kind: 'text',
        documented: '"shot_label": "string",',
        required: false,
        whenMissing: 'undefined; a label, nothing decides on it',
        wrongType: { outcome: 'accepted', does: 'read as its digits' },
      },
      {
        path: 'data[].shot_project_name',
        kind: 'text',
        documented: '"shot_project_name": "string",',
        required: false,
        whenMissing: 'undefined; a label, nothing decides on it',
        wrongType: { outcome: 'accepted', does: 'read as its digits' },
      },
      {
        path: 'count',
        kind: 'number',
        documented: '"count": 1',
        required: false,
        whenMissing: 'the length of `data`',
        wrongType: { outcome: 'accepted', does: 'ignored: the length of `data`' },
      },
    ],
  },
  {
    endpoint: 'GET /shots/{shot_id}/status',
    docs: 'lipdub.md § GET /v1/shots/{shot_id}/status',
    example: { data: { shot_status: 'running', ai_training_status: 'not_started' } },
    fields: [
      dataEnvelope('"data": {'),
      {
        path: 'data.shot_status',
        kind: 'enum',
        values: SHOT_STATUSES,
        documented: shotStatusDoc,
        required: true,
        whenMissing: 'ProviderResponseInvalid naming shot_status (retried): the documented poll for shot processing',
        unknown: { outcome: 'accepted', does: 'the workflow keeps waiting (until its deadline), with a line in its progress log' },
      },
      {
        path: 'data.ai_training_status',
        kind: 'enum',
        values: TRAINING_STATUSES,
        documented: trainingStatusDoc,
        required: true,
        whenMissing: 'ProviderResponseInvalid naming ai_training_status (retried): the documented poll for AI training ("Poll until both are `finished`")',
        unknown: { outcome: 'accepted', does: 'the workflow keeps waiting (until its deadline), with a line in its progress log' },
      },
    ],
  },
  {
    endpoint: 'POST /shots/{shot_id}/generate',
    docs: 'lipdub.md § POST /v1/shots/{shot_id}/generate',
    // The least convenient documented form: named `id` (the docs' note), a number (the status example shows 456).
    example: { data: { id: 456, status: 'processing' } },
    fields: [
      dataEnvelope('"data": {'),
      {
        path: 'data.id',
        kind: 'id',
        idForms: 'both',
        documented: '**Note:** The `generate_id` may be returned as `generate_id`, `generateId`, or `id` in the response.',
        required: true,
        whenMissing:
          'ProviderResponseInvalid naming generate_id (and its names generateId, id), not retried (a billable create): the generation could not be polled; the first of generate_id, generateId, id present is read',
      },
      {
        path: 'data.status',
        kind: 'text',
        documented: '"status": "processing"',
        required: false,
        whenMissing: 'reads `unknown`; nothing decides on it (the generation status comes from its poll endpoint)',
        wrongType: { outcome: 'accepted', does: 'read as its digits; nothing decides on it' },
      },
    ],
  },
  {
    endpoint: 'GET /shots/{shot_id}/generate/{generate_id}',
    docs: 'lipdub.md § GET /v1/shots/{shot_id}/generate/{generate_id}',
    example: { data: { status: 'failed', generate_id: 456, error: 'face not found' } },
    fields: [
      dataEnvelope('"data": {'),
      {
        path: 'data.status',
        kind: 'enum',
        values: GENERATE_STATUSES,
        documented: '- `running` - Generation in progress',
        required: true,
        whenMissing: 'ProviderResponseInvalid naming status (retried): the documented poll for the generation',
        unknown: { outcome: 'accepted', does: 'the workflow keeps waiting (until its deadline), with a line in its progress log' },
      },
      {
        path: 'data.generate_id',
        kind: 'id',
        idForms: 'number',
        documented: '"generate_id": 456',
        required: false,
        whenMissing: 'the id asked for',
      },
      {
        path: 'data.error',
        kind: 'text',
        documented: null,
        required: false,
        whenMissing:
          'a failed generation fails the pipeline without a reason; the first non-empty string of failure_reason, error_message, error, message is the reason named in the failure',
        wrongType: { outcome: 'accepted', does: 'not a reason: ignored' },
      },
    ],
  },
  {
    endpoint: 'GET /shots/{shot_id}/generate/{generate_id}/download',
    docs: 'lipdub.md § GET /v1/shots/{shot_id}/generate/{generate_id}/download',
    example: { data: { download_url: 'https://storage.googleapis.com/download/out.mp4' } },
    fields: [
      dataEnvelope('"data": {'),
      {
        path: 'data.download_url',
        kind: 'url',
        documented: '"download_url": "https://storage.googleapis.com/..."',
        required: true,
        whenMissing: 'ProviderResponseInvalid naming download_url (retried): there is nothing to download; an expired URL is fetched anew once',
      },
    ],
  },
];

export const LIPDUB_FIELDS: ProviderAudit = {
  provider: 'lipdub',
  doc: 'lipdub.md',
  endpoints,
};
