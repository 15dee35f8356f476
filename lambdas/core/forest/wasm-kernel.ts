import { type RawScorer, TreeScorer } from '#core/forest/fast-path.ts';
import { Code, F64, I32, moduleBytes, Op, VOID, type WasmApi, wasm } from '#core/forest/wasm-emit.ts';
import { NodeMode, type TreeEnsemble } from '#core/trees.ts';

/**
 * The server's tree kernel: the plain fast path's walk (`TreeScorer.sumLeq`) written in
 * WebAssembly, so each step is a handful of machine instructions with no bounds checks,
 * no float32→float64 conversions and a conditional move instead of a boolean-to-number.
 *
 * It computes exactly what `TreeScorer` computes — same node records (threshold in the
 * graph's input type, leaves looping to themselves), same comparison (`x > t` in float32,
 * or float64 for a tensor(double) graph), leaf values summed in float64 in tree order —
 * so results are bit-for-bit equal (tested against it on every fixture and on random
 * forests). Rows with NaN, and ensembles it does not cover (a split other than `x <= t`,
 * MIN/MAX aggregates), are left to `TreeScorer`.
 *
 * Layout: rows are walked in blocks that fit in L1 (≤ 16 KB of inputs), tree by tree,
 * `ROW_LANES` rows at a time so their chains of loads overlap; the rows left over (all of
 * a short batch) walk four trees at a time instead, so one row does not wait on one
 * chain either. Each row takes exactly `depth(tree)` steps per tree.
 *
 * Memory (one `WebAssembly.Memory` per model):
 * `[tree table 16 B/tree][node records][leaf values f64/node][rows][outputs f64/row]`.
 * A node record is `[threshold f32, feature·4, true child, false child]` (16 B) or
 * `[threshold f64, feature·8, true child, false child, pad]` (32 B); children are byte
 * addresses of records. A tree's entry is `[root address, depth, max depth of this tree
 * and the next three, 0]`.
 */
export class WasmTreeScorer implements RawScorer {
  private readonly t: TreeEnsemble;
  private readonly reference: TreeScorer;
  private readonly nTrees: number;
  private readonly average: boolean;
  private readonly run: (...args: number[]) => void;
  private readonly memory: { readonly buffer: ArrayBuffer };
  private readonly nodeBase: number;
  private readonly leafBase: number;
  private readonly xBase: number;
  private readonly outBase: number;
  private readonly stride: number;
  /** Rows that fit the input area; longer batches go through in chunks. */
  private readonly chunk: number;
  /** Rows per L1 block (a multiple of the row lanes). */
  private readonly block: number;

  private constructor(t: TreeEnsemble, reference: TreeScorer, lanes: number) {
    this.t = t;
    this.reference = reference;
    this.nTrees = t.roots.length;
    this.average = t.aggregate === 'AVERAGE';
    const dbl = t.doubleInput === true;
    const rec = dbl ? 32 : 16;
    const elem = dbl ? 8 : 4;
    const n = t.feature.length;
    const nf = t.nFeatures;
    this.stride = Math.max(1, nf) * elem;
    this.block = lanes * Math.max(1, Math.floor(Math.min(256, 16384 / this.stride) / lanes));
    this.chunk = Math.min(4096, Math.max(4, Math.floor((1 << 20) / this.stride) & ~3));
    const align = (v: number, a: number) => Math.ceil(v / a) * a;
    this.nodeBase = align(16 * this.nTrees, 32);
    this.leafBase = align(this.nodeBase + rec * n, 8);
    this.xBase = align(this.leafBase + 8 * n, 16);
    this.outBase = align(this.xBase + this.chunk * this.stride, 8);
    const bytes = this.outBase + 8 * this.chunk;
    this.memory = new (wasm() as WasmApi).Memory({ initial: Math.ceil(bytes / 65536) });
    const buf = this.memory.buffer;
    const i32 = new Int32Array(buf);
    const f32 = new Float32Array(buf);
    const f64 = new Float64Array(buf);
    const depth = reference.depth;
    for (let k = 0; k < this.nTrees; k++) {
      const e = 4 * k;
      i32[e] = this.nodeBase + rec * t.roots[k];
      i32[e + 1] = depth[k];
      let group = 0;
      for (let j = k; j < Math.min(k + 4, this.nTrees); j++) group = Math.max(group, depth[j]);
      i32[e + 2] = group;
    }
    for (let i = 0; i < n; i++) {
      const at = this.nodeBase + rec * i;
      const leaf = t.mode[i] === NodeMode.LEAF;
      const self = at;
      if (dbl) f64[at >> 3] = leaf ? 0 : t.threshold[i];
      else f32[at >> 2] = leaf ? 0 : t.threshold[i];
      const w = at >> 2;
      const fo = dbl ? 2 : 1;
      i32[w + fo] = leaf ? 0 : t.feature[i] * elem;
      i32[w + fo + 1] = leaf ? self : this.nodeBase + rec * t.trueChild[i];
      i32[w + fo + 2] = leaf ? self : this.nodeBase + rec * t.falseChild[i];
      f64[(this.leafBase >> 3) + i] = t.value[i];
    }
    const instance = new (wasm() as WasmApi).Instance(kernelModule(dbl, lanes, this.stride), {
      env: { memory: this.memory },
    });
    this.run = instance.exports.score as (...args: number[]) => void;
  }

