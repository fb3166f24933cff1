/**
 * Strings that exercise what breaks tokenizers: whitespace runs, emoji (ZWJ sequences, a space before an emoji),
 * digit runs and decimals, scripts with combining marks, contractions in mixed case, code, and special tokens glued
 * to text. Sources: llama.cpp `convert_hf_to_gguf_update.py` (CHK_TXT and the test-tokenizer-0 strings), the
 * reference tests of llama3-tokenizer-js / mistral-tokenizer-js, and the Mistral " ☀" fast/slow report
 * (huggingface/tokenizers #1448).
 */

/**
 * llama.cpp's pre-tokenizer probe (`CHK_TXT`, convert_hf_to_gguf_update.py, ggml-org/llama.cpp commit 00bd27a).
 * sha256 of the Python repr of its ids is llama.cpp's `chkhsh`, e.g. 0ef9807a…c01e5 for Meta-Llama-3-8B.
 */
export const LLAMA_CPP_CHK_TXT =
  "\n \n\n \n\n\n \t \t\t \t\n  \n   \n    \n     \n🚀 (normal) 😶\u200d🌫️ (multiple emojis concatenated) ✅ 🦙🦙 3 33 333 3333 33333 333333 3333333 33333333 3.3 3..3 3...3 កាន់តែពិសេសអាច😁 ?我想在apple工作1314151天～ ------======= нещо на Български ''''''```````\"\"\"\"......!!!!!!?????? I've been 'told he's there, 'RE you sure? 'M not sure I'll make it, 'D you like some tea? We'Ve a'lL";

const DIGITS = Array.from({ length: 9 }, (_, i) => '123456789'.slice(0, i + 1));

/** The static probe strings (special tokens are added per tokenizer by {@link probeCorpus}). */
export const PROBES: readonly string[] = [
  // whitespace runs
  ' ',
  '  ',
  '   ',
  '\t',
  '\t\t',
  '\n',
  '\n\n',
  '\n\n\n',
  ' \n',
  '\r\n\r\n',
  '  leading spaces',
  'trailing spaces   ',
  'a  b   c    d',
  'tab\tseparated\t\tvalues',
  'line one\nline two\n\n  indented',
  '           grabbed',
  ' grabbed',
  // emoji
  '☀',
  ' ☀',
  'sun ☀ and 🌧',
  '👍🏽',
  '👨‍👩‍👧',
  ' 👨‍👩‍👧‍👦 family',
  '😶‍🌫️',
  '🦙🦙 llama',
  'Ꙋ🦙',
  '🏳️‍🌈 flag',
  // digits and decimals
  ...DIGITS,
  ...DIGITS.map((d) => ` ${d}`),
  '3.14159',
  '0.5',
  '1,000,000.25',
  '-42',
  '2024-01-15',
  'ied 4 ½ months',
  '3..3 3...3',
  // scripts
  '日本語のテキスト',
  '我想在apple工作1314151天～',
  '한국어 문장입니다',
  'កាន់តែពិសេសអាច',
  'нещо на Български',
  'Привет, мир!',
  'naïve café Å Ørsted façade',
  'Cửa Việt',
  'Äpfel',
  'e\u0301 combining',
  'ﬁ ligature ＡＢＣ fullwidth',
  // contractions and punctuation spacing
  "I've been 'told he's there",
  "'RE you sure? 'M not sure I'll",
  "don't DON'T Don'T we'Ve a'lL",
  "a , b . c ! d ? don 't",
  // code
  'def f(x):\n    return x ** 2  # square\n',
  'for (let i = 0; i < n; i++) {\n\tsum += a[i];\n}',
  '<div class="x">&amp;</div>',
  'SELECT * FROM t WHERE id = 42;',
  '{"key": [1, 2.5, null]}',
  'Hello world',
  ' Hello world',
  'HELLO World hello',
  'grabbed',
];

/** Special tokens glued to text in the ways chat formats and users produce them. */
export function gluedProbes(specials: readonly string[]): string[] {
  return specials.flatMap((t) => [
    `${t}Hello`,
    `${t} Hello`,
    `Hello${t}`,
    `Hello ${t} world`,
    `x${t}y`,
    `${t}\n\nHi`,
    `${t}${t}`,
  ]);
}

/** The full probe corpus for a tokenizer whose special tokens (a few, most relevant first) are given. */
export function probeCorpus(specials: readonly string[]): string[] {
  return [...PROBES, LLAMA_CPP_CHK_TXT, ...gluedProbes(specials.slice(0, 6))];
}
