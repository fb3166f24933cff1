/**
 * The findings contract and the check interface (see shared DESIGN.md, "Findings — the contract").
 * Everything in checks/ is pure: a snapshot goes in, findings come out.
 */
import type { HubSecurityStatus } from './files/hub-security.ts';

export type Severity = 'critical' | 'warning' | 'info';

export type FindingCode =
  // architecture / config
  | 'ACT_MISMATCH'
  | 'HEAD_DIM_MISMATCH'
  | 'QUERY_SCALE_MISMATCH'
  | 'SWA_OFF_BY_ONE'
  | 'ROPE_SCALING'
  | 'SOFTCAP_MISSING'
  | 'MAX_POS_MISMATCH'
  | 'CONFIG_HPARAM_MISMATCH'
  | 'SHAPE_MISMATCH'
  | 'TIED_EMBEDDINGS_MISMATCH'
  | 'DTYPE_MISMATCH'
  | 'BASE_MODEL_MISMATCH'
  | 'CONFIG_CHANGED'
  | 'REMOTE_CODE'
  | 'SWA_MISMATCH'
  | 'MODEL_TYPE_MISMATCH'
  | 'ARCHITECTURES_MISSING'
  // tokenizer / template
  | 'SPECIAL_TOKEN_ID_MISMATCH'
  | 'TOKEN_ID_OUT_OF_RANGE'
  | 'VOCAB_SIZE_MISMATCH'
  | 'EOS_MISMATCH'
  | 'PAD_EQ_EOS'
  | 'DOUBLE_BOS'
  | 'CHAT_TEMPLATE_MISSING_BOS'
  | 'CHAT_TEMPLATE_ERROR'
  | 'CHAT_TEMPLATE_MISSING'
  | 'CHAT_TEMPLATE_GEN_PROMPT'
  | 'CHAT_TEMPLATE_DUP_SYSTEM'
  | 'CHAT_TEMPLATE_UNKNOWN_TOKEN'
  | 'SPECIAL_TOKEN_NORMALIZED'
  | 'SPECIAL_TOKEN_SPLIT'
  | 'TOKENIZER_FAST_SLOW_MISMATCH'
  | 'TOKENIZER_ROUNDTRIP'
  | 'TOKENIZER_CHANGED'
  | 'LEGACY_SPM'
  // weights
  | 'UNTRAINED_TOKENS'
  | 'UNTRAINED_SPECIAL_TOKEN'
  | 'NONFINITE_WEIGHTS'
  | 'WEIGHTS_IDENTICAL_TO_BASE'
  | 'LOW_RANK_DELTA'
  | 'WEIGHTS_NOT_FROM_BASE'
  // security / files
  | 'UNSAFE_PICKLE'
  | 'PICKLE_WEIGHTS'
  | 'FILE_MALFORMED'
  | 'FILE_TOO_LARGE'
  | 'FILE_SKIPPED'
  | 'CHECK_ERROR';

/** One finding: what is wrong, how bad, and the evidence a person can act on. */
export interface Finding {
  code: FindingCode;
  severity: Severity;
  /** Id of the check that produced it. */
  check: string;
  title: string;
  detail: string;
  /** Structured, JSON-serialisable evidence (tables, token ids, template excerpts, ...). */
  evidence: Record<string, unknown>;
  /** Files of the release the finding is about. */
  files: string[];
}

/** A finding as a check returns it; the runner fills in `check`. */
export type FindingInput = Omit<Finding, 'check'>;

export type CheckStatus = 'passed' | 'findings' | 'skipped' | 'error';

export type CheckOutcome =
  /** `evidence`: what a check measured even though nothing is wrong (the base-model fingerprint of an ordinary
   * fine-tune), kept with the release so pages can show it. */
  | { status: 'passed'; evidence?: Record<string, unknown> }
  | { status: 'findings'; findings: FindingInput[] }
  | { status: 'skipped'; reason: string }
  | { status: 'error'; error: string };

/** A safetensors tensor as described by a header (data offsets are relative to the data section). */
export interface TensorInfo {
  name: string;
  dtype: string;
  shape: number[];
  /** File (relative path) holding the tensor. */
  file: string;
  dataOffsets: [number, number];
}

/** One safetensors file's header as read by ranged reads. */
export interface SafetensorsFileInfo {
  path: string;
  size: number;
  /** Byte length of the JSON header (the data section starts at 8 + headerLength). */
  headerLength: number;
  metadata: Record<string, string> | null;
  /** Set when the header could not be read or lies; `tensors` is then empty. */
  error?: string;
  /** Why `error` is set: the header lies (`malformed`, a FILE_MALFORMED finding) or reading failed (`io`, retry). */
  errorKind?: 'malformed' | 'io';
}

