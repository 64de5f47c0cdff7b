// The pmg web app: routes (/ and /jobs/<id>), the server line, the API key form, Generate, recent jobs.
import { ApiError, getJson, postJson, setApiKey, whenUnauthorized } from './api.js';
import { fillBuilder, initBuilder, readJob } from './builder.js';
import { runComparison } from './compare.js';
import { $, clearFieldErrors, el, showFieldError, showText } from './dom.js';
import { cancelShownJob, closeStream, openJob } from './job-view.js';

let models = { methods: ['pmg'], soft: [] };

whenUnauthorized(() => {
  $('key-form').hidden = false;
  $('api-key').focus();
});

$('key-form').addEventListener('submit', (event) => {
  event.preventDefault();
  setApiKey($('api-key').value.trim());
  $('key-form').hidden = true;
  start();
});

$('builder').addEventListener('submit', (event) => {
  event.preventDefault();
  generate();
});
$('job-cancel').addEventListener('click', cancelShownJob);
$('recent-refresh').addEventListener('click', loadRecent);
document.addEventListener('pmg:job-ended', () => loadRecent());

// Links to /jobs/<id> and / stay in the page (history.pushState).
document.addEventListener('click', (event) => {
  const a = event.target.closest?.('a[href]');
  if (!a || a.hasAttribute('download') || event.ctrlKey || event.metaKey || event.shiftKey) return;
  const url = new URL(a.href, location.href);
  if (url.origin !== location.origin || !(url.pathname === '/' || url.pathname.startsWith('/jobs/'))) return;
  event.preventDefault();
  navigate(url.pathname);
});
window.addEventListener('popstate', route);

function navigate(path) {
  if (location.pathname !== path) history.pushState({}, '', path);
  route();
}

async function route() {
  const m = /^\/jobs\/([A-Za-z0-9_-]+)$/.exec(location.pathname);
  if (!m) {
    closeStream();
    $('job').hidden = true;
    document.title = 'pmg — personalized image generation';
    return;
  }
  document.title = `pmg — job ${m[1]}`;
  const record = await openJob(m[1]);
  if (record && !$('builder').dataset.filled) fillBuilder(record.job);
  $('job').scrollIntoView?.({ block: 'start' });
}

async function generate() {
  clearFieldErrors();
  showText($('generate-error'), '');
  const job = readJob();
  const button = $('generate');
  button.disabled = true;
  try {
    $('builder').dataset.filled = '1'; // the form already holds this job: reopening it need not refill
    if ($('compare').checked) {
      const ids = await runComparison(job, models.methods ?? []);
      loadRecent();
      if (ids.length) navigate(`/jobs/${ids[ids.length - 1]}`);
      return;
    }
    const { id } = await postJson('/v1/generations', job);
    navigate(`/jobs/${id}`);
    loadRecent();
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    const message = error.code === 'queue-full' && error.retryAfter ? `${error.message} (try again in ${error.retryAfter} s)` : error.message;
    if (!showFieldError(error.field, message)) showText($('generate-error'), message);
  } finally {
    button.disabled = false;
  }
}

async function loadRecent() {
  try {
    const { jobs } = await getJson('/v1/generations?limit=20');
    $('recent-list').replaceChildren(
      ...jobs.map((job) => {
        const target = job.job?.target?.item?.title ?? job.job?.prompt ?? '';
        return el(
          'li',
          {},
          el('a', { href: `/jobs/${job.id}` }, job.id),
          ` ${job.state} · ${job.job?.method ?? job.kind} · ${target} · ${new Date(job.createdAt).toLocaleString()}`,
        );
      }),
    );
    if (!jobs.length) $('recent-list').append(el('li', { class: 'muted' }, 'none yet'));
  } catch (error) {
    $('recent-list').replaceChildren(el('li', { class: 'error' }, error.message));
  }
}

let started = false;
async function start() {
  try {
    models = await getJson('/v1/models');
    $('server-line').textContent = `Models: ${models.models}${models.loaded ? '' : ' (loading…)'} · methods ${(models.methods ?? []).join(', ')}${
      models.captioner ? ' · captioner ready' : ''
    }`;
  } catch (error) {
    $('server-line').textContent = error.message;
    return;
  }
  if (!started) {
    started = true;
    try {
      await initBuilder(models);
    } catch (error) {
      $('server-line').textContent = error.message;
    }
  }
  loadRecent();
  route();
}

start();
