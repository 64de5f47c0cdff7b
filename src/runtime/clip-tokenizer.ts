/**
 * The CLIP byte-level BPE tokenizer, read from `vocab.json` + `merges.txt` (what Stable Diffusion
 * ONNX repos ship in `tokenizer/`; many lack `tokenizer.json`).
 *
 * Steps, as in CLIP's tokenizer: Unicode NFC, runs of whitespace to one space, trim, lower-case;
 * split with CLIP's pattern (contractions, letter runs, single digits, other-symbol runs);
 * map each UTF-8 byte to a printable character (GPT-2's byte-to-unicode table); BPE with `</w>`
 * marking the end of a word, merging the lowest-ranked pair first. Words are cached.
 */
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseJsonText } from '../core/json-text.js';
import { PmgError } from '../errors/pmg-error.js';

const PATTERN = /<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|\p{L}+|\p{N}|[^\s\p{L}\p{N}]+/giu;

export interface ClipTokenizerConfig {
  /** Token string -> id. */
  vocab: Record<string, number>;
  /** Merge rules in rank order, each "left right". */
  merges: string[];
  bosToken?: string;
  eosToken?: string;
  /** Padding token; CLIP for SD 1.x pads with the end token, SD 2.x's tokenizer with "!". */
  padToken?: string;
  unkToken?: string;
  /** Window length including start and end tokens (77). */
  maxLength?: number;
  /** Largest number of words kept in the cache (default 10,000). */
  cacheSize?: number;
}

export class ClipTokenizer {
  readonly bosTokenId: number;
  readonly eosTokenId: number;
  readonly padTokenId: number;
  readonly unkTokenId: number;
  readonly maxLength: number;
  readonly vocabSize: number;
  private readonly vocab: Map<string, number>;
  private readonly ranks: Map<string, number>;
  private readonly cache = new Map<string, number[]>();
  private readonly cacheSize: number;

  constructor(config: ClipTokenizerConfig) {
    this.vocab = new Map(Object.entries(config.vocab));
    this.vocabSize = this.vocab.size;
    this.ranks = new Map();
    config.merges.forEach((merge, rank) => {
      if (!this.ranks.has(merge)) this.ranks.set(merge, rank);
    });
    const id = (token: string, role: string): number => {
      const value = this.vocab.get(token);
      if (value === undefined) throw new PmgError('invalid-input', `tokenizer vocabulary lacks the ${role} token '${token}'`, { details: { token } });
      return value;
    };
    this.bosTokenId = id(config.bosToken ?? '<|startoftext|>', 'start');
    this.eosTokenId = id(config.eosToken ?? '<|endoftext|>', 'end');
    this.unkTokenId = id(config.unkToken ?? '<|endoftext|>', 'unknown');
    this.padTokenId = id(config.padToken ?? config.eosToken ?? '<|endoftext|>', 'padding');
    this.maxLength = config.maxLength ?? 77;
    this.cacheSize = config.cacheSize ?? 10_000;
  }

  /** Read `vocab.json`, `merges.txt` and (if present) `tokenizer_config.json` / `special_tokens_map.json` from a folder. */
  static fromFolder(dir: string, what = 'tokenizer'): ClipTokenizer {
    const read = (name: string): string => {
      const path = join(dir, name);
      if (!existsSync(path)) throw new PmgError('model-file-missing', `${what} lacks ${name} (looked for ${path})`, { details: { path } });
      return readFileSync(path, 'utf8');
    };
    const vocab = parseJson(read('vocab.json'), join(dir, 'vocab.json')) as Record<string, number>;
    const merges = parseMerges(read('merges.txt'));
    const special = { ...readOptionalJson(join(dir, 'special_tokens_map.json')), ...readOptionalJson(join(dir, 'tokenizer_config.json')) };
    const maxLength = typeof special.model_max_length === 'number' && special.model_max_length < 100_000 ? special.model_max_length : 77;
    return new ClipTokenizer({
      vocab,
      merges,
      bosToken: tokenString(special.bos_token),
      eosToken: tokenString(special.eos_token),
      padToken: tokenString(special.pad_token),
      unkToken: tokenString(special.unk_token),
      maxLength,
    });
  }

