import fs from 'node:fs';
import path from 'node:path';
import type { PipelineName } from '../../src/client';
import { makeFile } from '../support/harness';

/**
 * The bad-input catalogue: every way a caller can hand Reelay something it must refuse, by where it
 * enters (a workflow input through the client, a CLI flag, a batch manifest line). Each case names the
 * field its message must name and the reason it must give. The tests in this folder drive all of them
 * against the real parts and prove nothing reached a provider.
 */

export type Surface = 'workflow-input' | 'cli' | 'manifest';

export type Category =
  | 'missing-file'
  | 'unreadable-file'
  | 'not-a-file'
  | 'content-type'
  | 'language'
  | 'out-of-range'
  | 'not-a-number'
  | 'empty-prompt'
  | 'oversized-prompt'
  | 'path-traversal'
  | 'bad-url'
  | 'unknown-pipeline'
  | 'unknown-key'
  | 'exclusive-fields'
  | 'duplicate'
  | 'malformed'
  | 'encoding'
  | 'bad-flag';

/** Files the cases point at, made once per test file in its own temporary directory. */
export interface Fixtures {
  dir: string;
  video: string;
  audio: string;
  image: string;
  /** A directory where a file is expected. */
  directory: string;
  /** A path that does not exist. */
  missing: string;
  /** A symlink to itself: stat fails with ELOOP (root reads through chmod 000, so this is the unreadable file). */
  loop: string;
  /** Write a file under `dir` and return its path. */
  write(name: string, content: string | Buffer): string;
}

export function makeFixtures(dir: string): Fixtures {
  const loop = path.join(dir, 'loop.mp3');
  fs.symlinkSync(loop, loop);
  const directory = path.join(dir, 'a-directory.mp4');
  fs.mkdirSync(directory);
  return {
    dir,
    video: makeFile(dir, 'talk.mp4', 4000),
    audio: makeFile(dir, 'es.mp3', 1000),
    image: makeFile(dir, 'cat.png', 500),
    directory,
    missing: path.join(dir, 'missing.mp4'),
    loop,
    write(name, content) {
      const file = path.join(dir, name);
      fs.writeFileSync(file, content);
      return file;
    },
  };
}

interface BaseCase {
  id: string;
  category: Category;
  /** The field (`input.audios.0.language`), flag (`--duration`) or manifest part (`key`) the message names. */
  expectField: string;
  expectReason: RegExp;
}

export interface WorkflowInputCase extends BaseCase {
  surface: 'workflow-input';
  pipeline: PipelineName | 'batch';
  /** The input given to validatePipelineInput/startPipeline; for `batch`, the options given to startBatch. */
  input(f: Fixtures): unknown;
  /**
   * Also start the workflow around the client (raw `client.workflow.start`) with this input: the workflow
   * itself must fail with a non-retryable InvalidInput naming `expectField`. `true`: the same input.
   */
  aroundClient?: true | ((f: Fixtures) => unknown);
}

export interface CliCase extends BaseCase {
  surface: 'cli';
  pipeline?: PipelineName | 'batch';
  argv(f: Fixtures): string[];
}

export interface ManifestCase extends BaseCase {
  surface: 'manifest';
  pipeline?: PipelineName;
  /** File name (its extension picks JSONL or CSV); `path` instead points at an existing path. */
  file: string;
  text?(f: Fixtures): string | Buffer;
  path?(f: Fixtures): string;
  /** The manifest line the problem is reported on; 0 for the whole file. */
  line: number;
}

export type BadInputCase = WorkflowInputCase | CliCase | ManifestCase;

const lipdub = (f: Fixtures, extra: Record<string, unknown> = {}) => ({ video: f.video, audios: [{ source: f.audio, language: 'es' }], ...extra });
const dublab = (f: Fixtures, extra: Record<string, unknown> = {}) => ({ source: f.video, sourceLanguage: 'en', targetLanguages: ['es'], durationSeconds: 12, ...extra });
const localize = (f: Fixtures, extra: Record<string, unknown> = {}) => ({ source: f.video, sourceLanguage: 'en', targetLanguages: ['es'], durationSeconds: 12, ...extra });
const line = (pipeline: string, input: unknown, extra: Record<string, unknown> = {}) => JSON.stringify({ pipeline, input, ...extra });
const okLine = line('text2video', { text: 'A good story' });

const W = (c: Omit<WorkflowInputCase, 'surface'>): WorkflowInputCase => ({ surface: 'workflow-input', ...c });
const C = (c: Omit<CliCase, 'surface'>): CliCase => ({ surface: 'cli', ...c });
const M = (c: Omit<ManifestCase, 'surface'>): ManifestCase => ({ surface: 'manifest', ...c });

