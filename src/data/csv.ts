/**
 * A small RFC 4180 CSV reader that streams a file line by line.
 *
 * - Fields are separated by commas; a field may be wrapped in double quotes, and then may hold
 *   commas, line breaks and doubled quotes (`""` stands for one `"`).
 * - Lines may end in LF or CRLF (mixed is fine); a UTF-8 byte-order mark at the start is ignored.
 * - Empty lines are skipped. A malformed line (a stray quote, text after a closing quote, a quote
 *   left open at the end of the file, a row whose field count differs from the header's) raises
 *   PmgError('invalid-input', '<file>:<line>: ...') naming the line where the record starts.
 */
import { createReadStream, existsSync, statSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { PmgError } from '../errors/pmg-error.js';

export interface CsvRow {
  /** 1-based line number where the record starts (the header is line 1). */
  line: number;
  fields: string[];
}

export interface CsvRecord {
  line: number;
  /** Values keyed by header column name. */
  values: Record<string, string>;
}

/** Parse one physical line into `state`; `state.quoted` stays true when a quoted field continues on the next line. */
function parseLine(text: string, state: { fields: string[]; field: string; quoted: boolean; afterQuote: boolean }, where: string): void {
  let i = 0;
  while (i < text.length) {
    const ch = text[i]!;
    if (state.quoted) {
      if (ch === '"') {
        if (text[i + 1] === '"') {
          state.field += '"';
          i += 2;
          continue;
        }
        state.quoted = false;
        state.afterQuote = true;
        i++;
        continue;
      }
      state.field += ch;
      i++;
      continue;
    }
    if (ch === ',') {
      state.fields.push(state.field);
      state.field = '';
      state.afterQuote = false;
      i++;
      continue;
    }
    if (state.afterQuote) {
      throw new PmgError('invalid-input', `${where}: unexpected character '${ch}' after a closing quote (quote the whole field and double inner quotes)`);
    }
    if (ch === '"') {
      if (state.field.length > 0) {
        throw new PmgError('invalid-input', `${where}: stray quote inside an unquoted field (quote the whole field and double inner quotes)`);
      }
      state.quoted = true;
      i++;
      continue;
    }
    state.field += ch;
    i++;
  }
}

/**
 * Stream the rows of a CSV file (header included, as the first row).
 * Throws file-not-found when the file is missing.
 */
export async function* csvRows(file: string): AsyncGenerator<CsvRow> {
  if (!existsSync(file) || !statSync(file).isFile()) {
    throw new PmgError('file-not-found', `CSV file not found: ${file}`, { details: { file } });
  }
  const lines = createInterface({ input: createReadStream(file, { encoding: 'utf8' }), crlfDelay: Infinity });
  let lineNo = 0;
  let start = 0;
  let state: { fields: string[]; field: string; quoted: boolean; afterQuote: boolean } | undefined;
  for await (let text of lines) {
    lineNo++;
    if (lineNo === 1 && text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    if (state) {
      // Continuation of a quoted field across a line break.
      state.field += '\n';
    } else {
      if (text.length === 0) continue;
      if (text.endsWith('\r')) text = text.slice(0, -1); // a lone CR before LF that readline kept
      start = lineNo;
      state = { fields: [], field: '', quoted: false, afterQuote: false };
    }
    parseLine(text, state, `${file}:${start}`);
    if (state.quoted) continue;
    state.fields.push(state.field);
    yield { line: start, fields: state.fields };
    state = undefined;
  }
  if (state) throw new PmgError('invalid-input', `${file}:${start}: a quoted field is never closed (missing '"' before the end of the file)`);
}

/**
 * Stream the records of a CSV file with a header row, keyed by column name.
 * `required` lists columns that must be present (in any order); a missing one is an error naming the file and its header.
 */
export async function* csvRecords(file: string, required: readonly string[] = []): AsyncGenerator<CsvRecord> {
  let header: string[] | undefined;
  for await (const row of csvRows(file)) {
    if (!header) {
      header = row.fields.map((name) => name.trim());
      const missing = required.filter((name) => !header!.includes(name));
      if (missing.length) {
        throw new PmgError('invalid-input', `${file}:${row.line}: header lacks column(s) ${missing.join(', ')} (found: ${header.join(',')})`, {
          details: { file, missing },
        });
      }
      continue;
    }
    if (row.fields.length !== header.length) {
      throw new PmgError('invalid-input', `${file}:${row.line}: expected ${header.length} fields (${header.join(',')}), found ${row.fields.length}`, {
        details: { file, line: row.line },
      });
    }
    const values: Record<string, string> = {};
    header.forEach((name, i) => (values[name] = row.fields[i]!));
    yield { line: row.line, values };
  }
  if (!header) throw new PmgError('invalid-input', `${file}: the file is empty (expected a header row)`, { details: { file } });
}
