/**
 * The page `pmg demo` writes: one self-contained HTML file (inline CSS, no scripts, no network) that
 * shows, for each sample user, what PMG read (the history), what it extracted (preference and target
 * keywords), every candidate image with its weights and scores (d_p, d_t, z) and which one won.
 * Images are referenced by relative paths next to the page (`<user>/candidate-<i>.png`).
 * Every piece of text from data or models goes through `escapeHtml`.
 */
import type { Item } from '../spec/behaviour.js';
import type { DecoderKind } from '../spec/diffusion-models.js';

/** One candidate as the page shows it (the result.json form of issue 5 §4). */
export interface DemoPageCandidate {
  weights: { preference: number; target: number };
  prompt: string;
  seed: number;
  dp: number;
  dt: number;
  z: number;
  /** Image path relative to the page, '/'-separated, e.g. 'user-54/candidate-0.png'. */
  image: string;
  /** False for candidates the early search stopped before the last step. */
  finished: boolean;
  /** The decoder that made the image ('vae': the model's own; 'tiny': the tiny autoencoder). */
  decoder?: DecoderKind;
}

/** One method's chosen image for the side-by-side row (with a soft module: target-only, keywords, soft, pmg+soft). */
export interface DemoMethodRow {
  method: string;
  label: string;
  /** Image path relative to the page. */
  image: string;
  prompt: string;
  /** Tokens of the generator's context (text windows plus soft tokens). */
  contextTokens: number;
  dp: number;
  dt: number;
  z: number;
}

export interface DemoPageUser {
  /** The sample's user id (shown), e.g. '54'. */
  user: string;
  history: Item[];
  target: Item;
  keywords: { preference: string[]; target: string[]; model?: string; cached?: boolean };
  candidates: DemoPageCandidate[];
  chosen: number;
  /** Milliseconds per stage (keywords, denoise, score, total ...), shown small. */
  timings?: Record<string, number>;
  /** The methods side by side (when the demo ran with a soft module). */
  methods?: DemoMethodRow[];
}

export interface DemoPageInput {
  /** 'fast', 'paper', or undefined for a folder of models. */
  preset?: string;
  /** The models that ran (hub ids or folder paths); `decoder`: the tiny autoencoder, when one was loaded. */
  models: { llm: string; clip: string; sd: string; decoder?: string };
  /** Which decoder made the final images. */
  finalDecoder?: DecoderKind;
  alpha: number;
  /** True for `--tiny`: random-weight fixture models, so the images are noise. */
  tiny: boolean;
  steps?: number;
  seed?: number;
  mode?: string;
  search?: string;
  /** ISO time the page was made (omitted: no time shown, so tests can compare pages byte for byte). */
  generatedAt?: string;
  /** The sample's licence line, shown in the footer. */
  sampleNote?: string;
  /** The soft module, described in one line (when the demo ran with one). */
  soft?: string;
  users: DemoPageUser[];
}

const escapes: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Text safe inside HTML elements and quoted attributes. */
export function escapeHtml(value: unknown): string {
  return String(value ?? '').replace(/[&<>"']/g, (c) => escapes[c]!);
}

/** A relative image path as a safe attribute value: each segment URI-encoded, '/' kept. */
export function imageHref(path: string): string {
  return path
    .split('/')
    .map((segment) => encodeURIComponent(segment))
    .join('/');
}

function formatScore(value: number, digits: number): string {
  return Number.isFinite(value) ? value.toFixed(digits) : String(value);
}

function formatWeight(value: number): string {
  return Number.isInteger(value) ? String(value) : value.toFixed(2);
}

function formatMs(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms)} ms`;
}

const DECODER_NAMES: Record<DecoderKind, string> = { vae: 'the VAE', tiny: 'the tiny autoencoder' };

function itemLine(item: Item): string {
  return escapeHtml(item.title ?? item.id ?? '(untitled)');
}

function chips(words: readonly string[], kind: 'preference' | 'target' | 'plain'): string {
  if (words.length === 0) return '<span class="none">none</span>';
  return `<ul class="chips ${kind}">${words.map((w) => `<li>${escapeHtml(w)}</li>`).join('')}</ul>`;
}

function historyTable(user: DemoPageUser): string {
  const rows = user.history
    .map(
      (item, i) =>
        `<tr><td class="num">${i + 1}</td><th scope="row">${itemLine(item)}</th><td>${escapeHtml((item.genres ?? []).join(', '))}</td><td>${escapeHtml((item.keywords ?? []).join(', '))}</td></tr>`,
    )
    .join('\n');
  return [
    `<table class="history">`,
    `<caption>What the user watched (history, in the order the model saw it)</caption>`,
    `<thead><tr><th scope="col">#</th><th scope="col">Title</th><th scope="col">Genres</th><th scope="col">Keywords</th></tr></thead>`,
    `<tbody>${rows}</tbody>`,
    `</table>`,
  ].join('\n');
}

