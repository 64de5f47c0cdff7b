// Small DOM helpers: build elements, show an error as text next to its field.

/** el('li', { class: 'x', onclick: f }, 'text', child) */
export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith('on')) node.addEventListener(name.slice(2), value);
    else if (name === 'class') node.className = value;
    else node.setAttribute(name, value === true ? '' : String(value));
  }
  node.append(...children.filter((c) => c !== undefined && c !== null && c !== false));
  return node;
}

export const $ = (id) => document.getElementById(id);

export function showText(node, text) {
  node.textContent = text ?? '';
  node.hidden = !text;
}

/** Remove the errors a previous showFieldError placed. */
export function clearFieldErrors(root = document) {
  for (const p of root.querySelectorAll('.field-error')) p.remove();
  for (const node of root.querySelectorAll('[aria-invalid]')) {
    node.removeAttribute('aria-invalid');
    node.removeAttribute('aria-describedby');
  }
}

/**
 * Show an API error near the control whose data-field is the longest prefix of the error's field path
 * (history.items[3].title → the history's item 3); false when no control matches.
 */
export function showFieldError(field, message) {
  if (!field) return false;
  let best;
  for (const node of document.querySelectorAll('[data-field]')) {
    const f = node.dataset.field;
    if (node.closest('[hidden]')) continue;
    if ((field === f || field.startsWith(f + '.') || field.startsWith(f + '[')) && (!best || f.length > best.dataset.field.length)) best = node;
  }
  if (!best) return false;
  const id = `error-${Math.random().toString(36).slice(2)}`;
  const p = el('p', { class: 'error field-error', id, role: 'alert' }, message);
  best.after(p);
  const control = best.matches('input, select, textarea') ? best : best.querySelector('input, select, textarea');
  if (control) {
    control.setAttribute('aria-invalid', 'true');
    control.setAttribute('aria-describedby', id);
    control.focus();
  }
  return true;
}

export function debounce(fn, ms) {
  let timer;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}

/** Enter in this control runs `action` instead of submitting the form. */
export function onEnter(control, action) {
  control.addEventListener('keydown', (event) => {
    if (event.key !== 'Enter') return;
    event.preventDefault();
    action();
  });
}
