// Modal dialogs that hold keyboard focus (Tab and Shift+Tab cycle inside, Escape answers "no"),
// and the focus trap the pause overlays use too.

import { h } from '../dom.js';

const FOCUSABLE = 'button:not([disabled]), a[href], input:not([disabled]), select:not([disabled]), [tabindex]:not([tabindex="-1"])';

/**
 * Keeps Tab inside `container` until the returned function is called. Focus moves into it at once
 * (its first focusable element) unless something inside already has it.
 */
export function trapFocus(container) {
  const onKey = (e) => {
    if (e.key !== 'Tab') return;
    const items = [...container.querySelectorAll(FOCUSABLE)].filter((el) => el.offsetParent !== null || el === document.activeElement);
    if (!items.length) return;
    const first = items[0];
    const last = items[items.length - 1];
    const inside = container.contains(document.activeElement);
    if (e.shiftKey && (document.activeElement === first || !inside)) {
      e.preventDefault();
      last.focus();
    } else if (!e.shiftKey && (document.activeElement === last || !inside)) {
      e.preventDefault();
      first.focus();
    }
  };
  document.addEventListener('keydown', onKey, true);
  if (!container.contains(document.activeElement)) container.querySelector(FOCUSABLE)?.focus();
  return () => document.removeEventListener('keydown', onKey, true);
}

/**
 * Asks a yes/no question in a modal dialog. Resolves true for `yes`, false for `no` or Escape.
 * @param {{title: string, text: string, yes: string, no: string}} q
 */
export function confirmDialog({ title, text, yes, no }) {
  return new Promise((resolve) => {
    const noBtn = h('button', { type: 'button', class: 'btn primary', 'data-answer': 'no' }, no);
    const yesBtn = h('button', { type: 'button', class: 'btn danger', 'data-answer': 'yes' }, yes);
    const box = h('div', { class: 'modal card stack', role: 'alertdialog', 'aria-modal': 'true', 'aria-labelledby': 'modal-h', 'aria-describedby': 'modal-p' },
      h('h2', { id: 'modal-h', text: title }), h('p', { id: 'modal-p', text }), h('div', { class: 'row center' }, noBtn, yesBtn));
    const backdrop = h('div', { class: 'modal-backdrop' }, box);
    const before = document.activeElement;
    const done = (answer) => {
      release();
      document.removeEventListener('keydown', onEsc, true);
      backdrop.remove();
      if (before instanceof HTMLElement) before.focus();
      resolve(answer);
    };
    const onEsc = (e) => {
      if (e.key === 'Escape') {
        e.preventDefault();
        e.stopPropagation();
        done(false);
      }
    };
    noBtn.addEventListener('click', () => done(false));
    yesBtn.addEventListener('click', () => done(true));
    document.body.append(backdrop);
    document.addEventListener('keydown', onEsc, true);
    const release = trapFocus(box);
    noBtn.focus();
  });
}