  /**
   * The wasm kernel for `t`, or undefined when it does not cover the ensemble (a split
   * other than `x <= t`, a MIN/MAX aggregate) or the runtime has no WebAssembly.
   */
  static for(t: TreeEnsemble, reference = new TreeScorer(t), lanes = ROW_LANES): WasmTreeScorer | undefined {
    if (!wasm()) return undefined;
    if (t.aggregate !== 'SUM' && t.aggregate !== 'AVERAGE') return undefined;
    for (let i = 0; i < t.mode.length; i++) {
      if (t.mode[i] !== NodeMode.LEAF && t.mode[i] !== NodeMode.BRANCH_LEQ) return undefined;
    }
    // wasm32 addresses 4 GiB; a model that large stays on the plain walk.
    if (t.feature.length > 1 << 24 || t.nFeatures > 1 << 16) return undefined;
    return new WasmTreeScorer(t, reference, lanes);
  }

  get nFeatures(): number {
    return this.t.nFeatures;
  }

  /** Same contract and same bits as `TreeScorer.predictRaw`. */
  predictRaw(input: ArrayLike<number>, rows: number, out = new Float64Array(rows)): Float64Array {
    const nf = this.t.nFeatures;
    if (input.length < rows * nf) {
      throw new RangeError(`${rows} rows of ${nf} features need ${rows * nf} values; got ${input.length}`);
    }
    const buf = this.memory.buffer;
    const xs = this.t.doubleInput ? new Float64Array(buf, this.xBase) : new Float32Array(buf, this.xBase);
    const outs = new Float64Array(buf, this.outBase, this.chunk);
    const src =
      input instanceof Float32Array || input instanceof Float64Array ? input : Float64Array.from(input);
    for (let r0 = 0; r0 < rows; r0 += this.chunk) {
      const n = Math.min(this.chunk, rows - r0);
      // Float32Array.set rounds to float32 exactly as Float32Array.from does in TreeScorer.
      xs.set(src.subarray(r0 * nf, (r0 + n) * nf));
      outs.fill(0, 0, n);
      this.run(
        0,
        this.nTrees,
        this.xBase,
        this.stride,
        n,
        this.outBase,
        this.block,
        this.nodeBase,
        this.leafBase,
      );
      out.set(outs.subarray(0, n), r0);
    }
    if (this.average) for (let r = 0; r < rows; r++) out[r] /= this.nTrees;
    const base = this.t.base;
    if (base !== 0) for (let r = 0; r < rows; r++) out[r] += base;
    // NaN follows missingTracksTrue, which only the reference walk honours.
    for (let r = 0; r < rows; r++) {
      for (let f = r * nf; f < (r + 1) * nf; f++) {
        if (Number.isNaN(input[f])) {
          out[r] = this.reference.predictRaw(Array.prototype.slice.call(input, r * nf, (r + 1) * nf), 1)[0];
          break;
        }
      }
    }
    return out;
  }
}

/**
 * Rows the plain kernel scores before the served scorer builds the wasm one. Building it
 * is a one-off pass of cold JavaScript over every node (~2–10 ms of CPU for 100 trees), which
 * a cold start's first request should not pay; ~1,000 rows of the plain walk cost as much.
 */
export const WASM_AFTER_ROWS = 1000;

/** The server's scorer: the plain walk first, the wasm kernel once it pays (`WASM_AFTER_ROWS`). */
export interface ServedScorer extends RawScorer {
  /** Which kernel the latest call ran. */
  readonly kernel: 'plain' | 'wasm';
}

/**
 * The server's scorer for `t`: `reference` for the first `WASM_AFTER_ROWS` rows, then the
 * wasm kernel when it covers the trees (bit-for-bit the same results, so the switch is
 * invisible to callers). Where it cannot be built the reference keeps scoring.
 */