export interface SafetensorsInventory {
  /** The index file, when the weights are sharded. */
  index: string | null;
  files: SafetensorsFileInfo[];
  /** Every tensor of every readable file, by name. */
  tensors: Record<string, TensorInfo>;
  /** Problems with the index itself (missing shard, unparsable JSON). */
  errors: string[];
}

export interface SnapshotFile {
  path: string;
  size: number;
  /** The Hub's own security scan of the file, when its listing carried one (files/hub-security.ts). */
  hubSecurity?: HubSecurityStatus;
}

/**
 * Everything the CPU checks need to know about one revision of a repo, built without reading weight data.
 * Small text files are kept verbatim in `texts`, small binaries in `binaries`; files too large to keep are in `omitted`.
 */
export interface Snapshot {
  repo: string;
  sha: string;
  files: SnapshotFile[];
  texts: Record<string, string>;
  /** Small binary files kept verbatim, base64-encoded (e.g. `tokenizer.model`). */
  binaries: Record<string, string>;
  /** Files that were not kept, with the reason (e.g. over the size cap). */
  omitted: Record<string, string>;
  /**
   * Files refused without being parsed or read, with the reason: `malformed` (nested past the depth bound, not
   * UTF-8: a FILE_MALFORMED finding) or `skipped` (a symlink out of a local folder, a device: FILE_SKIPPED).
   */
  rejected?: Record<string, { kind: 'malformed' | 'skipped'; reason: string }>;
  safetensors: SafetensorsInventory | null;
  /** Model card metadata (YAML front matter of README.md, or the Hub's cardData). */
  cardData: Record<string, unknown> | null;
  /**
   * Where the files were listed: a Hub revision (the default when absent) or a local folder, where a file the
   * index names may simply not have been downloaded (`--include "*.json"`).
   */
  origin?: 'hub' | 'local';
}

/** Family statistics the worker computes from other releases of the same model_type (the family-consensus check). */
export interface FamilyStats {
  modelType: string;
  releases: number;
  /** config key -> JSON-encoded value -> count */
  values: Record<string, Record<string, number>>;
  /** The same counts per model size (`<hidden_size>x<num_hidden_layers>`), built by checks/arch familyStatsFrom. */
  sizes?: Record<string, { releases: number; values: Record<string, Record<string, number>> }>;
}

/**
 * Per-row statistics of one 2-D tensor (row-major: one row per token for embeddings and lm_head), computed in one
 * streaming pass by lib/ (tensor-stats.ts) over a byte source. Statistics of a row holding NaN/Inf are over its
 * finite values only; such rows are listed in `nonFinite`.
 */
export interface RowStats {
  tensor: string;
  file: string;
  dtype: string;
  rows: number;
  cols: number;
  max: Float32Array;
  absMax: Float32Array;
  /** L2 norm of each row. */
  norm: Float32Array;
  mean: Float32Array;
  /** Two 32-bit words per row: a fingerprint of the row rounded to 3 decimals (equal rows, equal fingerprints). */
  roundedHash: Uint32Array;
  nonFinite: { row: number; nan: number; inf: number }[];
}

/** Computes per-row statistics of tensors for weight checks; implemented in lib/ over a byte source (local file or Hub ranges). */
export interface TensorStatsProvider {
  /**
   * Reads the tensor (ranged, streaming) and returns its per-row statistics. Throws MalformedTensorError
   * (checks/weights/tensor-errors.ts) when the header describes data that cannot be there, and another error
   * (e.g. SourceError) when reading fails.
   */
  rowStats(tensor: TensorInfo, signal?: AbortSignal): Promise<RowStats>;
}

/** Options of a release-vs-base comparison (defaults in lib/compute/delta-provider.ts). */
export interface DeltaOptions {
  /** Singular values to compute (randomized SVD sketch size). */
  q?: number;
  signal?: AbortSignal;
}

/**
 * A release tensor compared with the base's tensor of the same name, over a sample of their common rows.
 * Computed by lib/ on a compute backend; the fingerprint check (weights/base-fingerprint.ts) classifies it.
 */
export interface TensorDelta {
  tensor: string;
  releaseShape: number[];
  baseShape: number[];
  /** Rows both have (fewer than either when a vocabulary was resized). */
  commonRows: number;
  /** Rows read and compared, spread over the common rows. */
  rowsCompared: number;
  cols: number;
  /** Every compared value equal (bitwise when both sides have the same dtype). */
  identical: boolean;
  /** ‖ΔW‖ / ‖W_base‖ over the compared rows. */
  relativeDiff: number;
  /** ⟨W_release, W_base⟩ / (‖W_release‖ ‖W_base‖). */
  cosine: number;
  normBase: number;
  normDelta: number;
  /** Leading singular values of ΔW, descending (empty when identical). */
  singularValues: number[];
  /** Cells where either side is NaN or ±Inf (left out). */
  nonFinite: number;
  /** Tensor bytes read, release and base together. */
  bytesRead: number;
}

