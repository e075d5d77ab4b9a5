/**
 * Sub, Div and Mul by constants: the input normalisation that exports start with (e.g.
 * (x - mean) / std). They are allowed only before the first layer, where they compose into one
 * x * scale + shift (one value, or one per channel) that the first Conv or Gemm/MatMul folds
 * into its weights and bias. An Add by a constant there (add.ts) composes the same way.
 */
import { product } from "../graph.ts";
import type { ImportContext, OnnxOperator } from "./operator.ts";

/** x -> x op c for the constant `constant` (one value, or one per channel), composed into the pending normalisation. */
export function addNormalisation(
  ctx: ImportContext,
  kind: "Sub" | "Div" | "Mul" | "Add",
  constant: string | undefined,
) {
  const { state, where, fail } = ctx;
  const c = constant ? ctx.constants.get(constant) : undefined;
  if (!c) fail(`${where}: ${kind} is supported only by a constant (the input normalisation)`);
  const shape = state.shape;
  const channels = shape.length === 4 ? shape[1]! : 1;
  const count = product(c!.dims);
  const perChannel = shape.length === 4 && count === channels && c!.dims.filter((d) => d !== 1).length <= 1;
  if (count !== 1 && !perChannel)
    fail(`${where}: constant "${c!.name}" has shape [${c!.dims.join(", ")}]; expected one value or one per channel`);
  if (c!.values.some((v) => !Number.isFinite(v) || (kind === "Div" && v === 0)))
    fail(`${where}: constant "${c!.name}" has a value that is not finite${kind === "Div" ? " or is zero" : ""}`);
  const normalise = state.normalise;
  const n = Math.max(count, normalise?.scale.length ?? 1);
  const at = (v: Float64Array, i: number) => v[v.length === 1 ? 0 : i]!;
  const before = normalise ?? { scale: Float64Array.of(1), shift: Float64Array.of(0), where };
  const scale = new Float64Array(n);
  const shift = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const v = at(c!.values, i);
    const [a, b] = [at(before.scale, i), at(before.shift, i)];
    if (kind === "Sub") [scale[i], shift[i]] = [a, b - v];
    else if (kind === "Add") [scale[i], shift[i]] = [a, b + v];
    else if (kind === "Mul") [scale[i], shift[i]] = [a * v, b * v];
    else [scale[i], shift[i]] = [a / v, b / v];
  }
  state.normalise = { scale, shift, where: normalise?.where ?? where };
}

function normalisation(op: "Sub" | "Div" | "Mul"): OnnxOperator {
  return {
    op,
    attributes: [],
    keepsNormalisation: true,
    commutative: op === "Mul",
    import(ctx) {
      if (!ctx.firstLayer)
        ctx.fail(
          `${ctx.where}: ${op} by a constant is supported only as the input normalisation, before the first layer`,
        );
      addNormalisation(ctx, op, ctx.inputs[1]);
    },
  };
}

export const onnx: OnnxOperator[] = [normalisation("Sub"), normalisation("Div"), normalisation("Mul")];
