// The pmg serve API as the page uses it: JSON requests with the stored API key, errors as ApiError (code, field).
const KEY = 'pmg-api-key';

export class ApiError extends Error {
  constructor(status, code, message, field, retryAfter) {
    super(message);
    this.status = status;
    this.code = code;
    this.field = field;
    this.retryAfter = retryAfter;
  }
}

/** Called with no arguments when a request answers 401 (the page shows the key form). */
let onUnauthorized = () => {};
export function whenUnauthorized(handler) {
  onUnauthorized = handler;
}

export function apiKey() {
  return sessionStorage.getItem(KEY) ?? '';
}

export function setApiKey(key) {
  if (key) sessionStorage.setItem(KEY, key);
  else sessionStorage.removeItem(KEY);
}

function headers(extra = {}) {
  const key = apiKey();
  return key ? { ...extra, Authorization: `Bearer ${key}` } : extra;
}

/** fetch with the key; a non-2xx answer throws ApiError with the API's { error: { code, message, field } }. */
export async function request(path, { method = 'GET', json, body, contentType } = {}) {
  const init = { method, headers: headers(contentType ? { 'Content-Type': contentType } : {}) };
  if (json !== undefined) {
    init.body = JSON.stringify(json);
    init.headers['Content-Type'] = 'application/json';
  } else if (body !== undefined) init.body = body;
  let response;
  try {
    response = await fetch(path, init);
  } catch (error) {
    throw new ApiError(0, 'network', `the server did not answer (${error.message})`);
  }
  if (response.ok) return response;
  let error = {};
  try {
    error = (await response.json()).error ?? {};
  } catch {
    // not JSON: keep the status line
  }
  if (response.status === 401) onUnauthorized();
  const retry = response.headers.get('Retry-After');
  const message = error.message ?? `${response.status} ${response.statusText}`;
  throw new ApiError(response.status, error.code ?? 'http-' + response.status, message, error.field, retry ? Number(retry) : undefined);
}

export async function getJson(path) {
  return (await request(path)).json();
}

export async function postJson(path, json) {
  return (await request(path, { method: 'POST', json })).json();
}

/** The events URL for EventSource, which cannot send headers: the key goes in ?access_token=. */
export function eventsUrl(id) {
  const key = apiKey();
  const url = `/v1/generations/${encodeURIComponent(id)}/events`;
  return key ? `${url}?access_token=${encodeURIComponent(key)}` : url;
}

export function imageUrl(id, name, version) {
  const url = `/v1/generations/${encodeURIComponent(id)}/images/${encodeURIComponent(name)}.png`;
  return version === undefined ? url : `${url}?v=${version}`;
}

export function resultUrl(id) {
  return `/v1/generations/${encodeURIComponent(id)}/result.json`;
}

/** Point an <img> at an API image: directly without a key; with one, fetched with the header into a blob URL. */
export async function showImage(img, url) {
  if (!apiKey()) {
    img.src = url;
    return;
  }
  // Previews arrive step after step: only the newest asked-for image may replace the shown one.
  const ticket = String(Number(img.dataset.ticket ?? 0) + 1);
  img.dataset.ticket = ticket;
  try {
    const blob = await (await request(url)).blob();
    if (img.dataset.ticket !== ticket) return;
    const old = img.dataset.blob;
    img.src = img.dataset.blob = URL.createObjectURL(blob);
    if (old) URL.revokeObjectURL(old);
  } catch {
    // the next update tries again
  }
}

/** Download an API file: a plain link without a key; with one, fetched with the header and saved from a blob. */
export async function download(url, filename) {
  const a = document.createElement('a');
  a.download = filename;
  if (apiKey()) a.href = URL.createObjectURL(await (await request(url)).blob());
  else a.href = url;
  document.body.append(a);
  a.click();
  a.remove();
}
