/**
 * The Hugging Face token, found where users keep it: HUBWATCH_HF_TOKEN, then HF_TOKEN, then the file that
 * `huggingface-cli login` (`hf auth login`) writes: $HF_TOKEN_PATH, else $HF_HOME/token, HF_HOME defaulting to
 * $XDG_CACHE_HOME/huggingface or ~/.cache/huggingface (huggingface_hub's constants).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export type HfTokenSource = 'HUBWATCH_HF_TOKEN' | 'HF_TOKEN' | 'token file';

type Env = Record<string, string | undefined>;

/** Where the token file is for this environment (null without HOME, HF_HOME or HF_TOKEN_PATH). */
export function hfTokenPath(env: Env): string | null {
  if (env.HF_TOKEN_PATH) return env.HF_TOKEN_PATH;
  const cache = env.XDG_CACHE_HOME || (env.HOME ? join(env.HOME, '.cache') : null);
  const home = env.HF_HOME || (cache ? join(cache, 'huggingface') : null);
  return home ? join(home, 'token') : null;
}

function readToken(path: string | null): string | null {
  if (!path) return null;
  try {
    return readFileSync(path, 'utf8').trim() || null;
  } catch {
    return null;
  }
}

const isHuggingFace = (hubUrl: string): boolean => {
  const host = new URL(hubUrl).hostname;
  return host === 'huggingface.co' || host.endsWith('.huggingface.co');
};

/**
 * The token to send to `hubUrl`. A token meant for huggingface.co (HF_TOKEN, the login file) is sent only to
 * huggingface.co, never to another Hub URL (a mirror); HUBWATCH_HF_TOKEN is sent wherever hubwatch is pointed.
 */
export function findHfToken(env: Env, hubUrl: string): { token: string; source: HfTokenSource } | null {
  if (env.HUBWATCH_HF_TOKEN) return { token: env.HUBWATCH_HF_TOKEN, source: 'HUBWATCH_HF_TOKEN' };
  if (!isHuggingFace(hubUrl)) return null;
  if (env.HF_TOKEN) return { token: env.HF_TOKEN, source: 'HF_TOKEN' };
  const file = readToken(hfTokenPath(env));
  return file ? { token: file, source: 'token file' } : null;
}
