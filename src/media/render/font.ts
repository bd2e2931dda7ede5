/**
 * A small built-in bitmap font for the captions of annotated videos (src/media/render/draw.ts):
 * 5x8 pixel glyphs (x-height rows 2 to 6, descenders in row 7) drawn in a 6x9 cell. Built in so
 * that renders need no font files, no fontconfig and no libass: a container image gets the same
 * captions as a laptop. Lower case, digits and the punctuation of labels and numbers; capitals
 * are drawn as lower case, anything else as '?'.
 */

export const GLYPH_WIDTH = 5;
export const GLYPH_HEIGHT = 8;
/** advance per character and line height, in font pixels (one pixel of space around a glyph) */
export const CELL_WIDTH = GLYPH_WIDTH + 1;
export const CELL_HEIGHT = GLYPH_HEIGHT + 1;

// each glyph: 8 rows of 5 characters, '#' for ink
const GLYPH_ROWS: Record<string, string> = {
  ' ': '..... ..... ..... ..... ..... ..... ..... .....',
  a: '..... ..... .###. ....# .#### #...# .#### .....',
  b: '#.... #.... #.##. ##..# #...# #...# ####. .....',
  c: '..... ..... .###. #.... #.... #...# .###. .....',
  d: '....# ....# .##.# #..## #...# #...# .#### .....',
  e: '..... ..... .###. #...# ##### #.... .###. .....',
  f: '..##. .#..# .#... ###.. .#... .#... .#... .....',
  g: '..... ..... .#### #...# #...# .#### ....# .###.',
  h: '#.... #.... #.##. ##..# #...# #...# #...# .....',
  i: '..#.. ..... .##.. ..#.. ..#.. ..#.. .###. .....',
  j: '...#. ..... ..##. ...#. ...#. ...#. #..#. .##..',
  k: '#.... #.... #..#. #.#.. ##... #.#.. #..#. .....',
  l: '.##.. ..#.. ..#.. ..#.. ..#.. ..#.. .###. .....',
  m: '..... ..... ##.#. #.#.# #.#.# #...# #...# .....',
  n: '..... ..... #.##. ##..# #...# #...# #...# .....',
  o: '..... ..... .###. #...# #...# #...# .###. .....',
  p: '..... ..... ####. #...# #...# ####. #.... #....',
  q: '..... ..... .#### #...# #...# .#### ....# ....#',
  r: '..... ..... #.##. ##..# #.... #.... #.... .....',
  s: '..... ..... .###. #.... .###. ....# ####. .....',
  t: '.#... .#... ###.. .#... .#... .#..# ..##. .....',
  u: '..... ..... #...# #...# #...# #..## .##.# .....',
  v: '..... ..... #...# #...# #...# .#.#. ..#.. .....',
  w: '..... ..... #...# #...# #.#.# #.#.# .#.#. .....',
  x: '..... ..... #...# .#.#. ..#.. .#.#. #...# .....',
  y: '..... ..... #...# #...# #...# .#### ....# .###.',
  z: '..... ..... ##### ...#. ..#.. .#... ##### .....',
  '0': '.###. #...# #..## #.#.# ##..# #...# .###. .....',
  '1': '..#.. .##.. ..#.. ..#.. ..#.. ..#.. .###. .....',
  '2': '.###. #...# ....# ...#. ..#.. .#... ##### .....',
  '3': '##### ...#. ..#.. ...#. ....# #...# .###. .....',
  '4': '...#. ..##. .#.#. #..#. ##### ...#. ...#. .....',
  '5': '##### #.... ####. ....# ....# #...# .###. .....',
  '6': '..##. .#... #.... ####. #...# #...# .###. .....',
  '7': '##### ....# ...#. ..#.. .#... .#... .#... .....',
  '8': '.###. #...# #...# .###. #...# #...# .###. .....',
  '9': '.###. #...# #...# .#### ....# ...#. .##.. .....',
  '#': '..... .#.#. ##### .#.#. ##### .#.#. ..... .....',
  '.': '..... ..... ..... ..... ..... .##.. .##.. .....',
  ',': '..... ..... ..... ..... ..... .##.. ..#.. .#...',
  '-': '..... ..... ..... ##### ..... ..... ..... .....',
  _: '..... ..... ..... ..... ..... ..... ##### .....',
  '%': '##... ##..# ...#. ..#.. .#... #..## ...## .....',
  '?': '.###. #...# ....# ...#. ..#.. ..... ..#.. .....',
  ':': '..... .##.. .##.. ..... .##.. .##.. ..... .....',
  '/': '..... ....# ...#. ..#.. .#... #.... ..... .....',
  '(': '...#. ..#.. .#... .#... .#... ..#.. ...#. .....',
  ')': '.#... ..#.. ...#. ...#. ...#. ..#.. .#... .....',
  "'": '..#.. ..#.. .#... ..... ..... ..... ..... .....',
  '+': '..... ..#.. ..#.. ##### ..#.. ..#.. ..... .....',
};

/** A glyph as GLYPH_HEIGHT rows of GLYPH_WIDTH booleans. */
export type Glyph = readonly (readonly boolean[])[];

const GLYPHS: ReadonlyMap<string, Glyph> = new Map(
  Object.entries(GLYPH_ROWS).map(([ch, rows]) => [
    ch,
    rows.split(' ').map((row) => [...row].map((c) => c === '#')),
  ]),
);

/** The characters the font draws as themselves (capitals are drawn as lower case). */
export function fontCharacters(): string[] {
  return [...GLYPHS.keys()];
}

/** Whether `ch` has a glyph of its own (after lower-casing). Pure. */
export function hasGlyph(ch: string): boolean {
  return GLYPHS.has(ch.toLowerCase());
}

/** The glyph drawn for a character: its own, its lower-case one, or '?'. Pure. */
export function glyphFor(ch: string): Glyph {
  return GLYPHS.get(ch) ?? GLYPHS.get(ch.toLowerCase()) ?? (GLYPHS.get('?') as Glyph);
}

/** Width and height in frame pixels of one line of text at an integer scale. Pure. */
export function textSize(text: string, scale: number): { width: number; height: number } {
  const n = [...text].length;
  return { width: n === 0 ? 0 : (n * CELL_WIDTH - 1) * scale, height: GLYPH_HEIGHT * scale };
}