export function servedScorer(t: TreeEnsemble, reference = new TreeScorer(t)): ServedScorer {
  let scored = 0;
  let fast: RawScorer | undefined;
  let tried = false;
  return {
    get nFeatures() {
      return reference.nFeatures;
    },
    get kernel() {
      return fast ? 'wasm' : 'plain';
    },
    predictRaw(input, rows, out) {
      if (!tried && scored >= WASM_AFTER_ROWS) {
        tried = true;
        try {
          fast = WasmTreeScorer.for(t, reference);
        } catch {
          // e.g. no memory for the wasm heap: the reference computes the same values.
          fast = undefined;
        }
      }
      scored += rows;
      return (fast ?? reference).predictRaw(input, rows, out);
    },
  };
}

const modules = new Map<string, object>();

/** The compiled kernel for float32 or float64 inputs, compiled once per process. */
function kernelModule(dbl: boolean, lanes: number, stride: number): object {
  const key = `${dbl}:${lanes}:${stride}`;
  let m = modules.get(key);
  if (!m) {
    m = new (wasm() as WasmApi).Module(kernelBytes(dbl, lanes, stride));
    modules.set(key, m);
  }
  return m;
}

// Parameters and locals of `score`.
const TREES = 0;
const N_TREES = 1;
const X = 2;
const STRIDE = 3;
const ROWS = 4;
const OUT = 5;
const BLOCK = 6;
const NODE_BASE = 7;
const LEAF_BASE = 8;
const B0 = 9;
const BEND = 10;
const K = 11;
const TREES_END = 12;
const ROOT = 13;
const DEPTH = 14;
const R = 15;
const ROWP = 16;
const L = 17;
const OP = 18;
const FULL = 19;
const GROUPS_END = 20;
const ACC = 21;
/**
 * Rows walked together in the block loop (a power of two; the block size is a multiple
 * of it). Measured on the bench's forests: 16 beat 8 and 4 (`npm run bench -- scoring`).
 */
export const ROW_LANES = 16;

/**
 * The kernel module: `score(trees, nTrees, x, stride, rows, out, block, nodeBase,
 * leafBase)` adds each tree's leaf value to `out[r]` (which the caller zeroes) for every
 * row. `stride` (bytes per row) is also baked in, as the static offsets of the lanes' loads.
 */
