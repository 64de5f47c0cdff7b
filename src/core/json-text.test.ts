import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PmgError } from '../errors/pmg-error.js';
import { JsonSyntaxError, lineAndColumn, parseJson, parseJsonText, syntaxErrorOffset } from './json-text.js';

function syntaxError(text: string): JsonSyntaxError {
  try {
    parseJsonText(text);
  } catch (error) {
    assert.ok(error instanceof JsonSyntaxError, `a JsonSyntaxError for ${JSON.stringify(text)}, got ${String(error)}`);
    return error;
  }
  assert.fail(`expected ${JSON.stringify(text)} to be refused`);
}

test('valid JSON parses as JSON.parse does (a byte-order mark is ignored)', () => {
  assert.deepEqual(parseJsonText('{"a": [1, 2.5e3, -0, true, null, "x\\u00e9"]}'), { a: [1, 2500, -0, true, null, 'xé'] });
  assert.deepEqual(parseJsonText('\uFEFF[1]'), [1]);
});

test('errors name line and column, never a character position', () => {
  const cases: [string, number, number, RegExp][] = [
    ['{\n  "title": "Heat",\n  "genres": ["Action",]\n}', 3, 23, /^line 3, column 23: unexpected '\]'$/],
    ['{\n  "a": 1\n  "b": 2\n}', 3, 3, /^line 3, column 3: expected ',' or '}' after property value$/],
    ['[\n {"a": tru }\n]', 2, 11, /^line 2, column 11: unexpected space$/],
    ['{"a": 1,\n}', 2, 1, /^line 2, column 1: expected double-quoted property name$/],
    ['[1, 2', 1, 6, /^line 1, column 6: expected ',' or '\]' after array element$/],
    ['{"a": 1}\n\nx', 3, 1, /^line 3, column 1: unexpected non-whitespace character after the JSON value$/],
    ['', 1, 1, /^line 1, column 1: unexpected end of the text/],
    ['{"a":\n', 2, 1, /^line 2, column 1: unexpected end of the text/],
    ['\uFEFF{\n"a" 1}', 2, 5, /^line 2, column 5: expected ':' after property name$/],
  ];
  for (const [text, line, column, message] of cases) {
    const error = syntaxError(text);
    assert.equal(error.line, line, `line of ${JSON.stringify(text)}: ${error.message}`);
    assert.equal(error.column, column, `column of ${JSON.stringify(text)}: ${error.message}`);
    assert.match(error.message, message);
    assert.doesNotMatch(error.message, /position|is not valid JSON/);
  }
});

test('the fallback scanner finds the same offset as V8 wherever V8 names one', () => {
  const texts = [
    '{"a":1,}',
    '[1,2',
    '{"a" 1}',
    '{"a":1}x',
    '"\\x"',
    '{"a":"b\nc"}',
    '[1,,2]',
    '{,}',
    '[-]',
    '[1.]',
    '[1e]',
    '[01]',
    '{"a":[{"b":nul}]}',
    '"\\u12g4"',
    '[true false]',
    '{"a":1 "b":2}',
    '[1]]',
    '  {"k": [1, 2, {"x": }]}',
    '{"a":-}',
  ];
  let compared = 0;
  for (const text of texts) {
    let message = '';
    try {
      JSON.parse(text);
      assert.fail(`${JSON.stringify(text)} should be invalid`);
    } catch (error) {
      message = (error as Error).message;
    }
    const scanned = syntaxErrorOffset(text);
    assert.ok(scanned >= 0, `the scanner refuses ${JSON.stringify(text)}`);
    const position = /at position (\d+)/.exec(message);
    if (position) {
      assert.equal(scanned, Number(position[1]), `${JSON.stringify(text)}: ${message}`);
      compared++;
    }
  }
  assert.ok(compared >= 10, `compared ${compared} offsets with V8`);
  assert.equal(syntaxErrorOffset('{"a": [1, {"b": null}], "c": "\\u00e9"}'), -1);
});

test('lineAndColumn counts from 1', () => {
  assert.deepEqual(lineAndColumn('ab\ncd', 0), { line: 1, column: 1 });
  assert.deepEqual(lineAndColumn('ab\ncd', 4), { line: 2, column: 2 });
  assert.deepEqual(lineAndColumn('ab\n', 3), { line: 2, column: 1 });
});

test('parseJson: an invalid-input PmgError naming the source, line and column', () => {
  assert.throws(
    () => parseJson('{\n  "llm": "onnx:x",\n}', '/tmp/pmg.config.json'),
    (error: unknown) =>
      error instanceof PmgError &&
      error.code === 'invalid-input' &&
      error.message === '/tmp/pmg.config.json is not valid JSON: line 3, column 1: expected double-quoted property name' &&
      error.details.line === 3 &&
      error.details.column === 1,
  );
  assert.deepEqual(parseJson('{"a": 1}', 'x.json'), { a: 1 });
});