export const CATALOGUE: BadInputCase[] = [
  // ── Workflow inputs: lipdub ─────────────────────────────────────────────────────────────────
  W({ id: 'lipdub-missing-video', pipeline: 'lipdub', category: 'missing-file', input: (f) => lipdub(f, { video: f.missing }), expectField: 'input.video', expectReason: /missing\.mp4 does not exist/ }),
  W({ id: 'lipdub-video-is-a-directory', pipeline: 'lipdub', category: 'not-a-file', input: (f) => lipdub(f, { video: f.directory }), expectField: 'input.video', expectReason: /is not a regular file/ }),
  W({ id: 'lipdub-audio-unreadable', pipeline: 'lipdub', category: 'unreadable-file', input: (f) => lipdub(f, { audios: [{ source: f.loop, language: 'es' }] }), expectField: 'input.audios.0.source', expectReason: /cannot be read \(ELOOP\)/ }),
  W({ id: 'lipdub-video-content-type-is-audio', pipeline: 'lipdub', category: 'content-type', input: (f) => lipdub(f, { videoContentType: 'audio/mpeg' }), expectField: 'input.videoContentType', expectReason: /must be a video\/\* type/, aroundClient: true }),
  W({ id: 'lipdub-audio-content-type-is-video', pipeline: 'lipdub', category: 'content-type', input: (f) => lipdub(f, { audios: [{ source: f.audio, language: 'es', contentType: 'video/mp4' }] }), expectField: 'input.audios.0.contentType', expectReason: /must be an audio\/\* type/ }),
  W({ id: 'lipdub-unknown-language', pipeline: 'lipdub', category: 'language', input: (f) => lipdub(f, { audios: [{ source: f.audio, language: 'xx-YY' }] }), expectField: 'input.audios.0.language', expectReason: /"xx" is not an ISO 639-1 language code/ }),
  W({ id: 'lipdub-output-name-traversal', pipeline: 'lipdub', category: 'path-traversal', input: (f) => lipdub(f, { audios: [{ source: f.audio, language: 'es', outputName: '../../etc/passwd' }] }), expectField: 'input.audios.0.outputName', expectReason: /must be a file name, without "\/"/ }),
  W({ id: 'lipdub-output-name-nul', pipeline: 'lipdub', category: 'path-traversal', input: (f) => lipdub(f, { audios: [{ source: f.audio, language: 'es', outputName: 'es.mp4\0.sh' }] }), expectField: 'input.audios.0.outputName', expectReason: /must not contain control/ }),
  W({ id: 'lipdub-output-subdir-absolute', pipeline: 'lipdub', category: 'path-traversal', input: (f) => lipdub(f, { outputSubdir: '/tmp/elsewhere' }), expectField: 'input.outputSubdir', expectReason: /must be relative to the output directory/ }),
  W({ id: 'lipdub-output-subdir-dotdot', pipeline: 'lipdub', category: 'path-traversal', input: (f) => lipdub(f, { outputSubdir: 'jobs/../../etc' }), expectField: 'input.outputSubdir', expectReason: /without "\.\."/, aroundClient: true }),
  W({ id: 'lipdub-audio-id-dotdot', pipeline: 'lipdub', category: 'path-traversal', input: () => ({ shotId: 12, audios: [{ audioId: '..', language: 'es' }] }), expectField: 'input.audios.0.audioId', expectReason: /must not be "\." or "\.\."/, aroundClient: true }),
  W({ id: 'lipdub-video-ftp-url', pipeline: 'lipdub', category: 'bad-url', input: (f) => lipdub(f, { video: 'ftp://example.invalid/v.mp4' }), expectField: 'input.video', expectReason: /must be a local path or an http\(s\) URL/ }),
  W({ id: 'lipdub-video-url-with-password', pipeline: 'lipdub', category: 'bad-url', input: (f) => lipdub(f, { video: 'https://ann:hunter2@example.com/v.mp4' }), expectField: 'input.video', expectReason: /must not carry a user name or password/ }),
  W({ id: 'lipdub-neither-video-nor-shot', pipeline: 'lipdub', category: 'exclusive-fields', input: (f) => ({ audios: lipdub(f).audios }), expectField: 'input.video', expectReason: /give exactly one of video or shotId/ }),
  W({ id: 'lipdub-video-and-shot', pipeline: 'lipdub', category: 'exclusive-fields', input: (f) => lipdub(f, { shotId: 12 }), expectField: 'input.video', expectReason: /give exactly one of video or shotId/ }),
  W({ id: 'lipdub-no-audios', pipeline: 'lipdub', category: 'out-of-range', input: (f) => lipdub(f, { audios: [] }), expectField: 'input.audios', expectReason: /needs at least one audio/ }),
  W({ id: 'lipdub-same-output-twice', pipeline: 'lipdub', category: 'duplicate', input: (f) => lipdub(f, { audios: [{ source: f.audio, language: 'es' }, { source: f.audio, language: 'es' }] }), expectField: 'input.audios.1.outputName', expectReason: /"es\.mp4" is also the output of audios\.0/ }),
  W({ id: 'lipdub-unknown-key', pipeline: 'lipdub', category: 'unknown-key', input: (f) => lipdub(f, { colour: 'red' }), expectField: 'input.colour', expectReason: /unknown field/ }),
  W({ id: 'lipdub-shot-id-letters', pipeline: 'lipdub', category: 'not-a-number', input: () => ({ shotId: '12a', audios: [{ audioId: 'a-1', language: 'es' }] }), expectField: 'input.shotId', expectReason: /must be a numeric shot id/ }),
  W({ id: 'lipdub-polling-backoff-below-one', pipeline: 'lipdub', category: 'out-of-range', input: (f) => lipdub(f, { polling: { backoffCoefficient: 0.5 } }), expectField: 'input.polling.backoffCoefficient', expectReason: />=1/ }),

  // ── Workflow inputs: dublab ─────────────────────────────────────────────────────────────────
  W({ id: 'dublab-source-among-targets', pipeline: 'dublab', category: 'language', input: (f) => dublab(f, { targetLanguages: ['es', 'en'] }), expectField: 'input.targetLanguages', expectReason: /must not include the source language/, aroundClient: true }),
  W({ id: 'dublab-source-language-uppercase', pipeline: 'dublab', category: 'language', input: (f) => dublab(f, { sourceLanguage: 'EN' }), expectField: 'input.sourceLanguage', expectReason: /"EN" is not a language tag/ }),
  W({ id: 'dublab-target-repeated', pipeline: 'dublab', category: 'duplicate', input: (f) => dublab(f, { targetLanguages: ['es', 'de', 'es'] }), expectField: 'input.targetLanguages', expectReason: /must not repeat a language/ }),
  W({ id: 'dublab-duration-negative', pipeline: 'dublab', category: 'out-of-range', input: (f) => dublab(f, { durationSeconds: -1 }), expectField: 'input.durationSeconds', expectReason: />0/, aroundClient: true }),
  W({ id: 'dublab-duration-nan', pipeline: 'dublab', category: 'not-a-number', input: (f) => dublab(f, { durationSeconds: NaN }), expectField: 'input.durationSeconds', expectReason: /expected number, received NaN/ }),
  W({ id: 'dublab-duration-infinity', pipeline: 'dublab', category: 'not-a-number', input: (f) => dublab(f, { durationSeconds: Infinity }), expectField: 'input.durationSeconds', expectReason: /expected number, received Infinity/ }),
  W({ id: 'dublab-duration-string', pipeline: 'dublab', category: 'not-a-number', input: (f) => dublab(f, { durationSeconds: '12' }), expectField: 'input.durationSeconds', expectReason: /expected number, received string/ }),
  W({ id: 'dublab-content-type-text', pipeline: 'dublab', category: 'content-type', input: (f) => dublab(f, { contentType: 'text/plain' }), expectField: 'input.contentType', expectReason: /must be a video\/\* or audio\/\* type/ }),
  W({ id: 'dublab-unknown-output-type', pipeline: 'dublab', category: 'out-of-range', input: (f) => dublab(f, { outputTypes: ['translated_mp4', 'hologram'] }), expectField: 'input.outputTypes.1', expectReason: /translated_mp4/ }),
  W({ id: 'dublab-output-type-repeated', pipeline: 'dublab', category: 'duplicate', input: (f) => dublab(f, { outputTypes: ['translated_mp4', 'translated_mp4'] }), expectField: 'input.outputTypes', expectReason: /must not repeat an output type/ }),
  W({ id: 'dublab-source-url-without-host', pipeline: 'dublab', category: 'bad-url', input: (f) => dublab(f, { source: 'https://' }), expectField: 'input.source', expectReason: /is not a valid URL/, aroundClient: true }),

  // ── Workflow inputs: text2video ─────────────────────────────────────────────────────────────
  W({ id: 'text2video-empty-text', pipeline: 'text2video', category: 'empty-prompt', input: () => ({ text: '' }), expectField: 'input.text', expectReason: /must not be empty/, aroundClient: true }),
  W({ id: 'text2video-blank-text', pipeline: 'text2video', category: 'empty-prompt', input: () => ({ text: ' \n\t ' }), expectField: 'input.text', expectReason: /must not be empty/ }),
  W({ id: 'text2video-oversized-text', pipeline: 'text2video', category: 'oversized-prompt', input: () => ({ text: 'word '.repeat(10_001) }), expectField: 'input.text', expectReason: /must be at most 50000 characters/ }),
  W({ id: 'text2video-text-not-a-string', pipeline: 'text2video', category: 'malformed', input: () => ({ text: 42 }), expectField: 'input.text', expectReason: /expected string, received number/ }),
  W({ id: 'text2video-output-name-dotdot', pipeline: 'text2video', category: 'path-traversal', input: () => ({ text: 'hi', outputName: '..' }), expectField: 'input.outputName', expectReason: /must not be "\." or "\.\."/ }),
  W({ id: 'text2video-output-name-rtl-override', pipeline: 'text2video', category: 'path-traversal', input: () => ({ text: 'hi', outputName: 'video\u202Egpj.mp4' }), expectField: 'input.outputName', expectReason: /invisible formatting characters/ }),
  W({ id: 'text2video-max-resubmits-fraction', pipeline: 'text2video', category: 'out-of-range', input: () => ({ text: 'hi', maxResubmits: 1.5 }), expectField: 'input.maxResubmits', expectReason: /expected int/ }),
  W({ id: 'text2video-not-an-object', pipeline: 'text2video', category: 'malformed', input: () => ['a story'], expectField: 'input', expectReason: /expected object, received array/ }),

  // ── Workflow inputs: vividflow ──────────────────────────────────────────────────────────────
  W({ id: 'vividflow-cfg-above-20', pipeline: 'vividflow', category: 'out-of-range', input: (f) => ({ prompt: 'a cat', imagePath: f.image, cfg: 25 }), expectField: 'input.cfg', expectReason: /<=20/, aroundClient: true }),
  W({ id: 'vividflow-cfg-nan', pipeline: 'vividflow', category: 'not-a-number', input: (f) => ({ prompt: 'a cat', imagePath: f.image, cfg: NaN }), expectField: 'input.cfg', expectReason: /received NaN/ }),
  W({ id: 'vividflow-width-string', pipeline: 'vividflow', category: 'not-a-number', input: (f) => ({ prompt: 'a cat', imagePath: f.image, width: '640' }), expectField: 'input.width', expectReason: /expected number, received string/ }),
  W({ id: 'vividflow-empty-prompt', pipeline: 'vividflow', category: 'empty-prompt', input: (f) => ({ prompt: '   ', imagePath: f.image }), expectField: 'input.prompt', expectReason: /must not be empty/ }),
  W({ id: 'vividflow-oversized-prompt', pipeline: 'vividflow', category: 'oversized-prompt', input: (f) => ({ prompt: 'x'.repeat(2001), imagePath: f.image }), expectField: 'input.prompt', expectReason: /must be at most 2000 characters/ }),
  W({ id: 'vividflow-oversized-negative-prompt', pipeline: 'vividflow', category: 'oversized-prompt', input: (f) => ({ prompt: 'a cat', imagePath: f.image, negativePrompt: 'blur '.repeat(1000) }), expectField: 'input.negativePrompt', expectReason: /must be at most 2000 characters/ }),
  W({ id: 'vividflow-no-image', pipeline: 'vividflow', category: 'exclusive-fields', input: () => ({ prompt: 'a cat' }), expectField: 'input.imagePath', expectReason: /one of imagePath or imageUrl is required/ }),
  W({ id: 'vividflow-missing-image', pipeline: 'vividflow', category: 'missing-file', input: (f) => ({ prompt: 'a cat', imagePath: path.join(f.dir, 'nope.png') }), expectField: 'input.imagePath', expectReason: /nope\.png does not exist/ }),
  W({ id: 'vividflow-image-url-ftp', pipeline: 'vividflow', category: 'bad-url', input: () => ({ prompt: 'a cat', imageUrl: 'ftp://host/cat.png' }), expectField: 'input.imageUrl', expectReason: /expected a gs:\/\/bucket\/path or https:\/\/ URL/ }),
  W({ id: 'vividflow-veo-duration-5', pipeline: 'vividflow', category: 'out-of-range', input: () => ({ prompt: 'waves', imageUrl: 'gs://b/beach.png', model: 'veo3.1', durationSeconds: 5 }), expectField: 'input.durationSeconds', expectReason: /4\|6\|8/ }),
  W({ id: 'vividflow-unknown-model', pipeline: 'vividflow', category: 'out-of-range', input: (f) => ({ prompt: 'a cat', imagePath: f.image, model: 'wan3' }), expectField: 'input.model', expectReason: /wan2\.1/ }),

  // ── Workflow inputs: aistudio ───────────────────────────────────────────────────────────────
  W({ id: 'aistudio-four-reference-images', pipeline: 'aistudio', category: 'out-of-range', input: (f) => ({ prompt: 'a boat', mockMode: true, referenceImages: [f.image, f.image, f.image, f.image] }), expectField: 'input.referenceImages', expectReason: /at most 3 reference images/, aroundClient: true }),
  W({ id: 'aistudio-duration-6', pipeline: 'aistudio', category: 'out-of-range', input: () => ({ prompt: 'a boat', durationSeconds: 6 }), expectField: 'input.durationSeconds', expectReason: /4\|8/ }),
  W({ id: 'aistudio-no-prompt-no-image', pipeline: 'aistudio', category: 'empty-prompt', input: () => ({ mockMode: true }), expectField: 'input.prompt', expectReason: /a prompt or an initialImage/ }),
  W({ id: 'aistudio-oversized-prompt', pipeline: 'aistudio', category: 'oversized-prompt', input: () => ({ prompt: 'x'.repeat(5001) }), expectField: 'input.prompt', expectReason: /must be at most 5000 characters/ }),
  W({ id: 'aistudio-initial-image-url', pipeline: 'aistudio', category: 'bad-url', input: () => ({ initialImage: 'https://example.com/first.png' }), expectField: 'input.initialImage', expectReason: /must be a local image file/ }),
  W({ id: 'aistudio-reference-image-directory', pipeline: 'aistudio', category: 'not-a-file', input: (f) => ({ prompt: 'a boat', referenceImages: [f.image, f.directory] }), expectField: 'input.referenceImages.1', expectReason: /is not a regular file/ }),
  W({ id: 'aistudio-aspect-ratio-4-3', pipeline: 'aistudio', category: 'out-of-range', input: () => ({ prompt: 'a boat', aspectRatio: '4:3' }), expectField: 'input.aspectRatio', expectReason: /16:9/ }),
  W({ id: 'aistudio-priority-zero', pipeline: 'aistudio', category: 'out-of-range', input: () => ({ prompt: 'a boat', priority: 0 }), expectField: 'input.priority', expectReason: /must be a whole number from 1 \(highest\) to 5 \(lowest\)/ }),
  W({ id: 'aistudio-priority-six', pipeline: 'aistudio', category: 'out-of-range', input: () => ({ prompt: 'a boat', priority: 6 }), expectField: 'input.priority', expectReason: /from 1 \(highest\) to 5 \(lowest\)/ }),
  W({ id: 'vividflow-priority-fraction', pipeline: 'vividflow', category: 'out-of-range', input: () => ({ prompt: 'a cat', imageUrl: 'gs://b/c.png', priority: 2.5 }), expectField: 'input.priority', expectReason: /whole number from 1/ }),
  W({ id: 'aistudio-priority-word', pipeline: 'aistudio', category: 'not-a-number', input: () => ({ prompt: 'a boat', priority: 'high' }), expectField: 'input.priority', expectReason: /whole number from 1/ }),
  W({ id: 'aistudio-caller-too-long', pipeline: 'aistudio', category: 'out-of-range', input: () => ({ prompt: 'a boat', caller: 'é'.repeat(33) }), expectField: 'input.caller', expectReason: /at most 64 bytes/ }),

  // ── Workflow inputs: localize ───────────────────────────────────────────────────────────────
  W({ id: 'localize-generate-unknown-pipeline', pipeline: 'localize', category: 'unknown-pipeline', input: (f) => localize(f, { source: undefined, generate: { pipeline: 'lipdub', input: {} } }), expectField: 'input.generate.pipeline', expectReason: /'text2video' \| 'vividflow' \| 'aistudio'/, aroundClient: true }),
  W({ id: 'localize-generate-empty-text', pipeline: 'localize', category: 'empty-prompt', input: (f) => localize(f, { source: undefined, generate: { pipeline: 'text2video', input: { text: '' } } }), expectField: 'input.generate.input.text', expectReason: /must not be empty/ }),
  W({ id: 'localize-generate-missing-image', pipeline: 'localize', category: 'missing-file', input: (f) => localize(f, { source: undefined, generate: { pipeline: 'vividflow', input: { prompt: 'p', imagePath: f.missing } } }), expectField: 'input.generate.input.imagePath', expectReason: /does not exist/ }),
  W({ id: 'localize-source-and-generate', pipeline: 'localize', category: 'exclusive-fields', input: (f) => localize(f, { generate: { pipeline: 'text2video', input: { text: 'hi' } } }), expectField: 'input.source', expectReason: /give exactly one of source or generate/ }),
  W({ id: 'localize-dubbed-audio-not-a-target', pipeline: 'localize', category: 'language', input: (f) => localize(f, { dubbedAudio: { de: f.audio } }), expectField: 'input.dubbedAudio.de', expectReason: /"de" is not one of targetLanguages/ }),
  W({ id: 'localize-dubbed-audio-missing', pipeline: 'localize', category: 'missing-file', input: (f) => localize(f, { dubbedAudio: { es: f.missing } }), expectField: 'input.dubbedAudio.es', expectReason: /does not exist/ }),
  W({ id: 'localize-shot-id-zero', pipeline: 'localize', category: 'out-of-range', input: (f) => localize(f, { shotId: 0 }), expectField: 'input.shotId', expectReason: />0/ }),

  // ── Workflow inputs: batch (startBatch options; the batch workflow's own input) ─────────────
  W({ id: 'batch-window-zero', pipeline: 'batch', category: 'out-of-range', input: () => ({ window: 0 }), expectField: 'input.window', expectReason: />=1/, aroundClient: () => ({ manifestPath: '/nonexistent/manifest.jsonl', total: 1, window: 0 }) }),
  W({ id: 'batch-window-above-500', pipeline: 'batch', category: 'out-of-range', input: () => ({ window: 501 }), expectField: 'input.window', expectReason: /must be at most 500/ }),
  W({ id: 'batch-key-traversal', pipeline: 'batch', category: 'path-traversal', input: () => ({ key: '../escape' }), expectField: 'key', expectReason: /letters, digits/ }),
  W({ id: 'batch-items-per-run-fraction', pipeline: 'batch', category: 'out-of-range', input: () => ({ itemsPerRun: 0.5 }), expectField: 'input.itemsPerRun', expectReason: /expected int/ }),

  // ── CLI flags ───────────────────────────────────────────────────────────────────────────────
  C({ id: 'cli-unknown-pipeline', category: 'unknown-pipeline', argv: () => ['start', 'hologram', '--prompt', 'x'], expectField: 'pipeline', expectReason: /unknown pipeline "hologram": expected one of lipdub, / }),
  C({ id: 'cli-unknown-flag', pipeline: 'text2video', category: 'bad-flag', argv: () => ['start', 'text2video', '--text', 'hi', '--colour', 'red'], expectField: '--colour', expectReason: /unknown option/ }),
  C({ id: 'cli-flag-of-another-pipeline', pipeline: 'aistudio', category: 'bad-flag', argv: () => ['start', 'aistudio', '--prompt', 'a boat', '--cfg', '2'], expectField: '--cfg', expectReason: /is not an option of aistudio pipelines/ }),
  C({ id: 'cli-duration-not-a-number', pipeline: 'dublab', category: 'not-a-number', argv: (f) => ['start', 'dublab', '--source', f.video, '--source-lang', 'en', '--target-lang', 'es', '--duration', 'twelve'], expectField: '--duration', expectReason: /"twelve" is not a number/ }),
  C({ id: 'cli-duration-hex', pipeline: 'dublab', category: 'not-a-number', argv: (f) => ['start', 'dublab', '--source', f.video, '--source-lang', 'en', '--target-lang', 'es', '--duration', '0x10'], expectField: '--duration', expectReason: /"0x10" is not a number/ }),
  C({ id: 'cli-seed-infinity', pipeline: 'vividflow', category: 'not-a-number', argv: (f) => ['start', 'vividflow', '--prompt', 'a cat', '--image', f.image, '--seed', '1e400'], expectField: '--seed', expectReason: /"1e400" is not a number/ }),
  C({ id: 'cli-max-resubmits-above-10', pipeline: 'text2video', category: 'out-of-range', argv: () => ['start', 'text2video', '--text', 'hi', '--max-resubmits', '11'], expectField: 'input.maxResubmits', expectReason: /<=10/ }),
  C({ id: 'cli-vividflow-cfg-above-20', pipeline: 'vividflow', category: 'out-of-range', argv: (f) => ['start', 'vividflow', '--prompt', 'a cat', '--image', f.image, '--cfg', '25'], expectField: 'input.cfg', expectReason: /<=20/ }),
  C({ id: 'cli-vividflow-veo-duration-5', pipeline: 'vividflow', category: 'out-of-range', argv: () => ['start', 'vividflow', '--prompt', 'waves', '--image-url', 'gs://bucket/cat.png', '--model', 'veo3.1', '--duration', '5'], expectField: 'input.durationSeconds', expectReason: /4\|6\|8/ }),
  C({ id: 'cli-vividflow-wan-parameter-on-veo', pipeline: 'vividflow', category: 'out-of-range', argv: (f) => ['start', 'vividflow', '--prompt', 'a cat', '--image', f.image, '--model', 'veo3.1', '--cfg', '5'], expectField: 'input.cfg', expectReason: /applies to model wan2\.1 only/ }),
  C({ id: 'cli-vividflow-veo-parameter-on-wan', pipeline: 'vividflow', category: 'out-of-range', argv: (f) => ['start', 'vividflow', '--prompt', 'a cat', '--image', f.image, '--duration', '4'], expectField: 'input.durationSeconds', expectReason: /applies to model veo3\.1 only/ }),
  C({ id: 'cli-vividflow-image-and-image-url', pipeline: 'vividflow', category: 'exclusive-fields', argv: (f) => ['start', 'vividflow', '--prompt', 'a cat', '--image', f.image, '--image-url', 'gs://b/c.png'], expectField: 'input.imageUrl', expectReason: /give imagePath or imageUrl, not both/ }),
  C({ id: 'cli-vividflow-resolution-4k', pipeline: 'vividflow', category: 'out-of-range', argv: () => ['start', 'vividflow', '--prompt', 'waves', '--image-url', 'gs://b/c.png', '--model', 'veo3.1', '--resolution', '4k'], expectField: 'input.resolution', expectReason: /720p/ }),
  C({ id: 'cli-aistudio-initial-image-missing', pipeline: 'aistudio', category: 'missing-file', argv: (f) => ['start', 'aistudio', '--prompt', 'a boat', '--initial-image', path.join(f.dir, 'nope.png')], expectField: 'input.initialImage', expectReason: /nope\.png does not exist/ }),
  C({ id: 'cli-aistudio-four-reference-images', pipeline: 'aistudio', category: 'out-of-range', argv: (f) => ['start', 'aistudio', '--prompt', 'a boat', '--mock-mode', ...[1, 2, 3, 4].flatMap(() => ['--reference-image', f.image])], expectField: 'input.referenceImages', expectReason: /at most 3 reference images/ }),
  C({ id: 'cli-priority-out-of-range', pipeline: 'aistudio', category: 'out-of-range', argv: () => ['start', 'aistudio', '--prompt', 'a boat', '--priority', '9'], expectField: 'input.priority', expectReason: /from 1 \(highest\) to 5 \(lowest\)/ }),
  C({ id: 'cli-priority-not-a-number', pipeline: 'aistudio', category: 'not-a-number', argv: () => ['start', 'aistudio', '--prompt', 'a boat', '--priority', 'urgent'], expectField: '--priority', expectReason: /"urgent" is not a number/ }),
  C({ id: 'cli-poll-initial-above-max', pipeline: 'text2video', category: 'out-of-range', argv: () => ['start', 'text2video', '--text', 'hi', '--poll-initial', '10', '--poll-max', '1'], expectField: 'input.polling.maxIntervalSeconds', expectReason: /initialIntervalSeconds must not exceed maxIntervalSeconds/ }),
  C({ id: 'cli-lipdub-missing-video', pipeline: 'lipdub', category: 'missing-file', argv: (f) => ['start', 'lipdub', '--video', f.missing, '--audio', `es=${f.audio}`], expectField: 'input.video', expectReason: /missing\.mp4 does not exist/ }),
  C({ id: 'cli-lipdub-unknown-language', pipeline: 'lipdub', category: 'language', argv: (f) => ['start', 'lipdub', '--video', f.video, '--audio', `xx-ZZ=${f.audio}`], expectField: 'input.audios.0.language', expectReason: /"xx" is not an ISO 639-1/ }),
  C({ id: 'cli-lipdub-audio-without-language', pipeline: 'lipdub', category: 'bad-flag', argv: (f) => ['start', 'lipdub', '--video', f.video, '--audio', f.audio], expectField: '--audio', expectReason: /expected LANG=PATH\|URL/ }),
  C({ id: 'cli-lipdub-video-and-shot-id', pipeline: 'lipdub', category: 'exclusive-fields', argv: (f) => ['start', 'lipdub', '--video', f.video, '--shot-id', '12', '--audio', `es=${f.audio}`], expectField: 'input.video', expectReason: /give exactly one of video or shotId/ }),
  C({ id: 'cli-dublab-source-among-targets', pipeline: 'dublab', category: 'language', argv: (f) => ['start', 'dublab', '--source', f.video, '--source-lang', 'en', '--target-lang', 'es,en', '--duration', '3'], expectField: 'input.targetLanguages', expectReason: /must not include the source language/ }),
  C({ id: 'cli-dublab-unknown-target', pipeline: 'dublab', category: 'language', argv: (f) => ['start', 'dublab', '--source', f.video, '--source-lang', 'en', '--target-lang', 'es,tlh', '--duration', '3'], expectField: 'input.targetLanguages.1', expectReason: /"tlh" is not a language tag/ }),
  C({ id: 'cli-localize-shot-id-letters', pipeline: 'localize', category: 'not-a-number', argv: (f) => ['start', 'localize', '--source', f.video, '--source-lang', 'en', '--target-lang', 'es', '--duration', '3', '--shot-id', 'abc'], expectField: 'input.shotId', expectReason: /must be a numeric shot id/ }),
  C({ id: 'cli-text2video-empty-text', pipeline: 'text2video', category: 'empty-prompt', argv: () => ['start', 'text2video', '--text', ''], expectField: 'input.text', expectReason: /must not be empty/ }),
  C({ id: 'cli-text2video-text-and-text-file', pipeline: 'text2video', category: 'exclusive-fields', argv: (f) => ['start', 'text2video', '--text', 'a', '--text-file', f.write('story.txt', 'A story.\n')], expectField: '--text-file', expectReason: /give one of them, not both/ }),
  C({ id: 'cli-text-file-blank', pipeline: 'text2video', category: 'empty-prompt', argv: (f) => ['start', 'text2video', '--text-file', f.write('blank.txt', '\n\n  \n')], expectField: 'input.text', expectReason: /must not be empty/ }),
  C({ id: 'cli-text-file-missing', pipeline: 'text2video', category: 'missing-file', argv: (f) => ['start', 'text2video', '--text-file', path.join(f.dir, 'nope.txt')], expectField: '--text-file', expectReason: /cannot read .*nope\.txt \(ENOENT\)/ }),
  C({ id: 'cli-text-file-directory', pipeline: 'text2video', category: 'not-a-file', argv: (f) => ['start', 'text2video', '--text-file', f.directory], expectField: '--text-file', expectReason: /\(EISDIR\)/ }),
  C({ id: 'cli-text-file-not-utf8', pipeline: 'text2video', category: 'encoding', argv: (f) => ['start', 'text2video', '--text-file', f.write('latin1.txt', Buffer.from('Une histoire\nLe caf\xe9 ferme.\n', 'latin1'))], expectField: '--text-file', expectReason: /line 2: not UTF-8 text \(invalid byte 0xe9/ }),
  C({ id: 'cli-text2video-oversized-text-file', pipeline: 'text2video', category: 'oversized-prompt', argv: (f) => ['start', 'text2video', '--text-file', f.write('long.txt', 'word '.repeat(10_001))], expectField: 'input.text', expectReason: /must be at most 50000 characters/ }),
  C({ id: 'cli-output-name-traversal', pipeline: 'text2video', category: 'path-traversal', argv: () => ['start', 'text2video', '--text', 'hi', '--output-name', '../../x.mp4'], expectField: 'input.outputName', expectReason: /must be a file name/ }),
  C({ id: 'cli-output-subdir-absolute', pipeline: 'vividflow', category: 'path-traversal', argv: (f) => ['start', 'vividflow', '--prompt', 'a cat', '--image', f.image, '--output-subdir', '/etc'], expectField: 'input.outputSubdir', expectReason: /must be relative/ }),
  C({ id: 'cli-input-traversal-in-output-name', pipeline: 'lipdub', category: 'path-traversal', argv: (f) => ['start', 'lipdub', '--input', f.write('traversal.json', JSON.stringify({ video: f.video, audios: [{ source: f.audio, language: 'es', outputName: '../../etc/passwd' }] }))], expectField: 'input.audios.0.outputName', expectReason: /must be a file name/ }),
  C({ id: 'cli-key-traversal', pipeline: 'text2video', category: 'path-traversal', argv: () => ['start', 'text2video', '--text', 'hi', '--key', '../../other'], expectField: '--key', expectReason: /letters, digits/ }),
  C({ id: 'cli-input-missing', pipeline: 'aistudio', category: 'missing-file', argv: (f) => ['start', 'aistudio', '--input', path.join(f.dir, 'nope.json')], expectField: '--input', expectReason: /cannot read .*nope\.json \(ENOENT\)/ }),
  C({ id: 'cli-input-directory', pipeline: 'aistudio', category: 'not-a-file', argv: (f) => ['start', 'aistudio', '--input', f.directory], expectField: '--input', expectReason: /\(EISDIR\)/ }),
  C({ id: 'cli-input-malformed-json', pipeline: 'dublab', category: 'malformed', argv: (f) => ['start', 'dublab', '--input', f.write('broken.json', '{"source": "a.mp4",')], expectField: '--input', expectReason: /is not valid JSON/ }),
  C({ id: 'cli-input-json-array', pipeline: 'dublab', category: 'malformed', argv: (f) => ['start', 'dublab', '--input', f.write('array.json', '[1, 2]')], expectField: '--input', expectReason: /must contain a JSON object/ }),
  C({ id: 'cli-input-not-utf8', pipeline: 'text2video', category: 'encoding', argv: (f) => ['start', 'text2video', '--input', f.write('latin1.json', Buffer.from('{\n"text": "Cr\xe8me br\xfbl\xe9e"\n}', 'latin1'))], expectField: '--input', expectReason: /line 2: not UTF-8 text/ }),
  C({ id: 'cli-input-bom-then-bad-field', pipeline: 'text2video', category: 'encoding', argv: (f) => ['start', 'text2video', '--input', f.write('bom.json', '\uFEFF{"text": ""}\r\n')], expectField: 'input.text', expectReason: /must not be empty/ }),
  C({ id: 'cli-batch-window-zero', pipeline: 'batch', category: 'out-of-range', argv: (f) => ['batch', 'run', f.write('ok-window.jsonl', okLine + '\n'), '--window', '0'], expectField: '--window', expectReason: /must be at least 1/ }),
  C({ id: 'cli-batch-window-fraction', pipeline: 'batch', category: 'not-a-number', argv: (f) => ['batch', 'run', f.write('ok-fraction.jsonl', okLine + '\n'), '--window', '2.5'], expectField: '--window', expectReason: /is not a whole number/ }),
  C({ id: 'cli-batch-key-traversal', pipeline: 'batch', category: 'path-traversal', argv: (f) => ['batch', 'run', f.write('ok-key.jsonl', okLine + '\n'), '--key', '../x'], expectField: '--key', expectReason: /letters, digits/ }),
  C({ id: 'cli-batch-unknown-subcommand', pipeline: 'batch', category: 'bad-flag', argv: () => ['batch', 'explode', 'x'], expectField: 'batch subcommand', expectReason: /"explode"/ }),

  // ── Batch manifests ─────────────────────────────────────────────────────────────────────────
  M({ id: 'manifest-malformed-json-line', category: 'malformed', file: 'broken.jsonl', text: () => [okLine, '{"pipeline": "text2video", "input": {'].join('\n'), line: 2, expectField: 'line 2', expectReason: /not valid JSON/ }),
  M({ id: 'manifest-line-is-an-array', category: 'malformed', file: 'array.jsonl', text: () => ['# a comment', '', '[1, 2]'].join('\n'), line: 3, expectField: 'line 3', expectReason: /must be an object/ }),
  M({ id: 'manifest-unknown-pipeline', category: 'unknown-pipeline', file: 'pipeline.jsonl', text: () => [okLine, line('hologram', { text: 'x' })].join('\n'), line: 2, expectField: 'pipeline', expectReason: /"hologram" is not one of lipdub, dublab, text2video, vividflow, aistudio, localize/ }),
  M({ id: 'manifest-nested-batch-pipeline', category: 'unknown-pipeline', file: 'nested.jsonl', text: () => line('batch', { manifestPath: '/x', total: 1 }), line: 1, expectField: 'pipeline', expectReason: /"batch" is not one of/ }),
  M({ id: 'manifest-unknown-top-level-field', category: 'unknown-key', file: 'extra.jsonl', text: () => line('text2video', { text: 'x' }, { priority: 1 }), line: 1, expectField: 'priority', expectReason: /unknown field/ }),
  M({ id: 'manifest-unknown-input-field', pipeline: 'text2video', category: 'unknown-key', file: 'extra-input.jsonl', text: () => line('text2video', { text: 'x', voice: 'deep' }), line: 1, expectField: 'input.voice', expectReason: /unknown field/ }),
  M({ id: 'manifest-input-not-an-object', category: 'malformed', file: 'input-string.jsonl', text: () => line('text2video', 'A story'), line: 1, expectField: 'input', expectReason: /must be an object/ }),
  M({ id: 'manifest-duplicate-key', category: 'duplicate', file: 'dup.jsonl', text: () => [line('text2video', { text: 'a' }, { key: 'intro' }), line('text2video', { text: 'b' }, { key: 'intro' })].join('\n'), line: 2, expectField: 'key', expectReason: /"intro" is also the key of line 1/ }),
  M({ id: 'manifest-digit-only-key', category: 'duplicate', file: 'digits.jsonl', text: () => [line('text2video', { text: 'a' }, { key: '2' }), line('text2video', { text: 'b' })].join('\n'), line: 1, expectField: 'key', expectReason: /only digits/ }),
  M({ id: 'manifest-key-traversal', category: 'path-traversal', file: 'key.jsonl', text: () => line('text2video', { text: 'a' }, { key: '../../etc' }), line: 1, expectField: 'key', expectReason: /letters, digits/ }),
  M({ id: 'manifest-output-subdir-traversal', pipeline: 'text2video', category: 'path-traversal', file: 'subdir.jsonl', text: () => line('text2video', { text: 'a', outputSubdir: '../../../tmp' }), line: 1, expectField: 'input.outputSubdir', expectReason: /without "\.\."/ }),
  M({ id: 'manifest-duration-overflows-to-infinity', pipeline: 'dublab', category: 'not-a-number', file: 'infinity.jsonl', text: () => '{"pipeline":"dublab","input":{"source":"talk.mp4","sourceLanguage":"en","targetLanguages":["es"],"durationSeconds":1e999}}', line: 1, expectField: 'input.durationSeconds', expectReason: /received Infinity/ }),
  M({ id: 'manifest-missing-image-relative', pipeline: 'vividflow', category: 'missing-file', file: 'image.jsonl', text: () => [okLine, okLine, line('vividflow', { prompt: 'a cat', imagePath: 'stills/none.png' })].join('\n'), line: 3, expectField: 'input.imagePath', expectReason: /stills\/none\.png does not exist/ }),
  M({ id: 'manifest-unknown-language', pipeline: 'localize', category: 'language', file: 'lang.jsonl', text: () => line('localize', { source: 'talk.mp4', sourceLanguage: 'en', targetLanguages: ['qq'], durationSeconds: 3 }), line: 1, expectField: 'input.targetLanguages.0', expectReason: /"qq" is not an ISO 639-1/ }),
  M({ id: 'manifest-oversized-prompt', pipeline: 'aistudio', category: 'oversized-prompt', file: 'long.jsonl', text: () => line('aistudio', { prompt: 'x'.repeat(6000) }), line: 1, expectField: 'input.prompt', expectReason: /at most 5000 characters/ }),
  M({ id: 'manifest-priority-negative', pipeline: 'aistudio', category: 'out-of-range', file: 'priority.jsonl', text: () => [okLine, line('aistudio', { prompt: 'a boat', priority: -1 })].join('\n'), line: 2, expectField: 'input.priority', expectReason: /from 1 \(highest\) to 5 \(lowest\)/ }),
  M({ id: 'manifest-content-type', pipeline: 'lipdub', category: 'content-type', file: 'ct.jsonl', text: () => line('lipdub', { video: 'talk.mp4', videoContentType: 'image/png', audios: [{ source: 'es.mp3', language: 'es' }] }), line: 1, expectField: 'input.videoContentType', expectReason: /video\/\*/ }),
  M({ id: 'manifest-not-utf8', pipeline: 'text2video', category: 'encoding', file: 'latin1.jsonl', text: () => Buffer.concat([Buffer.from(okLine + '\n'), Buffer.from('{"pipeline":"text2video","input":{"text":"caf\xe9"}}\n', 'latin1')]), line: 2, expectField: 'line 2', expectReason: /not UTF-8 text \(invalid byte 0xe9/ }),
  M({ id: 'manifest-empty', category: 'malformed', file: 'empty.jsonl', text: () => '# nothing here\n\n', line: 0, expectField: 'manifest', expectReason: /has no items/ }),
  M({ id: 'manifest-missing-file', category: 'missing-file', file: 'absent.jsonl', path: (f) => path.join(f.dir, 'absent.jsonl'), line: 0, expectField: 'absent.jsonl', expectReason: /cannot read .*ENOENT/ }),
  M({ id: 'manifest-is-a-directory', category: 'not-a-file', file: 'a-dir.jsonl', path: (f) => path.join(f.directory), line: 0, expectField: 'a-directory.mp4', expectReason: /EISDIR/ }),
  M({ id: 'manifest-csv-missing-input-column', category: 'malformed', file: 'no-input.csv', text: () => 'pipeline,key\ntext2video,a\n', line: 1, expectField: 'input', expectReason: /missing: input/ }),
  M({ id: 'manifest-csv-repeated-column', category: 'duplicate', file: 'twice.csv', text: () => 'pipeline,input,input\ntext2video,"{}","{}"\n', line: 1, expectField: 'input', expectReason: /more than once/ }),
  M({ id: 'manifest-csv-unterminated-quote', category: 'malformed', file: 'quote.csv', text: () => 'pipeline,input\ntext2video,"{""text"":""a""}"\ntext2video,"{""text"":""b""}\ntext2video,"{""text"":""c""}"\n', line: 3, expectField: 'line 3', expectReason: /never closed/ }),
  M({ id: 'manifest-csv-wrong-cell-count', category: 'malformed', file: 'cells.csv', text: () => 'pipeline,input\ntext2video,"{""text"":""a""}",extra\n', line: 2, expectField: 'cells', expectReason: /has 3 cells, the header has 2/ }),
  M({ id: 'manifest-csv-input-not-json', category: 'malformed', file: 'cell-json.csv', text: () => 'pipeline,input\ntext2video,{text: a}\n', line: 2, expectField: 'input', expectReason: /not valid JSON/ }),
  M({ id: 'manifest-csv-bom-crlf-bad-line', pipeline: 'text2video', category: 'encoding', file: 'windows.csv', text: () => '\uFEFFpipeline,input\r\ntext2video,"{""text"":""fine""}"\r\ntext2video,"{""text"":""""}"\r\n', line: 3, expectField: 'input.text', expectReason: /must not be empty/ }),
  M({ id: 'manifest-csv-multiline-cell-then-bad-line', pipeline: 'vividflow', category: 'out-of-range', file: 'multiline.csv', text: () => 'pipeline,input\ntext2video,"{""text"":\n""two lines""}"\nvividflow,"{""prompt"":""p"",""imageUrl"":""gs://b/i.png"",""cfg"":99}"\n', line: 4, expectField: 'input.cfg', expectReason: /<=20/ }),
  M({ id: 'manifest-csv-not-utf8', pipeline: 'text2video', category: 'encoding', file: 'latin1.csv', text: () => Buffer.from('pipeline,input\ntext2video,"{""text"":""ok""}"\ntext2video,"{""text"":""na\xefve""}"\n', 'latin1'), line: 3, expectField: 'line 3', expectReason: /not UTF-8 text \(invalid byte 0xef/ }),
];

export const workflowInputCases = CATALOGUE.filter((c): c is WorkflowInputCase => c.surface === 'workflow-input');
export const cliCases = CATALOGUE.filter((c): c is CliCase => c.surface === 'cli');
export const manifestCases = CATALOGUE.filter((c): c is ManifestCase => c.surface === 'manifest');