/** Reads the declared base model's tensors and compares them with the release's (the runner, the CLI with --base). */
export interface BaseTensorProvider {
  /** Compute backend and device that do the comparison, e.g. `torch` / `cuda:0 (NVIDIA H100)`. */
  readonly backend: string;
  readonly device: string;
  /** Bytes read per tensor and side at most (the row sample that keeps reads a few % of a release). */
  readonly sampleBytes: number;
  /** Decoder layers to sample; null: first, middle and last. */
  readonly layers: number[] | null;
  /**
   * Reads the sampled rows of both tensors (ranged, streaming) and compares them. Throws MalformedTensorError when a
   * header describes data that cannot be there, UnsupportedTensorError for a dtype or shape it cannot compare.
   */
  delta(release: TensorInfo, base: TensorInfo, opts?: DeltaOptions): Promise<TensorDelta>;
}

/**
 * Ranged reads of the release's own files, for checks that need a few bytes of large files (pickle streams);
 * implemented in lib/release-files.ts, bounded per read and per check.
 */
export interface ReleaseFiles {
  /** Bytes [start, end) of a file of the release. Throws when the range is over the reader's bound or reading fails. */
  readRange(path: string, start: number, end: number): Promise<Uint8Array>;
}

/**
 * Values derived from a snapshot (parsed files, loaded tokenizers, template renders), computed once per run and
 * shared by the checks of that run. Created by whoever builds the context (lib/check-services.ts, tests).
 */
export interface CheckMemo {
  /** The value of `compute()` for (snapshot, key): computed on the first call, returned as is after. */
  once<T>(snapshot: Snapshot, key: string, compute: () => T): T;
}

/** The outcome of rendering one named context with a template. */
export type Rendered = { ok: true; text: string } | { ok: false; message: string; timedOut?: boolean };

/** A template parsed once and rendered for several named contexts under a time limit. */
export interface TemplateRun {
  /** Set when the template does not parse, or parsing did not end in time. */
  parseError: { message: string; timedOut?: boolean } | null;
  /** One entry per context that was attempted; contexts after a time-out are not attempted. */
  results: Map<string, Rendered>;
  /** The time limit each stage (parsing, one render) ran under. */
  limitMs: number;
}

/**
 * Renders a chat template the way transformers' Jinja environment does, bounded in time, memory and output size;
 * implemented in lib/template-render. Rejects only when the renderer itself cannot start.
 */
export type RenderTemplate = (
  template: string,
  contexts: { name: string; context: Record<string, unknown> }[],
) => Promise<TemplateRun>;

/** What a check is given: the snapshots it compares, the per-run memo and the services of the process it runs in. */
export interface CheckContext {
  release: Snapshot;
  /** The per-run memo every derived value goes through (see CheckMemo). */
  memo: CheckMemo;
  /** Absent where templates cannot be rendered; template checks are then skipped. */
  renderTemplate?: RenderTemplate | null;
  previous?: Snapshot | null;
  base?: Snapshot | null;
  family?: FamilyStats | null;
  /** Present only where weight data can be read (the runner, the CLI without --no-weights). */
  tensors?: TensorStatsProvider | null;
  /** Present where the declared base model's weights can be read beside the release's (runner, CLI --base). */
  baseTensors?: BaseTensorProvider | null;
  /** Present where the release's files can be read by range (the pipeline's workers, the CLI). */
  files?: ReleaseFiles | null;
  /** Aborted when the check's time limit is reached. */
  signal?: AbortSignal;
}

/** Where a check runs: `checks` (CPU workers) or `tensor` (the runner, reads weight data). */
export type CheckQueue = 'checks' | 'tensor';

/** The interface every check implements. */
export interface Check {
  id: string;
  title: string;
  queue: CheckQueue;
  /** The finding codes this check can emit (the check catalog). */
  codes: FindingCode[];
  run(ctx: CheckContext): Promise<CheckOutcome> | CheckOutcome;
}

/** The result of running one check, as stored in check_runs. */
export interface CheckRunResult {
  check: string;
  status: CheckStatus;
  reason?: string;
  error?: string;
  findings: Finding[];
  /** Evidence of a check that passed (see CheckOutcome). */
  evidence?: Record<string, unknown>;
  durationMs: number;
}

export type Verdict = 'critical' | 'warning' | 'ok' | 'error';
