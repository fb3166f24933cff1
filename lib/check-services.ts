import { createCheckMemo } from '../checks/memo.ts';
import type { CheckMemo, RenderTemplate } from '../checks/types.ts';
import { renderInWorker } from './template-render/render-in-worker.ts';

/** The runtime services a check context carries besides the snapshots (the weight reader is opened apart). */
export interface CheckServices {
  memo: CheckMemo;
  renderTemplate: RenderTemplate;
}

/**
 * Fresh services for one run: a new memo and the bounded template renderer. The pipeline keeps one per release
 * (so its check jobs share parsed files, tokenizers and renders); the CLI makes one per scan.
 */
export function checkServices(): CheckServices {
  return { memo: createCheckMemo(), renderTemplate: (template, contexts) => renderInWorker(template, contexts) };
}
