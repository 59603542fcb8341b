/** The field audit of the dublab client (src/providers/fields.ts explains the table; docs/provider-fields.md renders it). */
import type { ProviderAudit } from '../../providers/fields';

const SIGNED = 'https://dublab-outputs.s3.amazonaws.com/f-1/translated.mp4?X-Amz-Expires=20&X-Amz-Signature=abc';
const SIGNED_DOWNLOAD = `${SIGNED}&response-content-disposition=attachment`;
const UPLOAD = 'https://dublab-uploads.s3.amazonaws.com/p-1/talk.mp4?X-Amz-Expires=3600&X-Amz-Signature=def';

const STATUS_CODES = 'Status Codes: 1 Uploading, 2 In Queue, 3 Processing, 4 Failed, 5 Completed (the table)';
const OUTPUTS_MAP = 'outputs is a map of { <type>: { url, downloadUrl } }. url is inline-viewable, downloadUrl forces a file download.';

export const DUBLAB_FIELDS: ProviderAudit = {
  provider: 'dublab',
  doc: 'dublab.md',
  endpoints: [
    {
      endpoint: 'GET /me',
      docs: 'dublab.md § Endpoint Summary (GET /api/v1/me)',
      example: { credits: 1000 },
      fields: [
        {
          path: 'credits',
          kind: 'number',
          documented: null,
          required: false,
          whenMissing:
            'The docs say "Your profile and credit balance" but name no field: the balance is read as `credits`. Without it dublabPipeline skips its checkCredits test and says so in its progress log; the batch cost guard shows the DubLab balance as unknown (never short).',
          wrongType: { outcome: 'accepted', does: 'Its digits are read as the number.' },
        },
      ],
    },
    {
      endpoint: 'GET /dubs',
      docs: 'dublab.md § Workflow ("Poll: Check GET /dubs until externalStatusId = 5") and § Status Codes',
      example: {
        dubs: [
          { fileId: 'f-1', projectId: 'p-1', externalStatusId: 3 },
          { fileId: 'f-2', projectId: 'p-1', externalStatusId: 4, externalErrorMessage: 'Speech separation produced no usable voice track' },
        ],
      },
      fields: [
        {
          path: 'dubs',
          kind: 'array',
          documented: '| GET | /api/v1/dubs | List all your dubs (includes projectId) |',
          required: true,
          whenMissing:
            'Rejected: ProviderResponseInvalid, retried (a read). The list is documented, its key is not: `{ dubs: [...] }`, `{ data: [...] }` and a bare array are all read.',
        },
        {
          path: 'dubs[].fileId',
          kind: 'id',
          idForms: 'string',
          documented: null,
          required: false,
          whenMissing:
            'The docs show no id on a GET /dubs entry; they call a dub `fileId` everywhere else, so it is read as `fileId` or `id`. An entry with neither cannot be matched to a run and is passed over: a dub of the run that GET /dubs does not list keeps the workflow waiting (logged once: "GET /dubs does not list the es dub … yet; still waiting") until its deadline.',
        },
        {
          path: 'dubs[].projectId',
          kind: 'id',
          idForms: 'string',
          documented: '| GET | /api/v1/dubs | List all your dubs (includes projectId) |',
          required: false,
          whenMissing:
            'Nothing changes: the run matches its dubs by fileId. (Only a status poll recorded before fileIds were passed to it picks its dubs by projectId; such a dub then counts as not listed yet.)',
        },
        {
          path: 'dubs[].externalStatusId',
          kind: 'enum',
          values: [1, 2, 3, 4, 5],
          documented: `Poll: Check GET /dubs until externalStatusId = 5 — ${STATUS_CODES}`,
          required: true,
          whenMissing:
            'Rejected: ProviderResponseInvalid naming externalStatusId, retried (a read); the status of every dub of the run rests on it. Its digits ("5") read as the number.',
          unknown: {
            outcome: 'accepted',
            does: 'Passed through as it came. The workflow keeps waiting for that dub (until its deadline) and logs once per value: DubLab reported status 987 for es, which the docs do not list; still waiting.',
          },
        },
        {
          path: 'dubs[].externalErrorMessage',
          kind: 'text',
          documented: 'Check the externalErrorMessage field on failed dubs for a user-facing reason.',
          required: false,
          whenMissing: 'A failed dub (externalStatusId 4) still fails its language; its reason reads "no reason given".',
          wrongType: { outcome: 'accepted', does: 'A number is shown as its digits.' },
        },
      ],
    },
    {
      endpoint: 'GET /dubs/{fileId}/outputs',
      docs: 'dublab.md § Output types',
      example: {
        outputs: {
          translated_mp4: { url: SIGNED, downloadUrl: SIGNED_DOWNLOAD },
          translated_subtitle: { url: SIGNED, downloadUrl: SIGNED_DOWNLOAD },
        },
      },
      fields: [
        {
          path: 'outputs',
          kind: 'object',
          documented: `${OUTPUTS_MAP} … The map is empty until the dub completes.`,
          required: true,
          whenMissing:
            'Rejected: ProviderResponseInvalid, retried (a read). No status is read here (the docs give this endpoint none): whether a dub is done comes from GET /dubs. An empty map for a dub GET /dubs reports completed is retried by the download activity (OutputsNotReady); a map without the asked type fails that language (OutputMissing, naming what it offers). Output types outside the documented nine are kept.',
        },
        {
          path: 'outputs.*.url',
          kind: 'url',
          documented: OUTPUTS_MAP,
          required: false,
          whenMissing: '`downloadUrl` is downloaded (it is preferred anyway); a type with neither URL counts as not offered.',
        },
        {
          path: 'outputs.*.downloadUrl',
          kind: 'url',
          documented: OUTPUTS_MAP,
          required: false,
          whenMissing: '`url` is downloaded instead; a type with neither URL counts as not offered.',
        },
      ],
    },
    {
      endpoint: 'POST /init-dub',
      docs: 'dublab.md § Endpoint Summary (POST /api/v1/init-dub) and § Workflow',
      example: { fileId: 'f-1', projectId: 'p-1', uploadUrl: UPLOAD },
      fields: [
        {
          path: 'fileId',
          kind: 'id',
          idForms: 'string',
          documented: '| POST | /api/v1/init-dub | Create one file (one language) and get an upload URL | (named as init-dub-group names its files: .files[].fileId)',
          required: true,
          whenMissing: 'Rejected: ProviderResponseInvalid, not retried (a create; the error is ambiguous). No pipeline calls init-dub: dublabPipeline uses init-dub-group.',
        },
        {
          path: 'projectId',
          kind: 'id',
          idForms: 'string',
          documented: null,
          required: false,
          whenMissing: 'The answer reads without it ("Each init-dub call creates an independent project", but the docs do not show its id in this answer).',
        },
        {
          path: 'uploadUrl',
          kind: 'url',
          documented: '| POST | /api/v1/init-dub | Create one file (one language) and get an upload URL | (named as in init-dub-group: .uploadUrl)',
          required: true,
          whenMissing: 'Rejected: ProviderResponseInvalid, not retried (a create).',
        },
      ],
    },
    {
      endpoint: 'POST /init-dub-group',
      docs: 'dublab.md § Multi-language flow',
      example: { projectId: 'p-1', uploadUrl: UPLOAD, files: [{ fileId: 'f-1', dest_lang: 'tr' }, { fileId: 'f-2', dest_lang: 'de' }] },
      fields: [
        {
          path: 'projectId',
          kind: 'id',
          idForms: 'string',
          documented: `PROJECT_ID=$(echo "$RESP" | jq -r '.projectId')`,
          required: true,
          whenMissing: 'Rejected: ProviderResponseInvalid, not retried (a create; the upload has not started, so a new attempt costs nothing: DubLab bills on completion). The pipeline result carries it.',
        },
        {
          path: 'uploadUrl',
          kind: 'url',
          documented: `UPLOAD_URL=$(echo "$RESP" | jq -r '.uploadUrl')`,
          required: true,
          whenMissing: 'Rejected: ProviderResponseInvalid, not retried (a create): there is nowhere to upload.',
        },
        {
          path: 'files',
          kind: 'array',
          documented: `for FID in $(echo "$RESP" | jq -r '.files[].fileId'); do`,
          required: true,
          whenMissing: 'Rejected: ProviderResponseInvalid, not retried (a create); so is a list with fewer files than requested languages (naming the languages left out).',
        },
        {
          path: 'files[].fileId',
          kind: 'id',
          idForms: 'string',
          documented: `for FID in $(echo "$RESP" | jq -r '.files[].fileId'); do`,
          required: true,
          whenMissing: 'Rejected: ProviderResponseInvalid, not retried (a create): a dub without its id cannot be started or polled.',
        },
        {
          path: 'files[].dest_lang',
          kind: 'text',
          documented: null,
          required: false,
          whenMissing:
            'The docs show files without a language. A file that names none (as dest_lang, targetLang or lang) takes the requested dest_langs no other file named, in request order; a language still without a file is rejected, naming it.',
        },
      ],
    },
    {
      endpoint: 'POST /start-dub',
      docs: 'dublab.md § Multi-language flow (step 3) and § Workflow',
      example: { fileId: 'f-1' },
      fields: [
        {
          path: 'fileId',
          kind: 'id',
          idForms: 'string',
          documented: null,
          required: false,
          whenMissing: 'The docs show no answer body: any JSON object is read, and the fileId that was started is kept. (409 means already started and counts as started.)',
        },
      ],
    },
  ],
};
