export interface SandboxTimings {
  lipdub: { shotMs: number; trainingMs: number; generateQueueMs: number; generateMs: number };
  dublab: { queueMs: number; processMs: number };
  /** queued for queueMs, then one progress stage (20, 40, 60, 80, 90 → 100) per stageMs. */
  text2video: { queueMs: number; stageMs: number };
  /** Each job processes for processMs; at most `workers` jobs process at once across the sandbox (0 pauses the queue). */
  vividflow: { processMs: number; workers: number };
  /** PENDING for pendingMs, then RUNNING for runMs; a mockMode 'true' job (no Veo call) runs min(runMs, mockRunMs). */
  aistudio: { pendingMs: number; runMs: number; mockRunMs: number };
}

export type GenerateIdVariant = 'rotate' | 'generate_id' | 'generateId' | 'id';

export interface LipdubConfig {
  generateIdVariant: GenerateIdVariant;
  numericGenerateIds: boolean | 'rotate';
  failShot: boolean;
  failTraining: boolean;
  failGenerateLanguages: string[];
}

export interface DublabConfig {
  /** The live balance: completions charge it, configure() sets it. */
  credits: number;
  failLanguages: string[];
  supportedLanguages: string[];
}

export interface Text2videoConfig {
  /** A job whose text contains one of these fails (during search query generation) with an error. */
  failTexts: string[];
}

export interface VividflowConfig {
  /** Requests per key per rolling hour / day (every request with a valid key counts). */
  hourlyLimit: number;
  dailyLimit: number;
  /** Length of the "hour" window, so tests can compress time (the day is 24 of them). */
  hourMs: number;
  /** A job whose prompt contains one of these ends `failed`. */
  failPrompts: string[];
  /** More valid API keys besides `keys.vividflow` (other users: their jobs are 403 to each other). */
  extraKeys: string[];
}

export interface AistudioConfig {
  /** The live token balance of `keys.aistudio`: each create takes 50, configure() sets it. */
  tokens: number;
  /** PENDING + RUNNING jobs a user (a token) may have; the next create is 429. */
  maxConcurrent: number;
  /** A job whose prompt contains one of these ends FAILED. */
  failPrompts: string[];
  /** More valid bearer tokens (other users, each with its own balance starting at 1000). */
  extraTokens: string[];
}

/**
 * How the simulated providers answer:
 * - `faithful` (default): the shapes in docs/provider-assumptions.md, including the fields the docs are
 *   silent about but a real provider plausibly sends;
 * - `docs-minimal`: exactly the fields the provider docs show on each endpoint and nothing more, ids in
 *   the least convenient documented form, values that the docs allow to arrive late arriving late, signed
 *   download URLs that expire 20 s after issue and HTML (not JSON) bodies on 502/503. It is what a server
 *   written from the docs alone would do (docs/provider-fields.md).
 */
export const SANDBOX_PROFILES = ['faithful', 'docs-minimal'] as const;
export type SandboxProfile = (typeof SANDBOX_PROFILES)[number];

/** Signed download URLs in the docs-minimal profile expire this long after issue. */
export const DOCS_MINIMAL_DOWNLOAD_TTL_SECONDS = 20;

/** Everything that can change while the sandbox runs (configure() / POST /_sandbox/config). */
export interface SandboxConfig {
  profile: SandboxProfile;
  timings: SandboxTimings;
  urlTtlSeconds: number;
  lipdub: LipdubConfig;
  dublab: DublabConfig;
  text2video: Text2videoConfig;
  vividflow: VividflowConfig;
  aistudio: AistudioConfig;
}

export const AISTUDIO_TOKEN_COST = 50;
export const AISTUDIO_DEFAULT_TOKENS = 1000;
/** Default of timings.aistudio.mockRunMs: how long a mockMode 'true' job runs at most. */
export const AISTUDIO_MOCK_RUN_MS = 50;

export type DeepPartial<T> = T extends readonly unknown[] ? T : T extends object ? { [K in keyof T]?: DeepPartial<T[K]> } : T;

