import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import prettier from 'eslint-config-prettier';

export default tseslint.config(
  { ignores: ['node_modules/**', '.tmp/**', 'dist/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        process: 'readonly',
        console: 'readonly',
        Buffer: 'readonly',
        URL: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
        fetch: 'readonly',
        TextDecoder: 'readonly',
        TextEncoder: 'readonly',
        AbortController: 'readonly',
        AbortSignal: 'readonly',
        Response: 'readonly',
        Request: 'readonly',
        Headers: 'readonly',
        Blob: 'readonly',
        performance: 'readonly',
        structuredClone: 'readonly',
        queueMicrotask: 'readonly',
        SharedArrayBuffer: 'readonly',
        Atomics: 'readonly',
        WebAssembly: 'readonly',
      },
    },
    rules: {
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-syntax': [
        'error',
        {
          selector: "MemberExpression[object.name='process'][property.name='env']",
          message: 'Read configuration through lib/config.ts only.',
        },
      ],
    },
  },
  {
    files: ['lib/config.ts', 'scripts/**', 'infra/**', 'bench/**', 'test/**', '**/*.test.ts'],
    rules: { 'no-restricted-syntax': 'off' },
  },
  {
    files: ['checks/**/*.ts'],
    ignores: ['checks/**/*.test.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: [
                'pg',
                'bullmq',
                'ioredis',
                'fastify',
                'node:fs',
                'node:fs/promises',
                'fs',
                'fs/promises',
                'node:http',
                'node:https',
                'node:net',
                'net',
                'node:worker_threads',
                'worker_threads',
                'node:module',
                'module',
                'node:child_process',
                'child_process',
                '@huggingface/hub',
                '../lib/*',
                '../../lib/*',
                '../services/*',
                '../../services/*',
                '../workers/*',
                '../../workers/*',
              ],
              message:
                'checks/ is pure: no I/O, threads or module loading (runtime services reach checks through CheckContext; types via import type are fine).',
              allowTypeImports: true,
            },
          ],
        },
      ],
    },
  },
  prettier,
);
