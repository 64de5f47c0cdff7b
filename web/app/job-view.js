// Step 4 and 7: one job followed live (EventSource) or reopened from its record: state, progress, keywords,
// one tile per candidate (its x0 preview while denoising, then its image and scores), the winner, downloads.
import { ApiError, apiKey, download, eventsUrl, getJson, imageUrl, request, resultUrl, showImage } from './api.js';
import { hideAlphaPanel, showAlphaPanel } from './alpha-panel.js';
import { $, el, showText } from './dom.js';

const ENDED = ['done', 'failed', 'cancelled'];
let source; // the open EventSource
let shownId;

/** Show job `id`: its record now, then its live events while it runs. Resolves with the record. */
export async function openJob(id) {
  closeStream();
  shownId = id;
  const view = $('job');
  view.hidden = false;
  $('job-id').textContent = id;
  $('tiles').replaceChildren();
  hideAlphaPanel();
  $('job-keywords').hidden = true;
  $('downloads').hidden = true;
  showText($('job-error'), '');
  let record;
  try {
    record = await getJson(`/v1/generations/${encodeURIComponent(id)}`);
  } catch (error) {
    setState(error instanceof ApiError && error.status === 404 ? 'not found' : 'unknown');
    showText($('job-error'), error.message);
    return undefined;
  }
  renderRecord(record);
  if (!ENDED.includes(record.state)) follow(id);
  return record;
}

export function closeStream() {
  source?.close();
  source = undefined;
}

function setState(state, stage = '') {
  $('job-state').textContent = state;
  $('job-state').dataset.state = state;
  $('job-stage').textContent = stage;
  $('job-cancel')?.toggleAttribute('hidden', ENDED.includes(state) || state === 'not found');
}

function setProgress(step, total) {
  const bar = $('job-progress');
  bar.max = total || 1;
  bar.value = step || 0;
  bar.setAttribute('aria-valuetext', total ? `step ${step} of ${total}` : 'waiting');
}

function renderRecord(record) {
  const p = record.progress ?? {};
  setState(record.state, stageText(record));
  setProgress(record.state === 'done' ? p.total || 1 : p.step, record.state === 'done' ? p.total || 1 : p.total);
  if (record.error) showText($('job-error'), `${record.error.code}: ${record.error.message}`);
  const result = record.result;
  if (result?.keywords) showKeywords(result.keywords);
  for (const name of record.images ?? []) {
    const m = /^preview-(\d+)$/.exec(name);
    if (m && record.state !== 'done') previewTile(record.id, Number(m[1]), p.step, p.total);
  }
  if (record.state === 'done' && result?.candidates) {
    const candidates = result.candidates.map((c, index) => ({ index, ...c, image: (c.image ?? `candidate-${index}.png`).replace(/\.png$/, '') }));
    showCandidates(record.id, candidates, result.alpha ?? record.job?.alpha ?? 2 / 3);
    showDownloads(record.id, candidates);
  } else if (record.state === 'done' && record.kind === 'txt2img') {
    // A plain text-to-image job (the A1111 route): its images, no scores.
    const names = (record.images ?? []).filter((n) => /^image-\d+$/.test(n));
    names.forEach((name, k) => {
      const tile = tileFor(k);
      tile.querySelector('figcaption').textContent = name;
      const img = tile.querySelector('img');
      img.alt = `Image ${k} for the prompt: ${record.job?.prompt ?? ''}`;
      showImage(img, imageUrl(record.id, name));
    });
    showDownloads(record.id, [], names);
  }
}

function stageText(record) {
  if (record.state === 'queued') return record.queuePosition !== undefined ? `position ${record.queuePosition + 1} in the queue` : '';
  const p = record.progress ?? {};
  if (record.state === 'running') return p.total ? `${p.stage}: step ${p.step ?? 0} of ${p.total}` : (p.stage ?? '');
  return '';
}

function follow(id) {
  source = new EventSource(eventsUrl(id));
  const on = (type, handler) =>
    source.addEventListener(type, (event) => {
      if (shownId !== id) return;
      handler(event.data ? JSON.parse(event.data) : {});
    });
  on('queued', (d) => setState('queued', d.position !== undefined ? `position ${d.position + 1} in the queue` : ''));
  on('started', () => setState('running', 'starting'));
  on('keywords', (d) => {
    setState('running', 'keywords ready');
    showKeywords(d);
  });
  on('soft', () => setState('running', 'soft tokens ready'));
  on('step', (d) => {
    setState('running', `denoising: step ${d.step} of ${d.total}`);
    setProgress(d.step, d.total);
    for (const p of d.previews ?? []) previewTile(id, p.candidate, d.step, d.total, p.image);
  });
  on('candidate', (d) => {
    setState('running', 'scoring');
    const tile = tileFor(d.index);
    caption(tile, d);
    showImage(tile.querySelector('img'), imageUrl(id, d.image ?? `candidate-${d.index}`));
    tile.querySelector('img').alt = `Candidate ${d.index}: final image`;
  });
  on('done', async () => {
    closeStream();
    const record = await getJson(`/v1/generations/${encodeURIComponent(id)}`).catch(() => undefined);
    if (record && shownId === id) renderRecord(record);
    announceEnd(id);
  });
  source.addEventListener('error', (event) => {
    if (event.data) {
      const d = JSON.parse(event.data);
      closeStream();
      setState('failed');
      showText($('job-error'), `${d.code}: ${d.message}`);
      announceEnd(id);
    } else if (source?.readyState === EventSource.CLOSED) {
      showText($('job-error'), 'lost the connection to the server; reload the page to follow the job again');
    }
  });
  on('cancelled', () => {
    closeStream();
    setState('cancelled');
    announceEnd(id);
  });
}