export const DEFAULT_SUPPORTED_LANGUAGES = [
  'en', 'es', 'fr', 'de', 'it', 'pt', 'tr', 'ja', 'ko', 'zh', 'hi', 'ar', 'ru', 'nl', 'pl', 'sv',
  'da', 'fi', 'no', 'cs', 'el', 'he', 'hu', 'id', 'ms', 'ro', 'sk', 'th', 'uk', 'vi', 'bg', 'hr', 'ta', 'ca',
];

/** The TTL of a signed download URL handed out now (upload URLs always use `urlTtlSeconds`). */
export function downloadTtlSeconds(config: SandboxConfig): number {
  return config.profile === 'docs-minimal' ? Math.min(config.urlTtlSeconds, DOCS_MINIMAL_DOWNLOAD_TTL_SECONDS) : config.urlTtlSeconds;
}

export function defaultConfig(): SandboxConfig {
  return {
    profile: 'faithful',
    timings: {
      lipdub: { shotMs: 2000, trainingMs: 2000, generateQueueMs: 1000, generateMs: 3000 },
      dublab: { queueMs: 1000, processMs: 3000 },
      text2video: { queueMs: 500, stageMs: 500 },
      vividflow: { processMs: 3000, workers: 1 },
      aistudio: { pendingMs: 1000, runMs: 3000, mockRunMs: AISTUDIO_MOCK_RUN_MS },
    },
    urlTtlSeconds: 3600,
    lipdub: { generateIdVariant: 'generate_id', numericGenerateIds: false, failShot: false, failTraining: false, failGenerateLanguages: [] },
    dublab: { credits: 10_000, failLanguages: [], supportedLanguages: [...DEFAULT_SUPPORTED_LANGUAGES] },
    text2video: { failTexts: [] },
    vividflow: { hourlyLimit: 500, dailyLimit: 2000, hourMs: 3_600_000, failPrompts: [], extraKeys: [] },
    aistudio: { tokens: AISTUDIO_DEFAULT_TOKENS, maxConcurrent: 3, failPrompts: [], extraTokens: [] },
  };
}

const ENUMS: Record<string, readonly unknown[]> = {
  profile: SANDBOX_PROFILES,
  generateIdVariant: ['rotate', 'generate_id', 'generateId', 'id'],
  numericGenerateIds: [true, false, 'rotate'],
};

/**
 * Merges a patch into the live config in place. Arrays replace; unknown keys and wrongly typed
 * values throw (the admin endpoint turns that into a 400) so a typo never silently does nothing.
 */
export function applyConfigPatch(target: SandboxConfig, patch: unknown): void {
  const validated = structuredClone(target) as unknown as Record<string, unknown>;
  merge(validated, patch, '');
  Object.assign(target, validated);
}

function merge(target: Record<string, unknown>, patch: unknown, at: string): void {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) {
    throw new Error(`${at || 'config'} must be an object`);
  }
  for (const [key, value] of Object.entries(patch as Record<string, unknown>)) {
    const where = at ? `${at}.${key}` : key;
    if (!(key in target)) throw new Error(`unknown config key ${where}`);
    const current = target[key];
    if (key in ENUMS) {
      if (!ENUMS[key]!.includes(value)) throw new Error(`${where} must be one of ${ENUMS[key]!.map((v) => JSON.stringify(v)).join(', ')}`);
      target[key] = value;
    } else if (Array.isArray(current)) {
      if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) throw new Error(`${where} must be an array of strings`);
      target[key] = [...value];
    } else if (current !== null && typeof current === 'object') {
      merge(current as Record<string, unknown>, value, where);
    } else if (typeof current === 'number') {
      if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) throw new Error(`${where} must be a non-negative number`);
      target[key] = value;
    } else if (typeof value !== typeof current) {
      throw new Error(`${where} must be a ${typeof current}`);
    } else {
      target[key] = value;
    }
  }
}
