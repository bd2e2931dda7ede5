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
export function field(
  label: string,
  input: HTMLInputElement | HTMLSelectElement,
  hint?: string,
): { wrap: HTMLElement; input: HTMLInputElement | HTMLSelectElement } {
  if (!input.id) input.id = uid('f');
  const hintEl = hint ? h('small', { id: `${input.id}-hint`, class: 'hint' }, hint) : null;
  if (hintEl) input.setAttribute('aria-describedby', hintEl.id);
  return { wrap: h('div', { class: 'field' }, h('label', { for: input.id }, label), input, hintEl), input };
}

export function fmtTime(sec: number): string {
  if (!Number.isFinite(sec)) return '–';
  const m = Math.floor(sec / 60);
  const s = sec - m * 60;
  return `${m}:${s.toFixed(2).padStart(5, '0')}`;
}

export function fmtBytes(n: number): string {
  if (!Number.isFinite(n)) return '–';
  const units = ['B', 'KB', 'MB', 'GB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${n.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}

// distinct hues, bright enough to read on video; a job's labels take them in the summary's order
const PALETTE = [
  '#22c55e',
  '#f43f5e',
  '#3b82f6',
  '#f59e0b',
  '#a855f7',
  '#06b6d4',
  '#ec4899',
  '#84cc16',
  '#f97316',
  '#14b8a6',
  '#eab308',
  '#8b5cf6',
];
const assigned = new Map<string, string>();

/** Gives each of these labels its own palette color (call with a job's labels before drawing). */
export function assignLabelColors(labels: readonly string[]): void {
  assigned.clear();
  labels.forEach((l, i) => {
    if (i < PALETTE.length) assigned.set(l, PALETTE[i]);
  });
}

/** A stable, readable color per label. */
export function labelColor(label: string): string {
  const fixed = assigned.get(label);
  if (fixed) return fixed;
  let x = 2166136261;
  for (let i = 0; i < label.length; i++) x = Math.imul(x ^ label.charCodeAt(i), 16777619);
  const hue = (x >>> 0) % 360;
  return `hsl(${hue} 95% 55%)`;
}