function candidateFigure(user: DemoPageUser, candidate: DemoPageCandidate, index: number): string {
  const chosen = index === user.chosen;
  const label = `candidate ${index}, preference weight ${formatWeight(candidate.weights.preference)}`;
  const alt = `${chosen ? 'Chosen image' : 'Candidate image'} ${index} for user ${user.user}: preference weight ${formatWeight(candidate.weights.preference)}, target weight ${formatWeight(candidate.weights.target)}, z ${formatScore(candidate.z, 3)}`;
  return [
    `<figure class="candidate${chosen ? ' chosen' : ''}" data-candidate="${index}" data-chosen="${chosen}"${chosen ? ' aria-current="true"' : ''}>`,
    chosen ? `<p class="badge">Chosen (largest z)</p>` : '',
    `<img src="${escapeHtml(imageHref(candidate.image))}" alt="${escapeHtml(alt)}" width="256" height="256" loading="eager">`,
    `<figcaption>`,
    `<table class="scores" aria-label="scores of ${escapeHtml(label)}">`,
    `<thead><tr><th scope="col">w<sub>p</sub></th><th scope="col">w<sub>t</sub></th><th scope="col">d<sub>p</sub></th><th scope="col">d<sub>t</sub></th><th scope="col">z</th></tr></thead>`,
    `<tbody><tr><td>${formatWeight(candidate.weights.preference)}</td><td>${formatWeight(candidate.weights.target)}</td><td>${formatScore(candidate.dp, 2)}</td><td>${formatScore(candidate.dt, 2)}</td><td class="z">${formatScore(candidate.z, 4)}</td></tr></tbody>`,
    `</table>`,
    `<p class="meta">seed ${escapeHtml(candidate.seed)}${candidate.finished ? '' : ' · stopped early (preview only)'}${candidate.decoder ? ` · <span class="decoder">decoded by ${DECODER_NAMES[candidate.decoder]}</span>` : ''}</p>`,
    `<details><summary>Prompt</summary><p class="prompt">${escapeHtml(candidate.prompt)}</p></details>`,
    `</figcaption>`,
    `</figure>`,
  ]
    .filter(Boolean)
    .join('\n');
}

function methodFigure(user: DemoPageUser, row: DemoMethodRow): string {
  const alt = `${row.label} image for user ${user.user}: context ${row.contextTokens} tokens, d_p ${formatScore(row.dp, 2)}, d_t ${formatScore(row.dt, 2)}`;
  return [
    `<figure class="candidate method" data-method="${escapeHtml(row.method)}">`,
    `<img src="${escapeHtml(imageHref(row.image))}" alt="${escapeHtml(alt)}" width="256" height="256" loading="eager">`,
    `<figcaption>`,
    `<p class="method-name"><strong>${escapeHtml(row.label)}</strong></p>`,
    `<table class="scores" aria-label="scores of ${escapeHtml(row.label)}">`,
    `<thead><tr><th scope="col">context</th><th scope="col">d<sub>p</sub></th><th scope="col">d<sub>t</sub></th><th scope="col">z</th></tr></thead>`,
    `<tbody><tr><td>${escapeHtml(row.contextTokens)}</td><td>${formatScore(row.dp, 2)}</td><td>${formatScore(row.dt, 2)}</td><td>${formatScore(row.z, 4)}</td></tr></tbody>`,
    `</table>`,
    `<details><summary>Prompt</summary><p class="prompt">${escapeHtml(row.prompt)}</p></details>`,
    `</figcaption>`,
    `</figure>`,
  ].join('\n');
}

