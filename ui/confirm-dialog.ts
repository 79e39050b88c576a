// Confirmation before an action, in a modal <dialog> (focus stays inside, Escape cancels).
import { h } from './dom.js';

export function confirmDialog(title: string, body: Node | string, ok: string, danger = false): Promise<boolean> {
  return new Promise((resolve) => {
    const okBtn = h('button', { type: 'submit', value: 'ok', class: danger ? 'danger' : 'primary', 'data-confirm': 'ok' }, ok);
    const dlg = h(
      'dialog',
      { class: 'confirm', 'aria-labelledby': 'dlg-title' },
      h(
        'form',
        { method: 'dialog' },
        h('h2', { id: 'dlg-title' }, title),
        typeof body === 'string' ? h('p', {}, body) : body,
        h('div', { class: 'buttons' }, h('button', { type: 'submit', value: 'cancel', 'data-confirm': 'cancel' }, 'Cancel'), okBtn),
      ),
    );
    document.body.appendChild(dlg);
    dlg.addEventListener('close', () => {
      resolve(dlg.returnValue === 'ok');
      dlg.remove();
    });
    dlg.showModal();
    okBtn.focus();
  });
}
