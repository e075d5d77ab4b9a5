/**
 * Transpose of the non-batch axes. Before a Flatten and a Gemm or MatMul (e.g. Keras' NHWC
 * order before its Flatten) it is folded into that layer's weights, which then read the tensor
 * as the layers hold it. Before a Conv (an NHWC input from Keras / tf2onnx) it becomes a
 * Transpose layer: a permutation of the values, which in the circuit is a copy of signals in
 * another order (linear, no constraint).
 */
import { product } from "../graph.ts";
import {
  elementRef,
  type CircuitOperator,
  type ImportContext,
  type LayerOperator,
  type OnnxOperator,
} from "./operator.ts";

export interface TransposeLayer {
  kind: "transpose";
  node: string;
  /** Output element i is input element order[i] (flat, row-major). */
  order: number[];
}

export interface QuantizedTranspose extends TransposeLayer {
  /** Width and scale of the values moved (unchanged). */
  bits: number;
  scaleBits: number;
}

/** Turns a pending Transpose into a Transpose layer, for a layer that cannot fold it (a Conv). */
export function materialiseTranspose(ctx: ImportContext): void {
  const { state } = ctx;
  if (!state.transposed) return;
  const { order, node } = state.transposed;
  state.layers.push({ kind: "transpose", node, order: Array.from(order) });
  state.transposed = undefined;
  state.open = undefined;
}

const permute = (order: number[], x: ArrayLike<number>) => order.map((j) => x[j]!);

export const layer: LayerOperator<TransposeLayer, QuantizedTranspose> = {
  kind: "transpose",
  opName: "Transpose",
  outputSize: (l) => l.order.length,
  forward: (l, x) => Float64Array.from(permute(l.order, x)),
  quantize: (l, q) => ({ layer: { ...l, bits: q.bits, scaleBits: q.scale }, scale: q.scale, bits: q.bits }),
};

export const circuit: CircuitOperator<QuantizedTranspose> = {
  kind: "transpose",
  outputSize: (l) => l.order.length,
  reference: (l, x) => permute(l.order, x),
  libs: () => [],
  emit(l, e) {
    const n = l.order.length;
    e.out.push(
      `    // Layer ${e.index} ("${l.node}"): Transpose, ${n} values in another order: linear, no constraint.`,
    );
    e.out.push(`    signal ${e.name}[${n}];`);
    l.order.forEach((j, i) => e.out.push(`    ${e.name}[${i}] <== ${elementRef(e.current, j)};`));
    return { tensor: { name: e.name, dims: [n] } };
  },
  cost: () => [],
  describe: (l) => `${l.node}: Transpose of ${l.order.length} values (no constraint)`,
};

export const onnx: OnnxOperator[] = [
  {
    op: "Transpose",
    attributes: ["perm"],
    keepsTranspose: true,
    import(ctx) {
      const { state, where, fail } = ctx;
      const shape = state.shape;
      const rank = shape.length;
      const perm = ctx.ints("perm") ?? Array.from({ length: rank }, (_, d) => rank - 1 - d);
      if (perm.length !== rank || [...perm].sort((a, b) => a - b).some((v, d) => v !== d))
        fail(`${where} has perm [${perm.join(", ")}] for a rank-${rank} tensor`);
      if (rank >= 2 && perm[0] !== 0) fail(`${where} moves the batch axis; only the other axes may be permuted`);
      const next = perm.map((d) => shape[d]!);
      // Strides of the input; for each element of the output (row-major), its input index.
      const stride = shape.map((_, d) => product(shape.slice(d + 1)));
      const n = product(shape);
      const order = new Int32Array(n);
      const transposed = state.transposed;
      for (let i = 0; i < n; i++) {
        let rest = i;
        let j = 0;
        for (let d = rank - 1; d >= 0; d--) {
          const o = rest % next[d]!;
          rest = Math.floor(rest / next[d]!);
          j += o * stride[perm[d]!]!;
        }
        order[i] = transposed ? transposed.order[j]! : j;
      }
      state.transposed = { order, node: transposed?.node ?? ctx.label, where: transposed?.where ?? where };
      state.shape = next;
    },
  },
];
