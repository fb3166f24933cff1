// The part of @agnai/sentencepiece-js (which ships no types) that spm-processor.ts uses.
declare module '@agnai/sentencepiece-js' {
  export class SentencePieceProcessor {
    sentencepiece?: unknown;
    load(path: unknown): Promise<void>;
  }
}
