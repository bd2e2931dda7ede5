import type { Box } from '../../src/inference/types.js';
import type { EvalFrame } from '../../src/tracking/metrics.js';

/**
 * Synthetic scenes with exact ground truth: sprites cut from the fixture photos (the astronaut, a
 * person; the coffee cup, a cup) moving over a textured background on keyframed paths. Ground
 * truth per frame is each object's box clipped to the frame, when at least half of it is visible
 * (not covered by sprites in front, not outside the frame); an object less visible than that is a
 * "don't care" box (MOT17 does the same with its visibility ratio).
 */

export type SpriteName = 'person' | 'cup';

export interface SceneObject {
  id: number;
  sprite: SpriteName;
  /** mirrored left-right (a second person that does not look like the first) */
  flip?: boolean;
  w: number;
  h: number;
  /** drawing order: higher is in front */
  z: number;
  /** [t seconds, cx, cy]; linear in between; the object exists from the first to the last key */
  path: [number, number, number][];
  /** a walking bob in pixels (vertical sine, 2 Hz) */
  bob?: number;
  /** time ranges in which it is absent (left the picture) even though the path goes on */
  absent?: [number, number][];
}

export interface Scene {
  name: string;
  what: string;
  width: number;
  height: number;
  fps: number;
  seconds: number;
  objects: SceneObject[];
}

export const LABEL_OF: Record<SpriteName, string> = { person: 'person', cup: 'cup' };

/** A path written as "t,cx,cy t,cx,cy ...". */
const path = (keys: string) =>
  keys.split(' ').map((k) => k.split(',').map(Number) as [number, number, number]);
const person = (id: number, w: number, h: number, z: number, keys: string, more: Partial<SceneObject> = {}) =>
  ({ id, sprite: 'person', w, h, z, bob: 3, path: path(keys), ...more }) as SceneObject;
const cup = (id: number, w: number, h: number, z: number, keys: string) =>
  ({ id, sprite: 'cup', w, h, z, path: path(keys) }) as SceneObject;
const scene = (name: string, what: string, objects: SceneObject[]): Scene => ({
  name,
  what,
  width: 640,
  height: 360,
  fps: 25,
  seconds: 8,
  objects,
});

export const SCENES: Scene[] = [
  scene('crossing', 'two people walk towards each other and cross (one in front), a cup stands still', [
    person(1, 100, 150, 1, '0,80,150 8,560,150'),
    person(2, 110, 165, 2, '0,560,160 8,80,160', { flip: true }),
    cup(3, 90, 100, 0, '0,320,300 8,320,300'),
  ]),
  scene(
    'occlusion',
    'a person stands; a nearer person walks past in front, hiding them for about 2 s; a cup slides',
    [
      person(1, 100, 150, 1, '0,320,160 4,326,160 8,316,160', { bob: 2 }),
      person(2, 130, 195, 2, '0,20,190 8,640,190', { flip: true }),
      cup(3, 80, 90, 3, '0,590,310 8,60,310'),
    ],
  ),
  scene(
    'leave-return',
    'a person walks out of the picture on the right and comes back 1.8 s later; another walks slowly; a cup stands',
    [
      person(1, 100, 150, 2, '0,220,150 2.8,720,150 4.6,720,150 8,430,150', { absent: [[2.8, 4.6]] }),
      person(2, 90, 135, 1, '0,70,190 8,200,190', { flip: true, bob: 2 }),
      cup(3, 80, 90, 0, '0,560,300 8,560,300'),
    ],
  ),
];

/** The object's full (unclipped) box at time t, or null when it is not in the scene then. */
export function objectBox(o: SceneObject, t: number): Box | null {
  const p = o.path;
  if (t < p[0][0] || t > p[p.length - 1][0]) return null;
  if (o.absent?.some(([a, b]) => t >= a && t < b)) return null;
  let k = 0;
  while (k + 1 < p.length - 1 && t > p[k + 1][0]) k++;
  const [t0, x0, y0] = p[k];
  const [t1, x1, y1] = p[Math.min(k + 1, p.length - 1)];
  const u = t1 > t0 ? (t - t0) / (t1 - t0) : 0;
  const cx = Math.round(x0 + (x1 - x0) * u);
  const cy = Math.round(y0 + (y1 - y0) * u + (o.bob ?? 0) * Math.sin(2 * Math.PI * 2 * t));
  return { x1: cx - o.w / 2, y1: cy - o.h / 2, x2: cx + o.w / 2, y2: cy + o.h / 2 };
}

export interface GroundTruthFrame {
  frameIndex: number;
  timestamp: number;
  /** objects at least half visible: id, label, box clipped to the frame */
  objects: { id: number; label: string; box: Box; visible: number }[];
  /** objects in the picture but less than half visible */
  ignore: { label: string; box: Box }[];
}

/** Ground truth for every frame: visibility counted on a pixel mask of the sprites in front. */
export function groundTruth(scene: Scene): GroundTruthFrame[] {
  const { width: W, height: H } = scene;
  const n = Math.round(scene.seconds * scene.fps);
  const out: GroundTruthFrame[] = [];
  const covered = new Uint8Array(W * H);
  const byDepth = [...scene.objects].sort((a, b) => b.z - a.z); // front first
  for (let i = 0; i < n; i++) {
    const t = i / scene.fps;
    covered.fill(0);
    const f: GroundTruthFrame = { frameIndex: i, timestamp: t, objects: [], ignore: [] };
    for (const o of byDepth) {
      const b = objectBox(o, t);
      if (!b) continue;
      const x1 = Math.max(0, Math.round(b.x1));
      const y1 = Math.max(0, Math.round(b.y1));
      const x2 = Math.min(W, Math.round(b.x2));
      const y2 = Math.min(H, Math.round(b.y2));
      if (x2 <= x1 || y2 <= y1) continue;
      let seen = 0;
      for (let y = y1; y < y2; y++) {
        for (let x = x1; x < x2; x++) {
          if (!covered[y * W + x]) seen++;
          covered[y * W + x] = 1;
        }
      }
      const visible = seen / (o.w * o.h);
      const clipped = { x1, y1, x2, y2 };
      if (visible >= 0.5) f.objects.push({ id: o.id, label: LABEL_OF[o.sprite], box: clipped, visible });
      else if (visible > 0) f.ignore.push({ label: LABEL_OF[o.sprite], box: clipped });
    }
    out.push(f);
  }
  return out;
}

/** Ground truth and tracker output for one label, as the metrics take them. */
export function evalFrames(
  gt: GroundTruthFrame[],
  hyp: Map<number, { label: string; box: Box; trackId: number | null }[]>,
  label: string,
): EvalFrame[] {
  return gt.map((g) => ({
    gt: g.objects.filter((o) => o.label === label).map((o) => ({ id: o.id, box: o.box })),
    ignore: g.ignore.filter((o) => o.label === label).map((o) => o.box),
    hyp: (hyp.get(g.frameIndex) ?? [])
      .filter((d) => d.label === label && d.trackId !== null)
      .map((d) => ({ id: d.trackId as number, box: d.box })),
  }));
}
