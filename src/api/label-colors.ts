// One colour per label everywhere (boxes, timeline, swatches, and the boxes burnt into annotated
// videos by src/media/render/), the same in every job: a stable hash of the label's name picks from
// a palette of distinct hues. Every palette colour is light enough for black caption text
// (contrast ≥ 4.5:1) and bright on the dark timeline lanes (≥ 3:1), both checked in test/unit/web.

export const PALETTE = [
  '#c084fc', // purple: motorcycle
  '#e879f9', // fuchsia: bottle
  '#a5b4fc', // indigo: chair
  '#e5e7eb', // light grey
  '#22d3ee', // cyan: bird
  '#2dd4bf', // teal: cup
  '#4ade80', // green: person
  '#f87171', // red: bus
  '#a3e635', // lime: dining table
  '#d4a373', // tan: dog
  '#fb923c', // orange: truck
  '#60a5fa', // blue: car
  '#facc15', // yellow: bicycle
  '#f472b6', // pink: cat
] as const;

/**
 * The hash's starting value: FNV-1a's offset basis moved until the 13 labels street and home
 * footage shows most (person, car, truck, bicycle, motorcycle, bus, dog, cat, bird, chair, cup,
 * bottle, dining table) land on 13 different colours; the palette is ordered so they get the ones
 * named above. Any other label still gets a stable colour, possibly shared.
 */
const SEED = 2166148179;

/** FNV-1a over the UTF-16 code units: small, fast, stable across browsers and releases. */
export function hashLabel(label: string): number {
  let x = SEED;
  for (let i = 0; i < label.length; i++) x = Math.imul(x ^ label.charCodeAt(i), 16777619);
  return x >>> 0;
}

export function labelColor(label: string): string {
  return PALETTE[hashLabel(label) % PALETTE.length];
}

/** WCAG relative luminance of a #rrggbb colour. */
export function luminance(hex: string): number {
  const n = Number.parseInt(hex.slice(1), 16);
  const ch = [(n >> 16) & 255, (n >> 8) & 255, n & 255].map((v) => {
    const c = v / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * ch[0] + 0.7152 * ch[1] + 0.0722 * ch[2];
}

/** WCAG contrast ratio of two #rrggbb colours (1 to 21). */
export function contrast(a: string, b: string): number {
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
  return (hi + 0.05) / (lo + 0.05);
}
