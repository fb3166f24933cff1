/**
 * Measures a JSON text before anyone parses it: nesting depth and the number of entries directly under each
 * top-level key, in one pass over the characters, building nothing. A hostile release (a config nested 50 MB
 * deep, a million added tokens) is refused from these figures instead of being parsed into gigabytes.
 */

export interface JsonShape {
  /** Deepest nesting seen (1 for `{}`), up to `maxDepth + 1` (the scan stops there). */
  depth: number;
  /** Whether the scan stopped because nesting went past `maxDepth`. */
  tooDeep: boolean;
  /** The first non-whitespace character: `{` for an object. */
  top: string;
  /** Entries of the top-level array or object. */
  topEntries: number;
  /** Entries of the array or object under each top-level key (keys as written, escapes undecoded). */
  entries: Record<string, number>;
}

const WS = new Set([0x20, 0x09, 0x0a, 0x0d]);

/**
 * Scans a JSON text for its shape. Assumes nothing about validity: a malformed text gives some shape and is
 * rejected later by JSON.parse. Stops as soon as nesting passes `maxDepth`.
 */
export function jsonShape(text: string, maxDepth: number): JsonShape {
  const shape: JsonShape = { depth: 0, tooDeep: false, top: '', topEntries: 0, entries: {} };
  let depth = 0;
  let key: string | null = null;
  let lastString = '';
  let counting: string | null = null;
  let nonEmpty = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (!shape.top && !WS.has(c)) shape.top = text[i];
    if (depth === 1 && shape.topEntries === 0 && !WS.has(c) && c !== 0x7d && c !== 0x5d) shape.topEntries = 1;
    if (depth === 1 && c === 0x2c) shape.topEntries++;
    if (c === 0x22) {
      // A string: skip to its closing quote; remember it when it may be a top-level key.
      const start = i + 1;
      for (i++; i < text.length && text.charCodeAt(i) !== 0x22; i++) if (text.charCodeAt(i) === 0x5c) i++;
      if (depth === 1) lastString = text.slice(start, Math.min(i, start + 256));
      if (depth === 2 && counting !== null) nonEmpty = true;
    } else if (c === 0x3a && depth === 1) key = lastString;
    else if (c === 0x7b || c === 0x5b) {
      depth++;
      if (depth > shape.depth) shape.depth = depth;
      if (depth > maxDepth) {
        shape.tooDeep = true;
        return shape;
      }
      if (depth === 2 && key !== null) {
        counting = key;
        shape.entries[key] = 0;
        nonEmpty = false;
      } else if (depth === 3 && counting !== null) nonEmpty = true;
    } else if (c === 0x7d || c === 0x5d) {
      if (depth === 2 && counting !== null) {
        if (nonEmpty) shape.entries[counting]++;
        counting = null;
      }
      depth--;
    } else if (c === 0x2c && depth === 2 && counting !== null) shape.entries[counting]++;
    else if (depth === 2 && counting !== null && !WS.has(c)) nonEmpty = true;
  }
  return shape;
}
