// Steps 1–3 of the page: build a history (dataset user, title search, own titles, uploads, a conversation),
// pick or describe the target, set the options; `readJob` turns it all into a generation job.
import { ApiError, getJson, request } from './api.js';
import { $, debounce, el, onEnter, showText } from './dom.js';

const history = [];
let dataset; // { name, kind, scene } when the server has --data
let targetBase; // the picked target item (genres, keywords …), until its title is edited

export async function initBuilder(models) {
  fillMethods(models);
  $('scene').addEventListener('change', sceneChanged);
  $('new-item-add').addEventListener('click', addOwnItem);
  onEnter($('new-item-title'), addOwnItem);
  $('upload').addEventListener('change', uploadImages);
  $('target-title').addEventListener('input', () => (targetBase = undefined));
  $('target-select').addEventListener('change', () => pickTarget(suggested[Number($('target-select').value)]));
  $('method').addEventListener('change', methodChanged);
  renderHistory();
  try {
    const { datasets } = await getJson('/v1/datasets');
    if (datasets.length) await initDataset(datasets[0]);
  } catch (error) {
    if (!(error instanceof ApiError) || error.status !== 404) throw error;
  }
  sceneChanged();
}

function fillMethods(models) {
  const methods = (models.methods ?? ['pmg']).filter((m) => m !== 'soft' || models.soft?.length);
  $('method').replaceChildren(...methods.map((m) => el('option', { value: m, selected: m === 'pmg' }, m)));
  if (models.soft?.length) {
    $('soft-row').hidden = false;
    $('soft-module').replaceChildren(
      el('option', { value: '' }, 'none'),
      ...models.soft.map((s) => el('option', { value: s.name }, `${s.name} (P=${s.P}, N=${s.N})`)),
    );
  }
  if (models.scenes?.length) {
    const current = $('scene').value;
    $('scene').replaceChildren(...models.scenes.map((s) => el('option', { value: s, selected: s === current }, s)));
  }
}

function methodChanged() {
  if ($('method').value === 'soft' && !$('soft-module').value && $('soft-module').options.length > 1) $('soft-module').selectedIndex = 1;
}

function sceneChanged() {
  $('conversation-panel').hidden = $('scene').value !== 'sticker';
}

// --- dataset users and title search ---------------------------------------------------------------------------

async function initDataset(info) {
  dataset = info;
  $('dataset-panel').hidden = false;
  $('item-search-panel').hidden = false;
  $('target-search-panel').hidden = false;
  $('dataset-name').textContent = `${info.name} (${info.kind}, ${info.users} users)`;
  if ([...$('scene').options].some((o) => o.value === info.scene)) $('scene').value = info.scene;
  const users = debounce(loadUsers, 200);
  $('user-filter').addEventListener('input', users);
  $('user-use').addEventListener('click', useUser);
  onEnter($('user-select'), useUser);
  $('user-select').addEventListener('dblclick', useUser);
  searchBox('item-search', 'item-results', 'Add', (item) => addItem(item));
  searchBox('target-search', 'target-results', 'Use as target', (item) => pickTarget(item));
  await loadUsers();
}

const datasetPath = (rest) => `/v1/datasets/${encodeURIComponent(dataset.name)}/${rest}`;

async function loadUsers() {
  const q = $('user-filter').value.trim();
  try {
    const { users, total } = await getJson(datasetPath(`users?limit=100&q=${encodeURIComponent(q)}`));
    $('user-count').textContent = users.length < total ? `${users.length} of ${total}` : String(total);
    $('user-select').replaceChildren(...users.map((u) => el('option', { value: u.id }, `user ${u.id} (${u.historyLength} items)`)));
    if (users.length) $('user-select').selectedIndex = 0;
    showText($('user-error'), users.length ? '' : `no user id contains '${q}'`);
  } catch (error) {
    showText($('user-error'), error.message);
  }
}

let suggested = [];

async function useUser() {
  const id = $('user-select').value;
  if (!id) return showText($('user-error'), 'choose a user first');
  try {
    const user = await getJson(datasetPath(`users/${encodeURIComponent(id)}`));
    showText($('user-error'), '');
    $('scene').value = user.scene;
    sceneChanged();
    history.splice(0, history.length, ...user.history.items);
    renderHistory();
    suggested = user.targets;
    $('target-suggest-row').hidden = suggested.length === 0;
    $('target-select').replaceChildren(...suggested.map((t, i) => el('option', { value: i }, i === 0 ? `${t.title} (held out)` : t.title)));
    if (suggested.length) pickTarget(suggested[0]);
  } catch (error) {
    showText($('user-error'), error.message);
  }
}

/** A search field listing matching titles, each with a button that hands the item to `use`. */
function searchBox(inputId, listId, verb, use) {
  const list = $(listId);
  const search = debounce(async () => {
    const q = $(inputId).value.trim();
    if (!q) return list.replaceChildren();
    try {
      const { items } = await getJson(datasetPath(`items?limit=10&q=${encodeURIComponent(q)}`));
      list.replaceChildren(
        ...items.map((item) =>
          el(
            'li',
            {},
            el('button', { type: 'button', class: 'link', onclick: () => use(item) }, `${verb}: ${item.title}`),
            item.genres?.length ? ` — ${item.genres.join(', ')}` : '',
          ),
        ),
      );
      if (!items.length) list.append(el('li', { class: 'muted' }, `no title contains '${q}'`));
    } catch (error) {
      list.replaceChildren(el('li', { class: 'error' }, error.message));
    }
  }, 200);
  $(inputId).addEventListener('input', search);
  onEnter($(inputId), () => {}); // Enter in a search field does not submit the form
}