function methodsRow(user: DemoPageUser): string {
  if (!user.methods?.length) return '';
  return [
    `<h3>Methods side by side <span class="hint">same user, seed and keywords: target only, + preference keywords, + soft tokens, both (context = text tokens + soft tokens)</span></h3>`,
    `<div class="candidates methods">`,
    ...user.methods.map((row) => methodFigure(user, row)),
    `</div>`,
  ].join('\n');
}

function userSection(user: DemoPageUser, index: number): string {
  const id = `user-${index}`;
  const target = user.target;
  const timings = user.timings
    ? Object.entries(user.timings)
        .map(([stage, ms]) => `${escapeHtml(stage)} ${formatMs(ms)}`)
        .join(' · ')
    : '';
  const chosen = user.candidates[user.chosen];
  return [
    `<section class="user" id="${id}" aria-labelledby="${id}-title">`,
    `<h2 id="${id}-title">User ${escapeHtml(user.user)} <span class="arrow" aria-hidden="true">→</span> <span class="target-title">${itemLine(target)}</span></h2>`,
    `<div class="columns">`,
    `<div class="col">`,
    historyTable(user),
    `<div class="target"><h3>Target item</h3><p><strong>${itemLine(target)}</strong>${target.genres?.length ? ` <span class="genres">(${escapeHtml(target.genres.join(', '))})</span>` : ''}</p>${target.description ? `<p class="description">${escapeHtml(target.description)}</p>` : ''}</div>`,
    `</div>`,
    `<div class="col">`,
    `<h3>Preference keywords <span class="hint">from the history</span></h3>`,
    chips(user.keywords.preference, 'preference'),
    `<h3>Target keywords <span class="hint">for the target item</span></h3>`,
    chips(user.keywords.target, 'target'),
    user.keywords.model ? `<p class="meta">extracted by ${escapeHtml(user.keywords.model)}${user.keywords.cached ? ' (from the keyword cache)' : ''}</p>` : '',
    `</div>`,
    `</div>`,
    `<h3>Candidates <span class="hint">${user.candidates.length} generated; the chosen one has the largest z${chosen ? ` (candidate ${user.chosen}, z ${formatScore(chosen.z, 4)})` : ''}</span></h3>`,
    `<div class="candidates">`,
    ...user.candidates.map((c, i) => candidateFigure(user, c, i)),
    `</div>`,
    methodsRow(user),
    timings ? `<p class="meta timings">time: ${timings}</p>` : '',
    `</section>`,
  ]
    .filter(Boolean)
    .join('\n');
}

