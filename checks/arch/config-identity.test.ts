import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runCheck } from '../run-check.ts';
import type { Finding, Snapshot } from '../types.ts';
import { configIdentity, modelTypeOfClass } from './config-identity.ts';
import { snapshotOf } from './snapshot-fixture.ts';

const DIR = join(import.meta.dirname, '../../test/data/configs');
const real = (name: string): Record<string, unknown> =>
  JSON.parse(readFileSync(join(DIR, `${name}.json`), 'utf8')) as Record<string, unknown>;

async function findings(snap: Snapshot): Promise<Finding[]> {
  const r = await runCheck(configIdentity, { release: snap });
  assert.notEqual(r.status, 'error', r.error);
  return r.findings;
}

/** An index whose weight_map names these tensors (no shard needs to be present). */
const withIndex = (config: Record<string, unknown>, names: string[]): Snapshot =>
  snapshotOf({
    config,
    texts: {
      'model.safetensors.index.json': JSON.stringify({
        weight_map: Object.fromEntries(names.map((n) => [n, 'model-00001-of-00002.safetensors'])),
      }),
    },
  });

const dense = (l: number): string[] =>
  ['gate_proj', 'up_proj', 'down_proj'].map((p) => `model.layers.${l}.mlp.${p}.weight`);
const mixtral = (l: number): string[] => [
  `model.layers.${l}.block_sparse_moe.gate.weight`,
  ...[0, 1].flatMap((e) =>
    ['w1', 'w2', 'w3'].map((w) => `model.layers.${l}.block_sparse_moe.experts.${e}.${w}.weight`),
  ),
];

describe('config-identity', () => {
  it('maps class names to model types by their stem', () => {
    assert.equal(modelTypeOfClass('Qwen2MoeForCausalLM'), 'qwen2_moe');
    assert.equal(modelTypeOfClass('GPTNeoXForCausalLM'), 'gpt_neox');
    assert.equal(modelTypeOfClass('Qwen2_5_VLForConditionalGeneration'), 'qwen2_5_vl');
    assert.equal(modelTypeOfClass('SomethingNewForCausalLM'), null);
  });

  it('is quiet on real released configs, including gemma3_text with Gemma3ForCausalLM', async () => {
    for (const name of [
      'mistralai--Mixtral-8x7B-v0.1',
      'Qwen--Qwen2-7B',
      'google--gemma-3-1b-it',
      'meta-llama--Meta-Llama-3-8B',
      'deepseek-ai--DeepSeek-V2-Lite',
      'microsoft--Phi-3.5-mini-instruct',
    ])
      assert.deepEqual(await findings(snapshotOf({ config: real(name) })), [], name);
  });

  it('ARCHITECTURES_MISSING: a real config with its architectures removed', async () => {
    const { architectures: _, ...config } = real('Qwen--Qwen2-7B');
    const f = await findings(snapshotOf({ config }));
    assert.deepEqual(
      f.map((x) => `${x.severity}:${x.code}`),
      ['warning:ARCHITECTURES_MISSING'],
    );
  });

  it('MODEL_TYPE_MISMATCH: model_type and architectures name different families', async () => {
    const config = { ...real('Qwen--Qwen2-7B'), architectures: ['LlamaForCausalLM'] };
    const f = await findings(snapshotOf({ config }));
    assert.equal(f.length, 1);
    assert.equal(f[0].code, 'MODEL_TYPE_MISMATCH');
    assert.equal(f[0].severity, 'warning');
    const moe = { ...real('meta-llama--Meta-Llama-3-8B'), architectures: ['MixtralForCausalLM'] };
    assert.equal((await findings(snapshotOf({ config: moe })))[0].severity, 'critical');
  });

  it('MODEL_TYPE_MISMATCH: expert tensors in the index under a dense model_type', async () => {
    const config = { ...real('meta-llama--Meta-Llama-3-8B') };
    const f = await findings(withIndex(config, [...mixtral(0), ...mixtral(1)]));
    assert.equal(f.length, 1);
    assert.equal(f[0].code, 'MODEL_TYPE_MISMATCH');
    assert.equal(f[0].severity, 'critical');
    assert.ok(f[0].files.includes('model.safetensors.index.json'));
  });

  it('MODEL_TYPE_MISMATCH: a mixture-of-experts model_type over dense weights; the right pairings stay quiet', async () => {
    const f = await findings(withIndex(real('mistralai--Mixtral-8x7B-v0.1'), [...dense(0), ...dense(1)]));
    assert.equal(f[0]?.code, 'MODEL_TYPE_MISMATCH');
    assert.deepEqual(await findings(withIndex(real('mistralai--Mixtral-8x7B-v0.1'), mixtral(0))), []);
    assert.deepEqual(await findings(withIndex(real('meta-llama--Meta-Llama-3-8B'), dense(0))), []);
  });

  it('leaves architectures that auto_map resolves to the repo code alone (phi-2 as first released)', async () => {
    const corpus = join(import.meta.dirname, '../../test/data/corpus/mlc--phi-2/config.json');
    const phi2 = JSON.parse(readFileSync(corpus, 'utf8')) as Record<string, unknown>;
    assert.equal(phi2.model_type, 'phi-msft');
    assert.deepEqual(await findings(snapshotOf({ config: phi2 })), []);
    const { auto_map: _, ...native } = phi2;
    assert.equal((await findings(snapshotOf({ config: native })))[0]?.code, 'MODEL_TYPE_MISMATCH');
  });

  it('MODEL_TYPE_MISMATCH: fused qkv_proj under a separate-q/k/v model_type, and the reverse', async () => {
    const qkv = (l: number): string[] => [`model.layers.${l}.self_attn.qkv_proj.weight`, ...dense(l)];
    const sep = (l: number): string[] =>
      ['q_proj', 'k_proj', 'v_proj'].map((p) => `model.layers.${l}.self_attn.${p}.weight`).concat(dense(l));
    const llama = await findings(withIndex(real('meta-llama--Meta-Llama-3-8B'), qkv(0)));
    assert.equal(llama.length, 1);
    assert.match(llama[0].title, /fused qkv_proj/);
    const phi = real('microsoft--Phi-3.5-mini-instruct');
    assert.equal((await findings(withIndex(phi, sep(0))))[0]?.code, 'MODEL_TYPE_MISMATCH');
    assert.deepEqual(await findings(withIndex(phi, qkv(0))), []);
    assert.deepEqual(await findings(withIndex(real('meta-llama--Meta-Llama-3-8B'), sep(0))), []);
  });

  it('ignores a config without model_type and expert names of a vision tower', async () => {
    assert.deepEqual(await findings(snapshotOf({ config: { hidden_size: 8 } })), []);
    const names = [...dense(0), 'vision_model.encoder.layers.0.mlp.experts.0.fc1.weight'];
    assert.deepEqual(await findings(withIndex(real('meta-llama--Meta-Llama-3-8B'), names)), []);
  });
});
