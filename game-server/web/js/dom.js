// A tiny element builder. Text always goes in as text nodes (never HTML), so player-supplied
// strings such as names can never inject markup.

/**
 * h('button', {class: 'btn', onclick: fn, 'aria-label': 'Start'}, 'Start', child, ...)
 * Attributes starting with "on" become listeners; `class`, `text`, `hidden` and the rest become
 * attributes. Children: strings/numbers (text nodes), Nodes, arrays, null/false (skipped).
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2), value);
    else if (key === 'text') el.textContent = String(value);
    else if (key === 'hidden') el.hidden = Boolean(value);
    else if (key === 'value') el.value = value;
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else if (child instanceof Node) el.appendChild(child);
    else el.appendChild(document.createTextNode(String(child)));
  }
}

/** Replaces all children of `el`. */
export function replaceChildren(el, ...children) {
  el.replaceChildren();
  append(el, children);
}

/** Sets the text of `el` (a no-op when unchanged, to keep layout work low in the game loop). */
export function setText(el, text) {
  const s = String(text);
  if (el.textContent !== s) el.textContent = s;
}