export function kernelBytes(dbl: boolean, rowLanes: number, stride: number): Uint8Array {
  if (rowLanes < 4 || (rowLanes & (rowLanes - 1)) !== 0)
    throw new Error('rowLanes must be a power of two ≥ 4');
  const LANES = Array.from({ length: rowLanes }, (_, i) => 22 + i);
  const N_LOCALS = 22 + LANES.length;
  const c = new Code();
  const featAt = dbl ? 8 : 4;
  const childAt = dbl ? 12 : 8;
  const leafShift = dbl ? 2 : 1; // record size / 8
  const xLoad = dbl ? Op.f64Load : Op.f32Load;
  const xAlign = dbl ? 3 : 2;
  const gt = dbl ? Op.f64Gt : Op.f32Gt;

  /** lane = child of lane, chosen by x[row at rowp + rowOffset][feature] > threshold: no branch. */
  const step = (lane: number, rowp: number, rowOffset = 0) => {
    c.get(lane);
    c.get(rowp).get(lane).mem(Op.i32Load, 2, featAt).op(Op.i32Add).mem(xLoad, xAlign, rowOffset);
    c.get(lane).mem(xLoad, xAlign, 0);
    c.op(gt).i32(2).op(Op.i32Shl).op(Op.i32Add).mem(Op.i32Load, 2, childAt).set(lane);
  };
  /** Pushes the leaf value of the record `lane` points at. */
  const leafValue = (lane: number) => {
    c.get(LEAF_BASE).get(lane).get(NODE_BASE).op(Op.i32Sub).i32(leafShift).op(Op.i32ShrU).op(Op.i32Add);
    c.mem(Op.f64Load, 3, 0);
  };
  /** Steps the lanes, each on its row, L times (L counts down to 0). */
  const walk = (lanes: number[], rowps: number[], rowOffsets: number[]) => {
    c.op(Op.block, VOID).op(Op.loop, VOID);
    c.get(L).op(Op.i32Eqz).op(Op.brIf, 1);
    for (let i = 0; i < lanes.length; i++) step(lanes[i], rowps[i], rowOffsets[i]);
    c.get(L).i32(1).op(Op.i32Sub).set(L);
    c.op(Op.br, 0).op(Op.end, Op.end);
  };
  /** while (a < b) { body } with b, a locals. */
  const whileLt = (a: number, b: number, body: () => void) => {
    c.op(Op.block, VOID).op(Op.loop, VOID);
    c.get(a).get(b).op(Op.i32GeS).op(Op.brIf, 1);
    body();
    c.op(Op.br, 0).op(Op.end, Op.end);
  };

  c.get(TREES).get(N_TREES).i32(4).op(Op.i32Shl).op(Op.i32Add).set(TREES_END);
  c.get(ROWS).i32(-rowLanes).op(Op.i32And).set(FULL);
  // Blocks of rows, `rowLanes` rows at a time, tree by tree.
  c.i32(0).set(B0);
  whileLt(B0, FULL, () => {
    // bend = min(b0 + block, full)
    c.get(B0).get(BLOCK).op(Op.i32Add).tee(BEND).get(FULL).get(BEND).get(FULL).op(Op.i32LtS).op(Op.select);
    c.set(BEND);
    c.get(TREES).set(K);
    whileLt(K, TREES_END, () => {
      c.get(K).mem(Op.i32Load, 2, 0).set(ROOT);
      c.get(K).mem(Op.i32Load, 2, 4).set(DEPTH);
      c.get(B0).set(R);
      c.get(X).get(B0).get(STRIDE).op(Op.i32Mul).op(Op.i32Add).set(ROWP);
      whileLt(R, BEND, () => {
        const lanes = LANES;
        for (const lane of lanes) c.get(ROOT).set(lane);
        c.get(DEPTH).set(L);
        walk(
          lanes,
          lanes.map(() => ROWP),
          lanes.map((_, i) => i * stride),
        );
        c.get(OUT).get(R).i32(3).op(Op.i32Shl).op(Op.i32Add).set(OP);
        lanes.forEach((lane, i) => {
          c.get(OP)
            .get(OP)
            .mem(Op.f64Load, 3, 8 * i);
          leafValue(lane);
          c.op(Op.f64Add).mem(Op.f64Store, 3, 8 * i);
        });
        c.get(R).i32(rowLanes).op(Op.i32Add).set(R);
        c.get(ROWP)
          .i32(rowLanes * stride)
          .op(Op.i32Add)
          .set(ROWP);
      });
      c.get(K).i32(16).op(Op.i32Add).set(K);
    });
    c.get(BEND).set(B0);
  });
  // The last rows % rowLanes rows (all of a short batch): one row, four trees at a time.
  c.get(TREES).get(N_TREES).i32(~3).op(Op.i32And).i32(4).op(Op.i32Shl).op(Op.i32Add).set(GROUPS_END);
  c.get(FULL).set(R);
  whileLt(R, ROWS, () => {
    c.get(X).get(R).get(STRIDE).op(Op.i32Mul).op(Op.i32Add).set(ROWP);
    c.f64(0).set(ACC);
    c.get(TREES).set(K);
    whileLt(K, GROUPS_END, () => {
      const lanes = LANES.slice(0, 4);
      lanes.forEach((lane, i) => {
        c.get(K)
          .mem(Op.i32Load, 2, 16 * i)
          .set(lane);
      });
      c.get(K).mem(Op.i32Load, 2, 8).set(L);
      walk(lanes, [ROWP, ROWP, ROWP, ROWP], [0, 0, 0, 0]);
      // Summed in tree order, as the reference does.
      for (const lane of lanes) {
        c.get(ACC);
        leafValue(lane);
        c.op(Op.f64Add).set(ACC);
      }
      c.get(K).i32(64).op(Op.i32Add).set(K);
    });
    whileLt(K, TREES_END, () => {
      c.get(K).mem(Op.i32Load, 2, 0).set(LANES[0]);
      c.get(K).mem(Op.i32Load, 2, 4).set(L);
      walk([LANES[0]], [ROWP], [0]);
      c.get(ACC);
      leafValue(LANES[0]);
      c.op(Op.f64Add).set(ACC);
      c.get(K).i32(16).op(Op.i32Add).set(K);
    });
    c.get(OUT).get(R).i32(3).op(Op.i32Shl).op(Op.i32Add).get(ACC).mem(Op.f64Store, 3, 0);
    c.get(R).i32(1).op(Op.i32Add).set(R);
  });

  return moduleBytes({
    name: 'score',
    params: Array(9).fill(I32),
    locals: [...Array(ACC - 9).fill(I32), F64, ...Array(N_LOCALS - ACC - 1).fill(I32)],
    body: c,
  });
}
