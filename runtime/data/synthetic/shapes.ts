// The shape classes of the synthetic worlds: each an SVG path in a unit frame (centre 0,0, radius about 1),
// placed by the scene with a translate/rotate/scale transform. `name` is the class-list spelling (`_` for
// spaces, as class lists are written); `words` is how captions and prompts say it.

export interface ShapeDef {
  readonly name: string;
  readonly words: string;
  /** SVG path data in the unit frame. */
  readonly path: string;
  /** Fill rule for shapes with holes. */
  readonly evenOdd?: boolean;
}

function f(v: number): string {
  return String(Math.round(v * 1000) / 1000);
}

function polygon(points: readonly (readonly [number, number])[]): string {
  return `${points.map(([x, y], i) => `${i === 0 ? "M" : "L"}${f(x)} ${f(y)}`).join(" ")} Z`;
}

/** Regular n-gon, one vertex up. */
function regular(n: number, r = 1): string {
  return polygon(
    Array.from({ length: n }, (_, k) => {
      const a = -Math.PI / 2 + (2 * Math.PI * k) / n;
      return [r * Math.cos(a), r * Math.sin(a)] as const;
    }),
  );
}

function star(points: number, inner: number): string {
  return polygon(
    Array.from({ length: 2 * points }, (_, k) => {
      const a = -Math.PI / 2 + (Math.PI * k) / points;
      const r = k % 2 === 0 ? 1 : inner;
      return [r * Math.cos(a), r * Math.sin(a)] as const;
    }),
  );
}

function circle(r: number): string {
  return `M${f(-r)} 0 A${f(r)} ${f(r)} 0 1 0 ${f(r)} 0 A${f(r)} ${f(r)} 0 1 0 ${f(-r)} 0 Z`;
}

const w = 0.34; // arm half-width of the cross
const SHAPES: readonly ShapeDef[] = [
  { name: "circle", words: "circle", path: circle(0.95) },
  {
    name: "square",
    words: "square",
    path: polygon([
      [-0.8, -0.8],
      [0.8, -0.8],
      [0.8, 0.8],
      [-0.8, 0.8],
    ]),
  },
  { name: "triangle", words: "triangle", path: regular(3) },
  { name: "star", words: "star", path: star(5, 0.42) },
  {
    name: "cross",
    words: "cross",
    path: polygon([
      [-w, -1],
      [w, -1],
      [w, -w],
      [1, -w],
      [1, w],
      [w, w],
      [w, 1],
      [-w, 1],
      [-w, w],
      [-1, w],
      [-1, -w],
      [-w, -w],
    ]),
  },
  {
    name: "heart",
    words: "heart",
    path: "M0 0.95 C-0.35 0.65 -1 0.25 -1 -0.3 C-1 -0.75 -0.55 -1 -0.25 -0.9 C-0.1 -0.85 0 -0.7 0 -0.55 C0 -0.7 0.1 -0.85 0.25 -0.9 C0.55 -1 1 -0.75 1 -0.3 C1 0.25 0.35 0.65 0 0.95 Z",
  },
  { name: "hexagon", words: "hexagon", path: regular(6) },
  {
    name: "arrow",
    words: "arrow",
    path: polygon([
      [-1, -0.28],
      [0.2, -0.28],
      [0.2, -0.7],
      [1, 0],
      [0.2, 0.7],
      [0.2, 0.28],
      [-1, 0.28],
    ]),
  },
  { name: "ring", words: "ring", path: `${circle(0.95)} ${circle(0.55)}`, evenOdd: true },
  {
    name: "diamond",
    words: "diamond",
    path: polygon([
      [0, -1],
      [0.62, 0],
      [0, 1],
      [-0.62, 0],
    ]),
  },
  { name: "pentagon", words: "pentagon", path: regular(5) },
  {
    name: "crescent",
    words: "crescent",
    path: "M0.2 -0.93 A0.95 0.95 0 1 0 0.2 0.93 A0.75 0.75 0 1 1 0.2 -0.93 Z",
  },
  {
    name: "trapezoid",
    words: "trapezoid",
    path: polygon([
      [-0.5, -0.6],
      [0.5, -0.6],
      [1, 0.6],
      [-1, 0.6],
    ]),
  },
  { name: "octagon", words: "octagon", path: regular(8) },
  { name: "heptagon", words: "heptagon", path: regular(7) },
  { name: "nonagon", words: "nonagon", path: regular(9) },
  { name: "four_pointed_star", words: "four-pointed star", path: star(4, 0.4) },
  { name: "five_pointed_star", words: "five-pointed star", path: star(5, 0.42) },
  { name: "six_pointed_star", words: "six-pointed star", path: star(6, 0.5) },
  { name: "seven_pointed_star", words: "seven-pointed star", path: star(7, 0.55) },
  { name: "eight_pointed_star", words: "eight-pointed star", path: star(8, 0.6) },
];

const BY_NAME = new Map(SHAPES.map((s) => [s.name, s]));

export function shape(name: string): ShapeDef {
  const s = BY_NAME.get(name);
  if (!s) throw new Error(`unknown shape '${name}'`);
  return s;
}

/** Every shape class, in catalogue order. */
export function allShapes(): readonly ShapeDef[] {
  return SHAPES;
}

/** Twelve well-separated everyday shapes (UEO, captions). */
export const COMMON_SHAPES = [
  "circle",
  "square",
  "triangle",
  "star",
  "cross",
  "heart",
  "hexagon",
  "arrow",
  "ring",
  "diamond",
  "pentagon",
  "crescent",
] as const;

/** Ten fine-grained shapes with crowded names (APEX's hard sub-world). */
export const CROWDED_SHAPES = [
  "pentagon",
  "hexagon",
  "heptagon",
  "octagon",
  "nonagon",
  "four_pointed_star",
  "five_pointed_star",
  "six_pointed_star",
  "seven_pointed_star",
  "eight_pointed_star",
] as const;
