// Step 6: the same user, target and seed with each method, side by side; each column is its own job and link.
import { ApiError, eventsUrl, getJson, imageUrl, postJson, showImage } from './api.js';
import { $, el } from './dom.js';

const streams = [];

/** The methods to compare: target-only, keywords, soft (when the job names a soft module), pmg. */
export function compareMethods(job, methods) {
  return ['target-only', 'keywords', 'soft', 'pmg'].filter((m) => methods.includes(m) && (m !== 'soft' || job.soft));
}

/** Submit one job per method and follow them; resolves with the ids (a refused submission shows its error in its column). */
export async function runComparison(job, methods) {
  for (const s of streams.splice(0)) s.close();
  $('compare-view').hidden = false;
  const columns = $('compare-columns');
  columns.replaceChildren();
  const ids = [];
  for (const method of compareMethods(job, methods)) {
    const body = { ...job, method };
    if (method === 'target-only' || method === 'keywords') delete body.soft;
    const state = el('p', { class: 'state' }, 'submitting');
    const img = el('img', { alt: `${method}: no image yet`, width: 256, height: 256 });
    const info = el('p', { class: 'muted' });
    const column = el('article', { class: 'column', 'data-method': method }, el('h3', {}, method), state, img, info);
    columns.append(column);
    try {
      const { id } = await postJson('/v1/generations', body);
      ids.push(id);
      column.dataset.job = id;
      column.insertBefore(el('p', {}, el('a', { href: `/jobs/${id}`, class: 'job-link' }, `job ${id}`)), state);
      follow(id, method, state, img, info);
    } catch (error) {
      state.textContent = error instanceof ApiError ? `refused: ${error.message}` : String(error);
      state.classList.add('error');
    }
  }
  return ids;
}

function follow(id, method, state, img, info) {
  const source = new EventSource(eventsUrl(id));
  streams.push(source);
  source.addEventListener('queued', () => (state.textContent = 'queued'));
  source.addEventListener('step', (event) => {
    const d = JSON.parse(event.data);
    state.textContent = `running: step ${d.step} of ${d.total}`;
    const first = d.previews?.[0];
    if (first) {
      img.alt = `${method}: preview of candidate ${first.candidate} after step ${d.step}`;
      showImage(img, imageUrl(id, first.image, d.step));
    }
  });
  source.addEventListener('keywords', (event) => {
    const d = JSON.parse(event.data);
    info.textContent = `preference: ${(d.preference ?? []).join(', ') || '(none)'}`;
  });
  const end = async (text) => {
    source.close();
    state.textContent = text;
    const record = await getJson(`/v1/generations/${encodeURIComponent(id)}`).catch(() => undefined);
    if (record?.state === 'done' && record.result) {
      const r = record.result;
      const best = r.candidates?.[r.chosen];
      img.alt = `${method}: the chosen image (candidate ${r.chosen})`;
      showImage(img, imageUrl(id, 'best'));
      info.textContent = `${info.textContent ? info.textContent + ' · ' : ''}chosen ${r.chosen}${best ? `: d_p ${best.dp.toFixed(2)}, d_t ${best.dt.toFixed(2)}` : ''}`;
    } else if (record?.error) state.textContent = `${record.state}: ${record.error.message}`;
  };
  source.addEventListener('done', () => end('done'));
  source.addEventListener('cancelled', () => end('cancelled'));
  source.addEventListener('error', (event) => {
    if (event.data || source.readyState === EventSource.CLOSED) end('failed');
  });
}
