// Keyboard shortcuts of the review page (documented on the page by shortcutsHelp). They work when
// the page, the player or the timeline has focus; typing in a text box, a number box, a select or
// a slider keeps its own keys. ArrowLeft/Right step analysed frames instead of the player's 5 s seek.
import { h } from './dom.js';

export interface ShortcutActions {
  step(dir: 1 | -1): void;
  jump(dir: 1 | -1): void;
  edge(end: boolean): void;
  togglePlay(): void;
}

export const SHORTCUTS: readonly [string, string][] = [
  ['← / →', 'previous / next analysed frame'],
  ['Shift + ← / →', 'previous / next frame with the chosen label, or with the selected object'],
  [', / .', 'previous / next analysed frame'],
  ['Home / End', 'first / last analysed frame'],
  ['Space or K', 'play / pause'],
  ['+ / − (on the timeline)', 'zoom in / out'],
  ['Page Up / Page Down (on the timeline)', 'move a tenth of the visible window'],
];

/** Pure: does a key press on this element belong to the element (so the page leaves it alone)? */
export function ownsKeys(tag: string, type: string | null, editable: boolean): boolean {
  if (editable || tag === 'TEXTAREA' || tag === 'SELECT') return true;
  if (tag !== 'INPUT') return false;
  return !['checkbox', 'radio', 'button', 'submit', 'reset'].includes((type ?? 'text').toLowerCase());
}

export function watchShortcuts(
  actions: ShortcutActions,
  opts: { video: HTMLVideoElement; ignoreInside: HTMLElement[] },
): () => void {
  const onKey = (e: KeyboardEvent) => {
    if (e.defaultPrevented || e.altKey || e.ctrlKey || e.metaKey) return;
    const t = e.target as HTMLElement | null;
    if (t && ownsKeys(t.tagName, t.getAttribute('type'), t.isContentEditable)) return;
    if (t && opts.ignoreInside.some((el) => el.contains(t))) return;
    const onButton = t?.tagName === 'BUTTON' || t?.tagName === 'SUMMARY' || t?.tagName === 'A';
    let handled = true;
    switch (e.key) {
      case 'ArrowRight':
        if (e.shiftKey) actions.jump(1);
        else actions.step(1);
        break;
      case 'ArrowLeft':
        if (e.shiftKey) actions.jump(-1);
        else actions.step(-1);
        break;
      case '.':
        actions.step(1);
        break;
      case ',':
        actions.step(-1);
        break;
      case 'Home':
        actions.edge(false);
        break;
      case 'End':
        actions.edge(true);
        break;
      case 'k':
      case 'K':
        actions.togglePlay();
        break;
      case ' ':
        if (onButton)
          handled = false; // Space presses the button
        else actions.togglePlay();
        break;
      default:
        handled = false;
    }
    if (handled) {
      // before the player's own handling (its 5 s seek) and the page's scrolling
      e.preventDefault();
      e.stopPropagation();
    }
  };
  window.addEventListener('keydown', onKey, { capture: true });
  return () => window.removeEventListener('keydown', onKey, { capture: true });
}

export function shortcutsHelp(): HTMLElement {
  return h(
    'details',
    { class: 'card shortcuts' },
    h('summary', null, 'Keyboard shortcuts'),
    h(
      'dl',
      null,
      SHORTCUTS.map(([k, what]) => [h('dt', null, h('kbd', null, k)), h('dd', null, what)]),
    ),
  );
}