  /** Ids of `text`, without start/end tokens. */
  tokenize(text: string): number[] {
    const cleaned = text.normalize('NFC').replace(/\s+/gu, ' ').trim().toLowerCase();
    const ids: number[] = [];
    for (const match of cleaned.matchAll(PATTERN)) {
      for (const id of this.word(match[0])) ids.push(id);
    }
    return ids;
  }

  /** `[bos, ...ids, eos]` padded with the pad token (or cut, keeping eos last) to maxLength: one text-encoder window. */
  window(ids: readonly number[]): number[] {
    const out = truncateKeepingEnd([this.bosTokenId, ...ids, this.eosTokenId], this.maxLength);
    while (out.length < this.maxLength) out.push(this.padTokenId);
    return out;
  }

  private word(word: string): number[] {
    const hit = this.cache.get(word);
    if (hit) return hit;
    const symbols = [...new TextEncoder().encode(word)].map((b) => BYTE_TO_UNICODE[b]!);
    const ids = this.bpe(symbols).map((token) => this.vocab.get(token) ?? this.unkTokenId);
    if (this.cache.size >= this.cacheSize) this.cache.clear();
    this.cache.set(word, ids);
    return ids;
  }

  private bpe(chars: string[]): string[] {
    if (chars.length === 0) return [];
    let parts = [...chars.slice(0, -1), `${chars[chars.length - 1]}</w>`];
    while (parts.length > 1) {
      let bestRank = Infinity;
      let bestIndex = -1;
      for (let i = 0; i < parts.length - 1; i++) {
        const rank = this.ranks.get(`${parts[i]} ${parts[i + 1]}`);
        if (rank !== undefined && rank < bestRank) {
          bestRank = rank;
          bestIndex = i;
        }
      }
      if (bestIndex < 0) break;
      const left = parts[bestIndex]!;
      const right = parts[bestIndex + 1]!;
      // Merge every occurrence of this pair, left to right (as the reference BPE does).
      const merged: string[] = [];
      for (let i = 0; i < parts.length;) {
        if (i < parts.length - 1 && parts[i] === left && parts[i + 1] === right) {
          merged.push(left + right);
          i += 2;
        } else {
          merged.push(parts[i]!);
          i++;
        }
      }
      parts = merged;
    }
    return parts;
  }
}

/**
 * A token sequence that already ends with its end token, cut to `maxLength` the way Hugging Face tokenizers
 * truncate before adding special tokens: [bos, first maxLength - 2 tokens, eos]. The end token stays at the
 * last position, where CLIP's text pooling reads it (argmax of the ids / first end token).
 */
export function truncateKeepingEnd(ids: readonly number[], maxLength: number): number[] {
  if (ids.length <= maxLength) return [...ids];
  return [...ids.slice(0, maxLength - 1), ids[ids.length - 1]!];
}

/** GPT-2's reversible byte -> printable character table. */
const BYTE_TO_UNICODE: string[] = (() => {
  const printable: number[] = [];
  for (let b = 33; b <= 126; b++) printable.push(b);
  for (let b = 161; b <= 172; b++) printable.push(b);
  for (let b = 174; b <= 255; b++) printable.push(b);
  const table: string[] = new Array(256);
  let extra = 0;
  for (let b = 0; b < 256; b++) {
    table[b] = printable.includes(b) ? String.fromCharCode(b) : String.fromCharCode(256 + extra++);
  }
  return table;
})();

export function parseMerges(text: string): string[] {
  return text
    .split(/\r?\n/)
    .filter((line, index) => line.trim() !== '' && !(index === 0 && line.startsWith('#version')))
    .map((line) => line.trim());
}

function parseJson(text: string, path: string): unknown {
  try {
    return parseJsonText(text);
  } catch (error) {
    throw new PmgError('invalid-input', `${path} is not valid JSON: ${(error as Error).message}`, { cause: error, details: { path } });
  }
}

function readOptionalJson(path: string): Record<string, unknown> {
  if (!existsSync(path)) return {};
  const value = parseJson(readFileSync(path, 'utf8'), path);
  return value && typeof value === 'object' ? (value as Record<string, unknown>) : {};
}

function tokenString(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object' && typeof (value as { content?: unknown }).content === 'string') return (value as { content: string }).content;
  return undefined;
}
