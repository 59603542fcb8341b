/**
 * The shape of a pipeline's spec (src/pipelines/<id>/spec.ts): everything the edges and the shared
 * machinery need to know about one pipeline, as plain data and pure functions. registry.ts lists the
 * specs; the worker, the client, `reelay start`/`reelay list`, the batch and the cost guard read them.
 *
 * Pure: workflows reach the specs through the registry (batch and localize name their children from it),
 * so a spec imports no zod schemas, no clients and no Node APIs; it imports its input types only as types.
 * What needs Node (reading a file, resolving a path) is handed in by the caller (`StartFlagReader`,
 * `TextHelpers`).
 */

/** How the batch's cost guard treats a pipeline's runs (src/pipelines/batch/cost.ts adds them up). */
export type PipelineCost =
  /** Billed where the provider tells a price; the spec's `estimate` counts it and the guard checks the balance. */
  | 'estimated'
  /** Billed by the provider but with no documented price or balance to check against (LipDub). */
  | 'unpriced'
  /** Nothing billed (self-hosted text2video). */
  | 'free'
  /** Not run by a batch. */
  | 'not-a-batch-item';

/** What a batch will spend where a provider says what things cost. */
export interface CostEstimate {
  /** DubLab bills one credit per second of output, per language (docs/provider-assumptions.md). */
  dublabCredits: number;
  /** AI Studio takes 50 tokens per job at creation (docs). */
  aistudioTokens: number;
  /** Vivid Flow takes one credit per accepted generate (`credits_remaining` in /usage). */
  vividflowCredits: number;
}

/**
 * Adds one run's cost to `est`. The input is a manifest line's, unparsed; `estimateRun` prices a nested
 * run (localize's generate step) by its own pipeline's rule.
 */
export type CostEstimator = (input: Record<string, unknown>, est: CostEstimate, estimateRun: (pipeline: unknown, input: Record<string, unknown>) => void) => void;

/** A `reelay start` flag and the input field it sets. */
export type StartFlag = {
  description: string;
  /** Shown in the help after the flag, e.g. `PATH|URL`. */
  value?: string;
} & (
  | { kind: 'string'; field: string; /** Setting this field by flag drops the other one the input file chose (one of two). */ replaces?: string }
  | { kind: 'number'; field: string }
  | { kind: 'list'; field: string; commaSeparated?: boolean }
  /** A boolean flag that sets the field to true / false. */
  | { kind: 'true'; field: string }
  | { kind: 'false'; field: string }
  /** Read by the spec's own `apply` (a flag that sets more than one field, or reads a file). */
  | { kind: 'custom'; type: 'string' | 'boolean'; multiple?: boolean }
);

/** How a spec's `apply` reads flags; every problem is a usage error naming the flag. */
export interface StartFlagReader {
  str(flag: string): string | undefined;
  num(flag: string): number | undefined;
  bool(flag: string): boolean;
  /** `LANG=VALUE` pairs. */
  pairs(flag: string, valueName: string): Array<{ key: string; value: string }> | undefined;
  /** A UTF-8 text file's content. */
  readTextFile(flag: string, file: string): string;
  usageError(message: string): Error;
}

/** How `reelay start <id>` builds the pipeline's input from flags (the flags every pipeline takes are the CLI's own). */
export interface StartCli {
  /** Usage lines, without the leading `reelay `. */
  usage: readonly string[];
  /** Help examples, without the leading `reelay `. */
  examples?: readonly string[];
  flags: Readonly<Record<string, StartFlag>>;
  /** The `custom` flags, applied after the table's. */
  apply?(input: Record<string, unknown>, read: StartFlagReader): void;
}

/** Text helpers the edge hands to a spec's summaries (they need Node's path and URL). */
export interface TextHelpers {
  /** A file reference's name: the file name of a local path or of a URL's path, never its query. */
  refName(ref: string): string;
  /** The text on one line, cut to `max` characters. */
  oneLine(text: string, max: number): string;
}

/** A local file field of an input: the edge checks it exists and makes it absolute. */
export interface FileField {
  field: string;
  ref: string | undefined;
  set(abs: string): void;
}

/** How the edge names and checks a run of a startable pipeline. `I` is the parsed input. */
export interface EdgeSpec<I> {
  /** The run's summary in the Temporal UI (`LipDub: talk.mp4 → es-MX, fr-FR`). */
  summary(input: I, text: TextHelpers): string;
  /** The readable part of a generated workflow id key. */
  keyHint(input: I, text: TextHelpers): string;
  /**
   * Local file fields, resolved to absolute paths and checked for existence at the edge; `nested` gives
   * those of a run inside this one (localize's generate step), named by their path in this input.
   */
  files(input: I, nested: (pipeline: string, input: unknown, prefix: string) => FileField[]): FileField[];
}

/** The registry's line of a pipeline. */
export interface PipelineEntry {
  /** The workflow type of the public contract (DESIGN.md); never changes, or recorded histories stop replaying. */
  workflowType: string;
  /** Workflow ids are `<idPrefix>-<key>`. */
  idPrefix: string;
  /** The ReelayProvider search attribute value. */
  provider: string;
  /** How people name it in prose and help. */
  title: string;
  /** `reelay start <id>` and the client's `startPipeline` take it (batch has its own starter). */
  startable: boolean;
  /** A batch manifest line may name it. */
  batchItem: boolean;
  cost: PipelineCost;
  /** The cost guard's rule, for `cost: 'estimated'` pipelines (the registry refuses one without it). */
  estimate?: CostEstimator;
  /**
   * The provider's activities run on a task queue of their own (`<queue>-<provider>`) where the server
   * paces them across every worker.
   */
  pacedTaskQueue: boolean;
  /**
   * The provider's documented limits, the configuration's defaults (`REELAY_<PROVIDER>_MAX_CONCURRENT_JOBS`,
   * `_REQUESTS_PER_HOUR`, `_PER_DAY` override them; request limits apply to paced providers only).
   */
  limits?: { maxConcurrentJobs?: number; requestsPerHour?: number; requestsPerDay?: number };
  /** `reelay start` flags, for startable pipelines. */
  cli?: StartCli;
  // Each spec types its own parsed input; the edge calls it with what that schema parsed.
  edge?: EdgeSpec<any>;
}