/** Tells the rest of the page (the recent jobs list) that a followed job has ended. */
function announceEnd(id) {
  document.dispatchEvent(new CustomEvent('pmg:job-ended', { detail: { id } }));
}

function showKeywords(keywords) {
  $('job-keywords').hidden = false;
  $('keywords-preference').textContent = (keywords.preference ?? []).join(', ') || '(none)';
  $('keywords-target').textContent = (keywords.target ?? []).join(', ') || '(none)';
}

function tileFor(k) {
  let tile = $('tiles').querySelector(`figure[data-candidate="${k}"]`);
  if (!tile) {
    tile = el(
      'figure',
      { class: 'tile', 'data-candidate': String(k) },
      el('img', { alt: `Candidate ${k}: waiting for its first preview`, width: 256, height: 256 }),
      el('figcaption', {}, `Candidate ${k}`),
    );
    const after = [...$('tiles').children].find((t) => Number(t.dataset.candidate) > k);
    $('tiles').insertBefore(tile, after ?? null);
  }
  return tile;
}

function previewTile(id, k, step, total, name = `preview-${k}`) {
  const tile = tileFor(k);
  const img = tile.querySelector('img');
  img.alt = `Candidate ${k}: x0 preview after step ${step ?? '?'} of ${total ?? '?'}`;
  tile.dataset.step = String(step ?? '');
  showImage(img, imageUrl(id, name, step));
}

function caption(tile, c) {
  const fmt = (x) => (Number.isFinite(x) ? x.toFixed(2) : '–');
  tile
    .querySelector('figcaption')
    .replaceChildren(
      el('strong', {}, `Candidate ${c.index}`),
      el('span', { class: 'badge', hidden: true }, ' Winner'),
      el('br'),
      `w_p ${fmt(c.weights?.preference)} · w_t ${fmt(c.weights?.target)}`,
      el('br'),
      `d_p ${fmt(c.dp)} · d_t ${fmt(c.dt)} · z ${Number.isFinite(c.z) ? c.z.toFixed(4) : '–'}`,
      c.finished === false ? el('span', { class: 'muted' }, ' (stopped early)') : '',
    );
}

function showCandidates(id, candidates, alpha) {
  for (const c of candidates) {
    const tile = tileFor(c.index);
    caption(tile, c);
    const img = tile.querySelector('img');
    img.alt = `Candidate ${c.index}${c.finished === false ? ' (stopped early)' : ''}: w_p ${c.weights.preference}, d_p ${c.dp.toFixed(2)}, d_t ${c.dt.toFixed(2)}`;
    showImage(img, imageUrl(id, c.image));
  }
  showAlphaPanel(candidates, alpha, (winner) => {
    for (const tile of $('tiles').children) {
      const on = Number(tile.dataset.candidate) === winner;
      tile.classList.toggle('winner', on);
      tile.querySelector('.badge')?.toggleAttribute('hidden', !on);
    }
  });
}

function showDownloads(id, candidates, images) {
  const link = (url, filename, text) => el('li', {}, el('a', { href: url, download: filename, onclick: (event) => saveWithKey(event, url, filename) }, text));
  $('download-list').replaceChildren(
    ...(images ? [] : [link(resultUrl(id), `${id}-result.json`, 'result.json')]),
    ...(images ? [] : [link(imageUrl(id, 'best'), `${id}-best.png`, 'best.png (the chosen candidate)')]),
    ...(images ?? candidates.map((c) => c.image)).map((name) => link(imageUrl(id, name), `${id}-${name}.png`, `${name}.png`)),
  );
  $('downloads').hidden = false;
}

function saveWithKey(event, url, filename) {
  if (!apiKey()) return;
  event.preventDefault();
  download(url, filename).catch((error) => showText($('job-error'), error.message));
}

export async function cancelShownJob() {
  if (!shownId) return;
  try {
    await request(`/v1/generations/${encodeURIComponent(shownId)}`, { method: 'DELETE' });
  } catch (error) {
    showText($('job-error'), error.message);
  }
}
