import { createRequire } from 'node:module';
import path from 'node:path';
import * as ort from 'onnxruntime-web';
import { onnx } from './proto.ts';

/**
 * onnxruntime-web (wasm) sessions for ONNX models. One thread: Lambda and the
 * local twin score small batches, and worker threads would only add start-up
 * cost. The wasm files are located explicitly: in Lambda they come from the
 * layer (`VIGIL_ORT_WASM_DIR`), locally from node_modules.
 */
let configured = false;

/** Directory holding onnxruntime-web's `.wasm` files. */
export function defaultWasmDir(): string {
  const require = createRequire(import.meta.url);
  // The package's `require` entry lives in dist/, next to the wasm files.
  return `${path.dirname(require.resolve('onnxruntime-web'))}/`;
}

function configure(wasmDir?: string): void {
  if (configured) return;
  ort.env.wasm.numThreads = 1;
  ort.env.wasm.proxy = false;
  const dir = wasmDir ?? defaultWasmDir();
  ort.env.wasm.wasmPaths = dir.endsWith('/') ? dir : `${dir}/`;
  ort.env.logLevel = 'error';
  configured = true;
}

export interface OrtModel {
  readonly session: ort.InferenceSession;
  readonly inputName: string;
  /** Element type the graph's input declares: rows are fed as float32 or float64 to match. */
  readonly inputType: 'float' | 'double';
  /**
   * Runs the graph on a row-major matrix (converted to the input's element type);
   * returns each requested output as float64 with its number of columns.
   */
  run(
    x: Float32Array | Float64Array,
    rows: number,
    nFeatures: number,
    outputs: readonly string[],
  ): Promise<Record<string, Float64Array>>;
  /** Like `run`, with each output's column count (a classifier's probabilities are [N, 2]). */
  runColumns(
    x: Float32Array | Float64Array,
    rows: number,
    nFeatures: number,
    outputs: readonly string[],
  ): Promise<Record<string, { data: Float64Array; width: number }>>;
}

/**
 * Creates an onnxruntime-web session for ONNX bytes. `expose` names tensors to
 * return that are not graph outputs (a classifier's probability tensor before its
 * ZipMap): the graph is rewritten so they are, and outputs that are not tensors
 * (ZipMap's sequence of maps, which onnxruntime-web cannot return) are dropped
 * with the nodes that only they need.
 */
export async function createOrtModel(
  bytes: Uint8Array,
  opts: { wasmDir?: string; expose?: readonly string[] } = {},
): Promise<OrtModel> {
  configure(opts.wasmDir);
  const graphBytes = opts.expose && opts.expose.length > 0 ? exposeTensors(bytes, opts.expose) : bytes;
  const session = await ort.InferenceSession.create(graphBytes, {
    executionProviders: ['wasm'],
    graphOptimizationLevel: 'all',
  });
  const inputName = session.inputNames[0];
  const declared = onnx.ModelProto.decode(graphBytes).graph?.input?.find((i) => i.name === inputName);
  const inputType =
    declared?.type?.tensorType?.elemType === onnx.TensorProto.DataType.DOUBLE ? 'double' : 'float';
  const runColumns: OrtModel['runColumns'] = async (x, rows, nFeatures, outputs) => {
    const data =
      inputType === 'double'
        ? x instanceof Float64Array
          ? x
          : Float64Array.from(x)
        : x instanceof Float32Array
          ? x
          : Float32Array.from(x);
    const feeds = {
      [inputName]: new ort.Tensor(inputType === 'double' ? 'float64' : 'float32', data, [rows, nFeatures]),
    };
    const res = await session.run(feeds, outputs as string[]);
    const out: Record<string, { data: Float64Array; width: number }> = {};
    for (const name of outputs) {
      const t = res[name];
      out[name] = {
        data: Float64Array.from(t.data as ArrayLike<number>),
        width: t.dims.length >= 2 ? t.dims[1] : 1,
      };
    }
    return out;
  };
  return {
    session,
    inputName,
    inputType,
    runColumns,
    async run(x, rows, nFeatures, outputs) {
      const res = await runColumns(x, rows, nFeatures, outputs);
      return Object.fromEntries(Object.entries(res).map(([k, v]) => [k, v.data]));
    },
  };
}

/** The model with `names` as (float tensor) graph outputs and its non-tensor outputs removed. */
function exposeTensors(bytes: Uint8Array, names: readonly string[]): Uint8Array {
  const model = onnx.ModelProto.decode(bytes);
  const graph = model.graph;
  if (!graph) return bytes;
  const outputs = (graph.output ?? []).filter((o) => o.type?.tensorType);
  for (const name of names) {
    if (outputs.some((o) => o.name === name)) continue;
    outputs.push(
      onnx.ValueInfoProto.create({
        name,
        type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT } },
      }),
    );
  }
  graph.output = outputs;
  // Keep only the nodes some remaining output depends on (ZipMap goes).
  const needed = new Set(outputs.map((o) => o.name ?? ''));
  const kept: typeof graph.node = [];
  for (const n of [...(graph.node ?? [])].reverse()) {
    if (!(n.output ?? []).some((o) => needed.has(o))) continue;
    kept.push(n);
    for (const i of n.input ?? []) needed.add(i);
  }
  graph.node = kept.reverse();
  return Uint8Array.from(onnx.ModelProto.encode(model).finish());
}
