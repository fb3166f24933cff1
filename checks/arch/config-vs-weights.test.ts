import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { writeTinyModel } from '../../infra/fixtures/tiny-model.ts';
import { LocalFolderSource } from '../../lib/local-source.ts';
import { buildSnapshot } from '../../lib/snapshot-builder.ts';
import { runCheck } from '../run-check.ts';
import { codes } from '../test-helpers.ts';
import type { CheckRunResult, Snapshot, TensorInfo } from '../types.ts';
import { configVsWeights } from './config-vs-weights.ts';
import { dimsOfConfig, llamaTensors, snapshotOf } from './snapshot-fixture.ts';

const LLAMA = {
  model_type: 'llama',
  hidden_size: 64,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  intermediate_size: 128,
  vocab_size: 1000,
  num_hidden_layers: 3,
  hidden_act: 'silu',
  tie_word_embeddings: false,
  torch_dtype: 'bfloat16',
};

const run = (snap: Snapshot): Promise<CheckRunResult> => runCheck(configVsWeights, { release: snap });
const withTensors = (config: Record<string, unknown>, tensors: TensorInfo[]): Snapshot =>
  snapshotOf({ config, tensors });

describe('config-vs-weights (in-memory headers)', () => {
  it('passes when every shape agrees, sharded or not', async () => {
    assert.equal((await run(withTensors(LLAMA, llamaTensors(dimsOfConfig(LLAMA))))).status, 'passed');
    const sharded = withTensors(LLAMA, llamaTensors(dimsOfConfig(LLAMA), { shards: 3 }));
    assert.equal(sharded.safetensors?.files.length, 3);
    assert.equal((await run(sharded)).status, 'passed');
  });

  it('skips a config-only release and says why', async () => {
    const r = await run(snapshotOf({ config: LLAMA }));
    assert.equal(r.status, 'skipped');
    assert.match(r.reason ?? '', /no safetensors weights/);
  });

  it('flags a head_dim that the q/k/v/o shapes contradict', async () => {
    const tensors = llamaTensors(dimsOfConfig(LLAMA));
    const r = await run(withTensors({ ...LLAMA, head_dim: 32 }, tensors));
    assert.deepEqual(codes(r), ['critical:HEAD_DIM_MISMATCH']);
    const table = r.findings[0].evidence.table as { field: string; value: number[]; expected: number[] }[];
    const q = table.find((row) => row.field.endsWith('q_proj.weight'));
    assert.deepEqual(q?.value, [64, 64]);
    assert.deepEqual(q?.expected, [128, 64]);
    assert.match(q?.field ?? '', /layers\.0\.\.2 \(3 layers\)/);
  });

  it('reports a wrong key/value head count as a shape mismatch, not a head size one', async () => {
    const r = await run(withTensors({ ...LLAMA, num_key_value_heads: 4 }, llamaTensors(dimsOfConfig(LLAMA))));
    assert.deepEqual(codes(r), ['critical:SHAPE_MISMATCH']);
  });

  it('flags layer count, vocabulary and intermediate size mismatches', async () => {
    const tensors = llamaTensors(dimsOfConfig(LLAMA)).filter((t) => !t.name.startsWith('model.layers.1.'));
    const r = await run(withTensors({ ...LLAMA, vocab_size: 1024, intermediate_size: 256 }, tensors));
    assert.deepEqual(codes(r), ['critical:SHAPE_MISMATCH']);
    const fields = (r.findings[0].evidence.table as { field: string; note?: string }[]).map((row) => row.field);
    assert.ok(fields.some((f) => f.startsWith('decoder layers')));
    assert.ok(fields.includes('model.embed_tokens.weight'));
    assert.ok(fields.includes('lm_head.weight'));
    assert.ok(fields.some((f) => f.endsWith('mlp.down_proj.weight')));
    const layers = (r.findings[0].evidence.table as { field: string; note?: string }[]).find((row) =>
      row.field.startsWith('decoder layers'),
    );
    assert.match(layers?.note ?? '', /missing layer indices: 1/);
  });

  it('accepts the extra multi-token-prediction layer a config declares', async () => {
    const cfg = { ...LLAMA, num_hidden_layers: 2, num_nextn_predict_layers: 1 };
    assert.equal((await run(withTensors(cfg, llamaTensors(dimsOfConfig(LLAMA))))).status, 'passed');
  });

  it('flags untied embeddings without an lm_head (critical) and a shipped lm_head that tying ignores (warning)', async () => {
    const noHead = await run(withTensors(LLAMA, llamaTensors(dimsOfConfig(LLAMA), { lmHead: false })));
    assert.deepEqual(codes(noHead), ['critical:TIED_EMBEDDINGS_MISMATCH']);
    const tied = await run(withTensors({ ...LLAMA, tie_word_embeddings: true }, llamaTensors(dimsOfConfig(LLAMA))));
    assert.deepEqual(codes(tied), ['warning:TIED_EMBEDDINGS_MISMATCH']);
    assert.equal(
      (
        await run(
          withTensors({ ...LLAMA, tie_word_embeddings: true }, llamaTensors(dimsOfConfig(LLAMA), { lmHead: false })),
        )
      ).status,
      'passed',
    );
  });

  it('uses the family default when tie_word_embeddings is absent (gemma ties)', async () => {
    const gemma = {
      model_type: 'gemma',
      hidden_size: 64,
      num_attention_heads: 4,
      num_key_value_heads: 4,
      head_dim: 16,
      intermediate_size: 128,
      vocab_size: 1000,
      num_hidden_layers: 2,
      hidden_activation: 'gelu_pytorch_tanh',
      torch_dtype: 'bfloat16',
    };
    assert.equal(
      (await run(withTensors(gemma, llamaTensors(dimsOfConfig(gemma), { lmHead: false })))).status,
      'passed',
    );
  });

  it('flags a declared dtype the stored weights do not have', async () => {
    const r = await run(withTensors({ ...LLAMA, torch_dtype: 'float16' }, llamaTensors(dimsOfConfig(LLAMA))));
    assert.deepEqual(codes(r), ['warning:DTYPE_MISMATCH']);
    assert.match(r.findings[0].detail, /overflow/);
    assert.equal(
      (
        await run(
          withTensors({ ...LLAMA, torch_dtype: 'float16' }, llamaTensors(dimsOfConfig(LLAMA), { dtype: 'F16' })),
        )
      ).status,
      'passed',
    );
  });

  it('flags gated MLP tensors in a family whose MLP is plain (Nemotron relu2)', async () => {
    const nemo = {
      model_type: 'nemotron',
      hidden_size: 64,
      num_attention_heads: 4,
      num_key_value_heads: 2,
      intermediate_size: 128,
      vocab_size: 1000,
      num_hidden_layers: 2,
      hidden_act: 'relu2',
      norm_eps: 1e-5,
      torch_dtype: 'bfloat16',
    };
    const bad = await run(withTensors(nemo, llamaTensors(dimsOfConfig(nemo), { mlp: 'gated' })));
    assert.deepEqual(codes(bad), ['critical:ACT_MISMATCH']);
    assert.equal((await run(withTensors(nemo, llamaTensors(dimsOfConfig(nemo), { mlp: 'plain' })))).status, 'passed');
  });

  it('flags gated tensors with a non-gated activation for an unknown model_type (warning only)', async () => {
    const cfg = { ...LLAMA, model_type: 'brand_new', hidden_act: 'relu2' };
    assert.deepEqual(codes(await run(withTensors(cfg, llamaTensors(dimsOfConfig(cfg))))), ['warning:ACT_MISMATCH']);
    const ok = { ...LLAMA, model_type: 'brand_new' };
    assert.equal((await run(withTensors(ok, llamaTensors(dimsOfConfig(ok))))).status, 'passed');
  });

  it('ignores packed quantized weights and non-standard attention (MLA)', async () => {
    const packed = llamaTensors(dimsOfConfig(LLAMA)).map((t) =>
      t.name.includes('layers') && t.shape.length === 2
        ? { ...t, dtype: 'U8', shape: [(t.shape[0] * t.shape[1]) / 2, 1] }
        : t,
    );
    assert.equal((await run(withTensors(LLAMA, packed))).status, 'passed');
    const mla = await run(
      withTensors({ ...LLAMA, head_dim: 32, kv_lora_rank: 512 }, llamaTensors(dimsOfConfig(LLAMA))),
    );
    assert.equal(mla.status, 'passed');
  });

  it('finds the text model of a multimodal release and skips the vision tower', async () => {
    const text = { ...LLAMA, model_type: 'llama' };
    const tensors = [
      ...llamaTensors(dimsOfConfig(text), { prefix: 'language_model.model.' }),
      {
        name: 'vision_tower.encoder.layers.0.self_attn.q_proj.weight',
        dtype: 'BF16',
        shape: [7, 7],
        file: 'model.safetensors',
        dataOffsets: [0, 0] as [number, number],
      },
    ];
    const r = await run(withTensors({ model_type: 'llava', text_config: text, torch_dtype: 'bfloat16' }, tensors));
    assert.equal(r.status, 'passed');
  });
});

describe('config-vs-weights (tiny model on disk, real headers)', () => {
  const root = mkdtempSync(join(tmpdir(), 'hw-arch-'));
  after(() => rmSync(root, { recursive: true, force: true }));
  const snap = (dir: string): Promise<Snapshot> =>
    buildSnapshot(new LocalFolderSource(dir), { repo: 'local/tiny', sha: 'b'.repeat(40) }, { maxFileBytes: 4_000_000 });

  it('passes on sharded weights and flags a config edited after the weights were written', async () => {
    const dir = join(root, 'sharded');
    writeTinyModel(dir, { sharded: true });
    const good = await snap(dir);
    assert.ok(good.safetensors?.index, 'sharded index read');
    assert.equal((await run(good)).status, 'passed');
    const cfg = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...cfg, num_hidden_layers: 4, head_dim: 32 }));
    const bad = await run(await snap(dir));
    assert.deepEqual(codes(bad), ['critical:HEAD_DIM_MISMATCH', 'critical:SHAPE_MISMATCH']);
  });
});
