import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { loadConfig } from './config.ts';

const home = mkdtempSync(join(tmpdir(), 'hubwatch-hf-home-'));
after(() => rmSync(home, { recursive: true, force: true }));

test('the token comes from HUBWATCH_HF_TOKEN, then HF_TOKEN, then the login file', () => {
  mkdirSync(join(home, '.cache', 'huggingface'), { recursive: true });
  writeFileSync(join(home, '.cache', 'huggingface', 'token'), 'hf_from_file\n');
  const fromFile = loadConfig({ HOME: home });
  assert.equal(fromFile.hfToken, 'hf_from_file');
  assert.equal(fromFile.hfTokenSource, 'token file');
  assert.equal(loadConfig({ HOME: home, HF_TOKEN: 'hf_env' }).hfToken, 'hf_env');
  assert.equal(loadConfig({ HOME: home, HF_TOKEN: 'hf_env', HUBWATCH_HF_TOKEN: 'hf_mine' }).hfToken, 'hf_mine');
  const hfHome = join(home, 'elsewhere');
  mkdirSync(hfHome);
  writeFileSync(join(hfHome, 'token'), 'hf_hf_home');
  assert.equal(loadConfig({ HOME: home, HF_HOME: hfHome }).hfToken, 'hf_hf_home', '$HF_HOME/token');
  assert.equal(loadConfig({}).hfToken, undefined, 'no HOME, no file');
});

test('a huggingface.co token is never sent to another Hub URL; HUBWATCH_HF_TOKEN is', () => {
  const env = { HOME: home, HF_TOKEN: 'hf_env', HUBWATCH_HUB_URL: 'http://127.0.0.1:9' };
  assert.equal(loadConfig(env).hfToken, undefined);
  assert.equal(loadConfig({ HF_TOKEN: 'hf_env' }, { hubUrl: 'http://mirror.local' }).hfToken, undefined);
  assert.equal(loadConfig({ ...env, HUBWATCH_HF_TOKEN: 'hf_mine' }).hfToken, 'hf_mine');
});