const css = `
:root { color-scheme: light; --fg: #1d2430; --muted: #5a6474; --line: #d8dde6; --bg: #f6f7f9; --card: #fff; --accent: #0b6bcb; --pref: #7a3fb0; --target: #0a7a5a; --warn-bg: #fff4d6; --warn-line: #e0b04a; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; color: var(--fg); background: var(--bg); }
header, main, footer { max-width: 1200px; margin: 0 auto; padding: 0 24px; }
header { padding-top: 24px; }
h1 { font-size: 26px; margin: 0 0 4px; }
h2 { font-size: 20px; margin: 0 0 12px; }
h3 { font-size: 15px; margin: 14px 0 6px; }
.hint { font-weight: normal; color: var(--muted); font-size: 13px; }
.lead { color: var(--muted); margin: 0 0 12px; }
.notice { background: var(--warn-bg); border: 1px solid var(--warn-line); border-radius: 6px; padding: 10px 14px; margin: 12px 0; }
.run { border-collapse: collapse; margin: 8px 0 16px; font-size: 14px; }
.run th { text-align: left; padding: 2px 16px 2px 0; color: var(--muted); font-weight: 600; vertical-align: top; }
.run td { padding: 2px 0; overflow-wrap: anywhere; }
.formula { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; background: var(--card); border: 1px solid var(--line); border-radius: 4px; padding: 1px 6px; }
nav ul { list-style: none; padding: 0; margin: 0 0 16px; display: flex; flex-wrap: wrap; gap: 8px; }
nav a { display: inline-block; padding: 4px 10px; border: 1px solid var(--line); border-radius: 999px; background: var(--card); color: var(--accent); text-decoration: none; }
nav a:hover, nav a:focus { border-color: var(--accent); }
.user { background: var(--card); border: 1px solid var(--line); border-radius: 10px; padding: 18px 20px; margin: 0 0 24px; }
.arrow { color: var(--muted); }
.columns { display: grid; grid-template-columns: minmax(0, 3fr) minmax(0, 2fr); gap: 24px; }
@media (max-width: 860px) { .columns { grid-template-columns: 1fr; } }
table.history { border-collapse: collapse; width: 100%; font-size: 14px; }
table.history caption { text-align: left; font-weight: 600; padding-bottom: 6px; }
table.history th, table.history td { border-bottom: 1px solid var(--line); padding: 5px 8px 5px 0; text-align: left; vertical-align: top; }
table.history thead th { color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: .03em; }
table.history tbody th { font-weight: 600; }
td.num { color: var(--muted); width: 1.5em; }
.target p { margin: 2px 0; }
.genres, .description { color: var(--muted); }
.chips { list-style: none; padding: 0; margin: 0; display: flex; flex-wrap: wrap; gap: 6px; }
.chips li { padding: 2px 9px; border-radius: 999px; font-size: 13px; border: 1px solid; }
.chips.preference li { color: var(--pref); border-color: #d9c4ee; background: #f7f1fc; }
.chips.target li { color: var(--target); border-color: #b9e2d4; background: #eefaf5; }
.none { color: var(--muted); font-style: italic; }
.candidates { display: flex; flex-wrap: wrap; gap: 16px; }
.candidate { position: relative; margin: 0; width: 276px; padding: 10px; border: 2px solid var(--line); border-radius: 8px; background: var(--card); }
.candidate.chosen { border: 3px solid var(--accent); box-shadow: 0 0 0 3px rgba(11, 107, 203, .15); padding: 9px; }
.candidate img { display: block; width: 256px; height: 256px; object-fit: contain; background: #eee; border-radius: 4px; image-rendering: pixelated; }
.badge { position: absolute; top: 16px; left: 16px; margin: 0; padding: 2px 8px; border-radius: 4px; background: var(--accent); color: #fff; font-size: 12px; font-weight: 700; }
table.scores { border-collapse: collapse; width: 100%; margin-top: 8px; font-size: 13px; font-variant-numeric: tabular-nums; }
table.scores th { color: var(--muted); font-weight: 600; text-align: right; padding: 0 4px; }
table.scores td { text-align: right; padding: 0 4px; }
.chosen td.z { font-weight: 700; color: var(--accent); }
.meta { color: var(--muted); font-size: 12px; margin: 6px 0 0; }
details { margin-top: 4px; font-size: 13px; }
summary { cursor: pointer; color: var(--accent); }
.methods .candidate { width: 236px; }
.methods .candidate img { width: 216px; height: 216px; }
.method-name { margin: 6px 0 0; font-size: 14px; }
.prompt { margin: 4px 0 0; font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12px; overflow-wrap: anywhere; }
footer { color: var(--muted); font-size: 13px; padding-bottom: 32px; }
`;