// --- the history -----------------------------------------------------------------------------------------------

function addItem(item) {
  history.push({ ...item });
  renderHistory();
  $('history-count').focus?.();
}

function addOwnItem() {
  const title = $('new-item-title').value.trim();
  if (!title) return $('new-item-title').focus();
  addItem({ title });
  $('new-item-title').value = '';
  $('new-item-title').focus();
}

async function uploadImages() {
  const files = [...$('upload').files];
  showText($('upload-error'), '');
  for (const file of files) {
    try {
      const response = await request('/v1/uploads', { method: 'POST', body: file, contentType: file.type || 'application/octet-stream' });
      const { path } = await response.json();
      addItem({ title: file.name.replace(/\.[a-z0-9]+$/i, ''), image: path, preview: URL.createObjectURL(file), fileName: file.name });
    } catch (error) {
      showText($('upload-error'), `${file.name}: ${error.message}`);
    }
  }
  $('upload').value = '';
}

function renderHistory() {
  $('history-count').textContent = String(history.length);
  $('history-empty').hidden = history.length > 0;
  $('history-list').replaceChildren(
    ...history.map((item, i) => {
      const title = el('input', {
        type: 'text',
        id: `history-title-${i}`,
        value: item.title ?? '',
        'aria-label': `Title of history item ${i + 1}`,
        oninput: (event) => (history[i].title = event.target.value),
      });
      const remove = el(
        'button',
        {
          type: 'button',
          'aria-label': `Remove history item ${i + 1}: ${item.title ?? item.fileName ?? 'image'}`,
          onclick: () => {
            history.splice(i, 1);
            renderHistory();
            const next = $(`history-title-${Math.min(i, history.length - 1)}`) ?? $('new-item-title');
            next.focus();
          },
        },
        'Remove',
      );
      const thumb = item.preview ? el('img', { src: item.preview, alt: `Uploaded image ${item.fileName}`, class: 'thumb' }) : undefined;
      const details = [item.genres?.join(', '), item.category].filter(Boolean).join(' · ');
      return el('li', { 'data-field': `history.items[${i}]` }, thumb, title, details ? el('span', { class: 'muted' }, ` ${details} `) : undefined, remove);
    }),
  );
}

// --- the target ------------------------------------------------------------------------------------------------

function pickTarget(item) {
  $('target-title').value = item.title ?? '';
  $('target-description').value = item.description ?? '';
  targetBase = item;
}

function targetItem() {
  const title = $('target-title').value.trim();
  const description = $('target-description').value.trim();
  if (!title && !description) return undefined;
  const base = targetBase && targetBase.title === title ? { ...targetBase } : {};
  delete base.image;
  return { ...base, ...(title ? { title } : {}), ...(description ? { description } : { description: undefined }) };
}

function conversation() {
  return $('conversation')
    .value.split('\n')
    .map((line) => line.trim())
    .filter(Boolean)
    .map((line) => {
      const colon = line.indexOf(':');
      return colon > 0 ? { speaker: line.slice(0, colon).trim(), text: line.slice(colon + 1).trim() } : { speaker: 'user', text: line };
    });
}

// --- the job ---------------------------------------------------------------------------------------------------

const number = (id) => ($(id).value.trim() === '' ? undefined : Number($(id).value));

/** The generation job the form describes (the server checks it; its field errors point back here). */
export function readJob() {
  const scene = $('scene').value;
  const items = history.map(({ preview: _p, fileName: _f, ...item }) => item);
  const turns = scene === 'sticker' ? conversation() : [];
  const item = targetItem();
  const target = {};
  if (item) target.item = JSON.parse(JSON.stringify(item));
  if (turns.length) target.conversation = turns;
  const job = { scene, history: { items }, target, method: $('method').value };
  for (const [key, id] of [
    ['alpha', 'alpha'],
    ['steps', 'steps'],
    ['seed', 'seed'],
    ['width', 'size'],
    ['height', 'size'],
  ]) {
    const v = number(id);
    if (v !== undefined) job[key] = v;
  }
  if ($('soft-module').value && ['pmg', 'soft'].includes(job.method)) job.soft = { module: $('soft-module').value };
  return job;
}

/** Fill the form from a past job (reopened by its URL), so it can be changed and run again. */
export function fillBuilder(job) {
  if (!job || !job.history) return;
  if ([...$('scene').options].some((o) => o.value === job.scene)) $('scene').value = job.scene;
  sceneChanged();
  history.splice(
    0,
    history.length,
    ...(job.history.items ?? []).map((item) => ({ ...item, ...(item.image ? { fileName: item.image.split('/').pop() } : {}) })),
  );
  renderHistory();
  if (job.target?.item) pickTarget(job.target.item);
  if (job.target?.conversation) $('conversation').value = job.target.conversation.map((t) => `${t.speaker}: ${t.text}`).join('\n');
  if ([...$('method').options].some((o) => o.value === job.method)) $('method').value = job.method;
  for (const [key, id] of [
    ['alpha', 'alpha'],
    ['steps', 'steps'],
    ['seed', 'seed'],
  ])
    $(id).value = job[key] ?? '';
  $('size').value = job.width && job.width === job.height ? String(job.width) : '';
}
