type Child = Node | string | number | null | undefined | false | Child[];
type Attrs = Record<string, string | number | boolean | null | undefined | EventListener>;

/** Creates an element: `h('button', { type: 'button', onclick: fn }, 'Text')`. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs | null = null,
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  if (attrs) {
    for (const [k, v] of Object.entries(attrs)) {
      if (v === null || v === undefined || v === false) continue;
      if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
      else if (k === 'class') el.className = String(v);
      else if (k in el && !k.includes('-') && k !== 'list' && k !== 'form') {
        (el as unknown as Record<string, unknown>)[k] = v;
      } else el.setAttribute(k, v === true ? '' : String(v));
    }
  }
  append(el, children);
  return el;
}

function append(el: Node, children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.appendChild(typeof c === 'object' ? c : document.createTextNode(String(c)));
  }
}

export function clear(el: Element): void {
  while (el.firstChild) el.removeChild(el.firstChild);
}

let idSeq = 0;
export const uid = (prefix: string): string => `${prefix}-${++idSeq}`;

/** A labelled input: returns the wrapper and the input. */
export function field<T extends HTMLInputElement | HTMLSelectElement>(
  label: string,
  input: T,
  hint?: string,
): { wrap: HTMLElement; input: T; hint: HTMLElement | null } {
  if (!input.id) input.id = uid('f');
  const hintEl = hint ? h('small', { id: `${input.id}-hint`, class: 'hint' }, hint) : null;
  if (hintEl) input.setAttribute('aria-describedby', hintEl.id);
  return {
    wrap: h('div', { class: 'field' }, h('label', { for: input.id }, label), input, hintEl),
    input,
    hint: hintEl,
  };
}

/** A colour swatch for a label (decorative: the label's name is always next to it). */
export function swatch(color: string): HTMLElement {
  return h('span', { class: 'swatch', style: `background:${color}`, 'aria-hidden': 'true' });
}

/** An element whose text is cut with an ellipsis, shown whole on hover (title). */
export function ellipsis<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  text: string,
  attrs: Record<string, string | number | boolean | EventListener | null | undefined> = {},
): HTMLElementTagNameMap[K] {
  const cls = `ellipsis${attrs.class ? ` ${attrs.class}` : ''}`;
  return h(tag, { ...attrs, class: cls, title: text }, text);
}

/** The error's one sentence for a person (an ApiError's message, else a fallback). */
export function messageOf(err: unknown, fallback: string): string {
  return err instanceof Error && err.name === 'ApiError' ? err.message : fallback;
}