function runTable(input: DemoPageInput): string {
  const rows: [string, string][] = [
    [
      'Models',
      input.preset ? `preset <strong>${escapeHtml(input.preset)}</strong>` : input.tiny ? 'tiny fixture models (random weights)' : 'models from a folder',
    ],
    ['Keyword LLM', escapeHtml(input.models.llm)],
    ['CLIP scorer', escapeHtml(input.models.clip)],
    ['Image generator', escapeHtml(input.models.sd)],
    ...(input.models.decoder ? ([['Tiny autoencoder (TAESD)', escapeHtml(input.models.decoder)]] as [string, string][]) : []),
    ...(input.finalDecoder
      ? ([['Final images decoded by', escapeHtml(input.finalDecoder === 'tiny' ? 'the tiny autoencoder (faster, softer detail)' : "the model's VAE")]] as [
          string,
          string,
        ][])
      : []),
    ['α (preference share of z)', escapeHtml(formatScore(input.alpha, 4))],
    ...(input.soft ? ([['Soft module', escapeHtml(input.soft)]] as [string, string][]) : []),
  ];
  if (input.steps !== undefined) rows.push(['Denoising steps', escapeHtml(input.steps)]);
  if (input.seed !== undefined) rows.push(['Seed', escapeHtml(input.seed)]);
  if (input.mode) rows.push(['Conditioning', escapeHtml(input.mode)]);
  if (input.search) rows.push(['Candidate search', escapeHtml(input.search)]);
  if (input.generatedAt) rows.push(['Made', escapeHtml(input.generatedAt)]);
  return `<table class="run" aria-label="how this page was made"><tbody>${rows.map(([k, v]) => `<tr><th scope="row">${k}</th><td>${v}</td></tr>`).join('')}</tbody></table>`;
}

/** The whole page as one HTML string. */
export function renderDemoPage(input: DemoPageInput): string {
  const nav =
    input.users.length > 1
      ? `<nav aria-label="users"><ul>${input.users.map((u, i) => `<li><a href="#user-${i}">User ${escapeHtml(u.user)}</a></li>`).join('')}</ul></nav>`
      : '';
  const notice = input.tiny
    ? `<p class="notice" role="note"><strong>Tiny mode:</strong> these images are noise. They come from random-weight fixture models that pmg writes itself, so that the whole pipeline runs offline in seconds; the keywords and scores are equally meaningless. Run <code>pmg demo</code> without <code>--tiny</code> for real models.</p>`
    : '';
  const decoderNote =
    input.finalDecoder === 'tiny'
      ? `<p class="notice" role="note"><strong>Tiny decoder:</strong> the final images were decoded by a tiny autoencoder (TAESD) instead of the model's own VAE: on a CPU it is about 19 times cheaper, but fine detail and texture are softer. Run with <code>--final-decoder vae</code> for the full VAE's quality.</p>`
      : '';
  return [
    '<!doctype html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    '<title>PMG demo — personalized movie posters</title>',
    `<style>${css}</style>`,
    '</head>',
    '<body>',
    '<header>',
    '<h1>PMG demo: personalized movie posters</h1>',
    `<p class="lead">For each user, PMG turns the movies they watched into preference keywords, asks for a poster of the next movie with the preference mixed in at several weights, and keeps the candidate with the largest <span class="formula">z = α·log d<sub>p</sub> + (1−α)·log d<sub>t</sub></span>, where d<sub>p</sub> and d<sub>t</sub> are CLIP scores (100·cosine) of the image against the preference and target keywords.</p>`,
    notice,
    decoderNote,
    runTable(input),
    nav,
    '</header>',
    '<main>',
    ...input.users.map((u, i) => userSection(u, i)),
    '</main>',
    `<footer><p>Made by <code>pmg demo</code> (PMG, arXiv 2404.08677). Each user's folder holds <code>result.json</code> with every number on this page.</p>${input.sampleNote ? `<p>${escapeHtml(input.sampleNote)}</p>` : ''}</footer>`,
    '</body>',
    '</html>',
  ]
    .filter((line) => line !== '')
    .join('\n')
    .concat('\n');
}
