/**
 * Parsers for what LLMs actually write back to the keyword prompts: numbered lists on one
 * line or one per line (`1. a 2. b`, `1) a`), bullets, comma lists, JSON, quotes, trailing
 * punctuation, a repeated `The keywords are:` preamble, mixed case and duplicates.
 * Keywords come back lower-cased (CLIP's tokenizer lower-cases anyway), de-duplicated, capped.
 * When nothing usable is found they throw `no-output-generated` with the raw text in details.
 */
import { PmgError } from '../errors/pmg-error.js';

/** A keyword longer than this many words is prose, not a keyword. */
const maxWords = 6;
const maxKeywordChars = 60;
const refusal = /\b(?:sorry|cannot|can't|unable to|as an ai|i don't|i do not)\b/i;

/** Cut the answer where the model starts a new turn or stops. */
export function cutAtTurnEnd(raw: string): string {
  // An answer that opens by echoing its own turn marker (`### Assistant: The keywords are: ...`) starts there.
  raw = raw.replace(/^\s*(?:###\s*)?Assistant\s*:\s*/i, '');
  const markers = [/###/, /\n\s*(?:Human|User|Assistant)\s*:/i, /<\/s>/, /<\|(?:im_end|endoftext|eot_id)\|>/];
  let end = raw.length;
  for (const marker of markers) {
    const m = marker.exec(raw);
    if (m && m.index < end) end = m.index;
  }
  return raw.slice(0, end);
}

function noOutput(what: string, raw: string): never {
  const preview = raw.replace(/\s+/g, ' ').trim().slice(0, 80);
  throw new PmgError(
    'no-output-generated',
    `the LLM's answer contained no ${what}${preview ? ` (it wrote: "${preview}${raw.length > 80 ? '…' : ''}")` : ' (it wrote nothing)'}; try another model or prompt`,
    { details: { raw } },
  );
}

/** Clean one candidate keyword; '' when it is not usable. */
export function cleanKeyword(candidate: string, wordLimit = maxWords): string {
  let s = candidate.replace(/\*\*|__|`/g, '');
  // Drop an explanation after a colon or a spaced dash: "noir: dark films" -> "noir".
  s = s.split(/:\s|\s[-–—]\s/)[0]!;
  s = s.replace(/\([^)]*\)?/g, ' ');
  s = s.replace(/^[\s"'“”‘’«»\-–—*•·.,;:!?]+|[\s"'“”‘’«»\-–—*•·.,;:!?]+$/g, '');
  s = s.replace(/\s+/g, ' ').trim().toLowerCase();
  if (!s || s.length > maxKeywordChars || s.split(' ').length > wordLimit) return '';
  if (!/\p{L}|\p{N}/u.test(s)) return '';
  return s;
}

function stripPreamble(text: string): string {
  return text
    .replace(/the\s+keywords\s+are\s*:?/gi, '\n')
    .replace(/^\s*(?:sure|okay|ok|certainly)\b[^\n]*?(?:[:!.]|$)/gim, '\n')
    .replace(/^\s*here\s+(?:are|is)\b[^\n:]*:?/gim, '\n')
    .replace(/^\s*keywords?\s*:/gim, '\n');
}

const numberMarker = /(?:^|(?<=[\s,;(]))(\d{1,2})[.)](?=\s|[\p{L}"'“‘*])/gu;

function splitNumbered(text: string): string[] | undefined {
  const marks = [...text.matchAll(numberMarker)];
  if (marks.length === 0) return undefined;
  const parts: string[] = [];
  for (let i = 0; i < marks.length; i++) {
    const start = marks[i]!.index! + marks[i]![0].length;
    const end = i + 1 < marks.length ? marks[i + 1]!.index! : text.length;
    // An item ends at its line end: prose after the list is not a keyword.
    parts.push(text.slice(start, end).split('\n')[0]!);
  }
  return parts;
}

function splitBullets(text: string): string[] | undefined {
  const lines = text.split('\n').filter((l) => /^\s*[-*•·]\s+/.test(l));
  return lines.length ? lines.map((l) => l.replace(/^\s*[-*•·]\s+/, '')) : undefined;
}

/**
 * Keywords from an answer, in order, de-duplicated case-insensitively, at most `count`.
 * `raw` is the model's continuation (the preamble may or may not be repeated in it).
 */
export function parseKeywords(raw: string, count: number): string[] {
  const text = stripPreamble(cutAtTurnEnd(raw));
  const listed = splitNumbered(text) ?? splitBullets(text);
  let keywords: string[];
  if (listed) {
    keywords = dedupe(listed.map((p) => cleanKeyword(p))).slice(0, count);
  } else {
    // A plain comma list; a refusal or a sentence is not one.
    if (refusal.test(text)) noOutput('keywords', raw);
    keywords = dedupe(text.split(/[,;\n]|\s\/\s/).map((p) => cleanKeyword(p, 4))).slice(0, count);
  }
  if (keywords.length === 0) noOutput('keywords', raw);
  return keywords;
}

/**
 * Keywords from a JSON answer `{"keywords": [...]}` (structured variant); falls back to
 * `parseKeywords` when the answer is not that JSON.
 */
export function parseKeywordsJson(raw: string, count: number): string[] {
  const text = raw.replace(/```(?:json)?/gi, '');
  const start = text.indexOf('{');
  const end = text.lastIndexOf('}');
  if (start >= 0 && end > start) {
    try {
      const value = JSON.parse(text.slice(start, end + 1)) as unknown;
      const list = (value as { keywords?: unknown }).keywords;
      if (Array.isArray(list)) {
        const keywords = dedupe(list.filter((k): k is string => typeof k === 'string').map((k) => cleanKeyword(k))).slice(0, count);
        if (keywords.length) return keywords;
      }
    } catch {
      // not JSON: fall through to the text parser
    }
  }
  return parseKeywords(raw, count);
}

/** The character phrase from an answer to the prompt primed with `The character is`. */
export function parseCharacter(raw: string): string {
  let s = cutAtTurnEnd(raw).replace(/^\s*(?:the\s+)?(?:favou?rite\s+)?character\s+is\s*:?/i, '');
  s = s.trim().split('\n')[0]!;
  // The first sentence only; keep "e.g." style dots out of the question.
  s = s.split(/(?<=[^.\s]{2})[.!?](?:\s|$)/)[0]!;
  s = s
    .replace(/^[\s"'“”‘’:,-]+|[\s"'“”‘’.,;:!?-]+$/g, '')
    .replace(/\s+/g, ' ')
    .toLowerCase();
  if (!s || !/\p{L}/u.test(s)) noOutput('character', raw);
  return s.length > maxKeywordChars ? s.slice(0, maxKeywordChars).trimEnd() : s;
}

export interface StickerAnswer {
  emotion: string;
  expression: string;
  posture: string;
}

/**
 * The `Emotion: ...; Expression: ...; Posture: ...` answer. `raw` is the continuation after the
 * primer `Emotion:` (a repeated `Emotion:` is fine). Fields may be split by `;`, `,` or new lines.
 * At least one field must be present; missing ones are ''.
 */
export function parseStickerAnswer(raw: string): StickerAnswer {
  let text = cutAtTurnEnd(raw).trim();
  if (!/^emotion\s*:/i.test(text)) text = `Emotion: ${text}`;
  const field = (name: string): string => {
    const m = new RegExp(`${name}\\s*:\\s*([^;\\n]*?)\\s*(?=[;\\n]|,?\\s*(?:emotion|expression|posture)\\s*:|$)`, 'i').exec(text);
    return m ? cleanKeyword(m[1]!) : '';
  };
  const answer = { emotion: field('emotion'), expression: field('expression'), posture: field('posture') };
  if (!answer.emotion && !answer.expression && !answer.posture) noOutput('emotion, expression or posture', raw);
  return answer;
}

function dedupe(keywords: string[]): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const k of keywords) {
    if (!k || seen.has(k)) continue;
    seen.add(k);
    out.push(k);
  }
  return out;
}
