import { createHash } from 'node:crypto';
import { deflateSync } from 'node:zlib';

/**
 * How the sandbox derives provider outputs from inputs. Outputs are cheap (a header, then the input
 * bytes) but depend on every input, so a test can compute the exact bytes a pipeline must deliver.
 * The sandbox builds the same bytes by streaming: `prefix` + (optionally) the stored source.
 */

export function sha256Hex(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

// LipDub

/**
 * The header is an MP4 `free` box (size, `free`, text): a player skips it, so when the input video is an
 * MP4 the "lip-synced" output plays too (the dashboard's browser test watches one), while the text still
 * names the language and both inputs.
 */
export function lipdubOutputHeader(videoSha256: string, audioSha256: string, language: string): Buffer {
  const text = Buffer.from(`REELAY-SANDBOX lipdub language=${language} video_sha256=${videoSha256} audio_sha256=${audioSha256}\n`);
  const box = Buffer.alloc(8);
  box.writeUInt32BE(8 + text.length, 0);
  box.write('free', 4, 'latin1');
  return Buffer.concat([box, text]);
}

/** The lip-synced video: a header (an MP4 free box) naming the language and both inputs' sha256, then the video bytes. */
export function lipdubOutput(videoBytes: Buffer, audioBytes: Buffer, language: string): Buffer {
  return Buffer.concat([lipdubOutputHeader(sha256Hex(videoBytes), sha256Hex(audioBytes), language), videoBytes]);
}

export const LIPDUB_OUTPUT_CONTENT_TYPE = 'video/mp4';

// DubLab

export const DUBLAB_OUTPUT_TYPES = [
  'translated_mp4',
  'translated',
  'translated_mp3',
  'translated_subtitle',
  'original',
  'original_mp4',
  'original_mp3',
  'original_subtitle',
  'poster',
] as const;
export type DublabOutputType = (typeof DUBLAB_OUTPUT_TYPES)[number];

export function isDublabOutputType(t: string): t is DublabOutputType {
  return (DUBLAB_OUTPUT_TYPES as readonly string[]).includes(t);
}

export interface OutputPlan {
  contentType: string;
  /** Bytes written first. */
  prefix: Buffer;
  /** Whether the source bytes follow the prefix. */
  includeSource: boolean;
}

/**
 * `lang` is the language the output is in: the dub's target language for `translated*`, the
 * source language for `original_mp3` / `original_subtitle`; `original`, `original_mp4` and `poster`
 * ignore it. `translated` and `translated_mp4` are the same bytes.
 */
export function dublabOutputPlan(type: string, sourceSha256: string, lang: string, sourceContentType = 'video/mp4'): OutputPlan {
  if (!isDublabOutputType(type)) throw new Error(`unknown DubLab output type ${type}`);
  switch (type) {
    case 'translated_mp4':
    case 'translated':
      return {
        contentType: 'video/mp4',
        prefix: Buffer.from(`REELAY-SANDBOX dublab dub language=${lang} source_sha256=${sourceSha256}\n`),
        includeSource: true,
      };
    case 'translated_mp3':
      return {
        contentType: 'audio/mpeg',
        prefix: Buffer.from(`REELAY-SANDBOX dublab audio language=${lang} source_sha256=${sourceSha256}\n`),
        includeSource: false,
      };
    case 'original_mp3':
      return {
        contentType: 'audio/mpeg',
        prefix: Buffer.from(`REELAY-SANDBOX dublab original-audio language=${lang} source_sha256=${sourceSha256}\n`),
        includeSource: false,
      };
    case 'translated_subtitle':
    case 'original_subtitle':
      return { contentType: 'text/vtt', prefix: Buffer.from(webVtt(lang, sourceSha256)), includeSource: false };
    case 'original':
    case 'original_mp4':
      return { contentType: sourceContentType, prefix: Buffer.alloc(0), includeSource: true };
    case 'poster':
      return { contentType: 'image/png', prefix: posterPng(sourceSha256), includeSource: false };
  }
}

export function dublabOutput(type: string, sourceBytes: Buffer, lang: string): Buffer {
  const plan = dublabOutputPlan(type, sha256Hex(sourceBytes), lang);
  return plan.includeSource ? Buffer.concat([plan.prefix, sourceBytes]) : plan.prefix;
}

// text2video

export const TEXT2VIDEO_OUTPUT_CONTENT_TYPE = 'video/mp4';

/** The generated video: a header naming the text's sha256, then the text itself. */
export function text2videoOutput(text: string): Buffer {
  const t = Buffer.from(text, 'utf8');
  return Buffer.concat([Buffer.from(`REELAY-SANDBOX text2video text_sha256=${sha256Hex(t)} text_bytes=${t.length}\n`), t, Buffer.from('\n')]);
}

// Vivid Flow

export const VIVIDFLOW_OUTPUT_CONTENT_TYPE = 'video/mp4';

/** `key="value"` lines, sorted by key: every submitted parameter shows in the output. */
function paramLines(params: Record<string, string>, skip: string[]): Buffer {
  const keys = Object.keys(params)
    .filter((k) => !skip.includes(k))
    .sort();
  return Buffer.from(keys.map((k) => `${k}=${JSON.stringify(params[k])}\n`).join(''));
}

/**
 * The video for the form parameters as submitted (strings; JSON bodies' numbers and booleans become
 * their string forms), the image's sha256 (uploaded or fetched from an https URL) and/or its URL.
 */
export function vividflowOutputFromHash(params: Record<string, string>, imageSha256: string | undefined, imageUrl: string | undefined): Buffer {
  const head = [
    'REELAY-SANDBOX vividflow',
    `model=${params.model ?? 'wan2.1'}`,
    `prompt_sha256=${sha256Hex(Buffer.from(params.prompt ?? '', 'utf8'))}`,
    ...(imageSha256 !== undefined ? [`image_sha256=${imageSha256}`] : []),
    ...(imageUrl !== undefined ? [`image_url=${imageUrl}`] : []),
  ].join(' ');
  return Buffer.concat([Buffer.from(`${head}\n`), paramLines(params, ['image', 'image_url'])]);
}

/**
 * `imageBytes`: the uploaded `image` file, or the bytes an `https://` `image_url` served (then pass
 * the URL too); `gs://` URLs are not fetched: pass only the URL.
 */
export function vividflowOutput(params: Record<string, string>, imageBytes: Buffer | undefined, imageUrl: string | undefined): Buffer {
  return vividflowOutputFromHash(params, imageBytes ? sha256Hex(imageBytes) : undefined, imageUrl);
}

// AI Studio

export const AISTUDIO_OUTPUT_CONTENT_TYPE = 'video/mp4';

export interface AistudioFiles<T> {
  initialImage?: T;
  endFrame?: T;
  referenceImages?: T[];
}

/** The video for the text fields as submitted and the sha256 of each file. */
export function aistudioOutputFromHashes(fields: Record<string, string>, files: AistudioFiles<string>): Buffer {
  const head = [
    'REELAY-SANDBOX aistudio',
    `model=${fields.model ?? ''}`,
    `resolution=${fields.resolution ?? ''}`,
    `aspectRatio=${fields.aspectRatio ?? ''}`,
    `durationSeconds=${fields.durationSeconds ?? '8'}`,
    `prompt_sha256=${sha256Hex(Buffer.from(fields.prompt ?? '', 'utf8'))}`,
  ].join(' ');
  const fileLines = [
    ...(files.initialImage !== undefined ? [`file initialImage sha256=${files.initialImage}`] : []),
    ...(files.endFrame !== undefined ? [`file endFrame sha256=${files.endFrame}`] : []),
    ...(files.referenceImages ?? []).map((h, i) => `file referenceImages[${i}] sha256=${h}`),
  ];
  return Buffer.concat([Buffer.from(`${head}\n${fileLines.map((l) => `${l}\n`).join('')}`), paramLines(fields, [])]);
}

export function aistudioOutput(fields: Record<string, string>, files: AistudioFiles<Buffer> = {}): Buffer {
  return aistudioOutputFromHashes(fields, {
    ...(files.initialImage ? { initialImage: sha256Hex(files.initialImage) } : {}),
    ...(files.endFrame ? { endFrame: sha256Hex(files.endFrame) } : {}),
    ...(files.referenceImages ? { referenceImages: files.referenceImages.map(sha256Hex) } : {}),
  });
}

function webVtt(lang: string, sourceSha256: string): string {
  return [
    'WEBVTT',
    '',
    `NOTE reelay sandbox subtitles language=${lang} source_sha256=${sourceSha256}`,
    '',
    '1',
    '00:00:00.000 --> 00:00:02.000',
    `[${lang}] Sandbox subtitles in ${lang}`,
    '',
  ].join('\n');
}

/** A valid 1×1 greyscale PNG whose pixel and text chunk come from the source hash. */
function posterPng(sourceSha256: string): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(1, 0);
  ihdr.writeUInt32BE(1, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 0; // greyscale
  const grey = parseInt(sourceSha256.slice(0, 2), 16);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', ihdr),
    pngChunk('tEXt', Buffer.from(`Comment\0reelay sandbox poster source_sha256=${sourceSha256}`, 'latin1')),
    pngChunk('IDAT', deflateSync(Buffer.from([0, grey]))),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

function pngChunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const typeAndData = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(typeAndData));
  return Buffer.concat([len, typeAndData, crc]);
}

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function crc32(buf: Buffer): number {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
