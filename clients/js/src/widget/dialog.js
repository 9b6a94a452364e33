// Dialog focus helpers for the panel: what can take focus inside it, keeping Tab inside
// it while it covers the screen, and the element that really has focus (through shadow roots).

const FOCUSABLE = 'button,input,select,textarea,a[href],[tabindex]:not([tabindex="-1"])';

/** Focusable, visible, enabled elements inside `root`, in DOM order. */
export function tabbables(root) {
  return [...root.querySelectorAll(FOCUSABLE)].filter(
    (el) => !el.disabled && el.tabIndex >= 0 && el.getClientRects().length > 0 && !el.closest("[inert]"),
  );
}

/** The focused element, looking inside open shadow roots. */
export function deepActive(doc = document) {
  let a = doc.activeElement;
  while (a && a.shadowRoot && a.shadowRoot.activeElement) a = a.shadowRoot.activeElement;
  return a;
}

/** Keep Tab / Shift+Tab cycling inside `root` (for a keydown event inside it). */
export function trapTab(ev, root, active) {
  const list = tabbables(root);
  if (!list.length) {
    ev.preventDefault();
    return;
  }
  const first = list[0];
  const last = list[list.length - 1];
  const inside = list.includes(active);
  if (ev.shiftKey && (active === first || !inside)) {
    ev.preventDefault();
    last.focus();
  } else if (!ev.shiftKey && (active === last || !inside)) {
    ev.preventDefault();
    first.focus();
  }
}
