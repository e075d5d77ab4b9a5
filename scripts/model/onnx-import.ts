/**
 * ONNX import and export for sequential graphs (graph.ts): Conv (with BatchNormalization
 * folded in), Gemm / MatMul (+ Add for the bias), Relu, MaxPool, AveragePool, Flatten and
 * Reshape, and the inference no-ops Identity and Dropout. What exporters add around them is
 * folded away: a zero-constant Pad into the Conv, AveragePool or MaxPool that follows it (or
 * dropped when it pads nothing, as PyTorch writes before every AveragePool); the input normalisation (Sub, Div, Mul
 * or Add by constants before the first layer) into the first Conv, Gemm or MatMul; and a final
 * Softmax, LogSoftmax or Sigmoid, which keeps the class, is recorded for the quantizer to allow
 * only when the circuit proves the class.
 *
 * This is the trust boundary between a model file and the circuit generator (onnx-io.ts reads
 * its tensors and shapes): it accepts only graphs whose meaning it models exactly, at batch
 * size 1, and refuses everything else with a message naming the node, the operator and what to
 * change.
 */
import onnxProto from "onnx-proto";
import type { onnx as OnnxTypes } from "onnx-proto";
import {
  FINAL_ACTIVATIONS,
  outputSide,
  product,
  type ConvLayer,
  type FinalActivation,
  type FloatGraph,
  type GraphLayer,
} from "./graph.ts";
import {
  ONNX_IR_VERSION,
  ONNX_OPSET,
  addBias,
  checkMatrix,
  decodeModel,
  floatTensor,
  floatValueInfo,
  int64ToNumber,
  requireWeight,
  reshapeTarget,
  readTensor,
  staticShape,
  transpose,
  type NodeCtx,
  type Tensor,
} from "./onnx-io.ts";

const { onnx } = onnxProto;
const { DataType } = onnx.TensorProto;
const { AttributeType } = onnx.AttributeProto;

export const GRAPH_OPS = [
  "Conv",
  "BatchNormalization",
  "Gemm",
  "MatMul",
  "Add",
  "Relu",
  "MaxPool",
  "AveragePool",
  "Flatten",
  "Reshape",
  "Squeeze",
  "Unsqueeze",
  "Transpose",
  "Identity",
  "Dropout",
  "Constant",
  "Pad",
  "Sub",
  "Div",
  "Mul",
  "Softmax",
  "LogSoftmax",
  "Sigmoid",
] as const;
type GraphOp = (typeof GRAPH_OPS)[number];

/** Attributes each operator may carry; any other attribute changes semantics we do not model. */
const ALLOWED_ATTRIBUTES: Record<GraphOp, readonly string[]> = {
  Conv: ["kernel_shape", "strides", "pads", "dilations", "group", "auto_pad"],
  // momentum only matters in training; spatial is opset < 9 and must be 1.
  BatchNormalization: ["epsilon", "momentum", "training_mode", "spatial"],
  Gemm: ["alpha", "beta", "transA", "transB"],
  MatMul: [],
  Add: [],
  Relu: [],
  MaxPool: ["kernel_shape", "strides", "pads", "dilations", "ceil_mode", "storage_order", "auto_pad"],
  AveragePool: ["kernel_shape", "strides", "pads", "ceil_mode", "count_include_pad", "auto_pad"],
  Flatten: ["axis"],
  // Opset < 13 carries the axes as an attribute, later opsets as an input.
  Squeeze: ["axes"],
  Unsqueeze: ["axes"],
  Transpose: ["perm"],
  Reshape: ["allowzero"],
  Identity: [],
  Dropout: ["seed", "ratio", "is_test"],
  Constant: ["value"],
  // Opset < 11 carries pads and value as attributes, later opsets as inputs.
  Pad: ["mode", "pads", "value"],
  Sub: [],
  Div: [],
  Mul: [],
  Softmax: ["axis"],
  LogSoftmax: ["axis"],
  Sigmoid: [],
};

type Int64 = number | { toNumber(): number };

interface Attribute {
  name: string;
  f: number;
  i: Int64;
  ints: Int64[];
  s: Uint8Array | undefined;
  t: OnnxTypes.ITensorProto | null | undefined;
}

interface Node {
  name: string;
  opType: string;
  domain: string;
  input: string[];
  output: string[];
  attribute: Attribute[];
}

/** The layer whose output is still affine, so that an Add or a BatchNormalization can fold into it. */
type OpenLayer = ConvLayer | Extract<GraphLayer, { kind: "dense" }>;

/**
 * Parses an ONNX model into a FloatGraph. `name` names the model in messages (use the file
 * name). Throws `"<name>" is not a valid ONNX model: ...` for bytes that are not a ModelProto
 * and `"<name>": <problem> at node "<node>" ...` for anything outside the supported subset.
 */
export function onnxToGraph(bytes: Uint8Array, name: string): FloatGraph {
  const model = decodeModel(bytes, name);
  const g = model.graph!;
  const fail = (message: string): never => {
    throw new Error(`"${name}": ${message}`);
  };

  const constants = new Map<string, Tensor>();
  for (const t of g.initializer ?? []) {
    const tensor = readTensor(t, fail);
    constants.set(tensor.name, tensor);
  }
  const valueInfo = (v: OnnxTypes.IValueInfoProto) => ({ name: v.name ?? "", type: v.type });
  // PyTorch's older exporters also list every initializer as a graph input; those are weights.
  const dataInputs = (g.input ?? []).map(valueInfo).filter((v) => !constants.has(v.name));
  if (dataInputs.length !== 1) {
    fail(
      `expected exactly one graph input besides the initializers, found ${dataInputs.length}` +
        (dataInputs.length ? ` (${dataInputs.map((v) => `"${v.name}"`).join(", ")})` : ""),
    );
  }
  const input = dataInputs[0]!;
  const onnxInputShape = staticShape(input, "graph input", fail);
  if (onnxInputShape.length >= 2 && onnxInputShape[0] !== 1) {
    fail(
      `graph input "${input.name}" has batch size ${onnxInputShape[0]}; ` +
        "re-export with batch size 1 (one input per proof)",
    );
  }
  // [1, H, W] is an image without a channel axis (an MLP's 28x28 or 14x14 input, flattened first).
  if (onnxInputShape.length < 1 || onnxInputShape.length > 4) {
    fail(
      `graph input "${input.name}" has shape [${onnxInputShape.join(", ")}]; ` +
        "expected [1, N], [1, H, W] or [1, C, H, W] (batch size 1)",
    );
  }
  const outputs = (g.output ?? []).map(valueInfo);
  if (outputs.length !== 1) fail(`expected exactly one graph output, found ${outputs.length}`);
  const output = outputs[0]!;
  const declaredOutputShape = output.type?.tensorType?.shape ? staticShape(output, "graph output", fail) : undefined;

  const layers: GraphLayer[] = [];
  // Shapes include the batch dimension (1) when the tensor has rank >= 2.
  let tensor = input.name;
  let shape = onnxInputShape;
  let open: OpenLayer | undefined;
  /** Zero padding of a Pad node, waiting for the Conv it folds into. */
  let pendingPad: { pad: number; where: string } | undefined;
  /** The input normalisation x * scale + shift (per channel, or one value), waiting for the first layer. */
  let normalise: { scale: Float64Array; shift: Float64Array; where: string } | undefined;
  let final: FinalActivation | undefined;
  /**
   * A Transpose waiting for the Gemm or MatMul it folds into: order[i] is where element i of the
   * transposed view sits in the tensor as the layers hold it (the weights are permuted instead).
   */
  let transposed: { order: Int32Array; where: string } | undefined;

  // Every unsupported node at once, so that one export round fixes them all.
  const unsupported = (g.node ?? []).flatMap((raw, index) => {
    const op = raw.opType ?? "";
    const inDomain = !raw.domain || raw.domain === "ai.onnx";
    if (inDomain && (GRAPH_OPS as readonly string[]).includes(op)) return [];
    return [`"${inDomain ? op : `${raw.domain}.${op}`}" at node "${raw.name || `#${index}`}"`];
  });
  if (unsupported.length > 0) {
    fail(
      `unsupported operator${unsupported.length > 1 ? "s" : ""} ${unsupported.join(", ")} ` +
        `(supported: ${GRAPH_OPS.join(", ")})`,
    );
  }

  (g.node ?? []).forEach((raw, index) => {
    const node = normalizeNode(raw);
    const op = node.opType;
    const label = node.name || `#${index}`;
    const at = `at node "${label}"`;
    const where = `${op} node "${label}"`;
    if (node.domain && node.domain !== "ai.onnx") {
      fail(`unsupported operator domain "${node.domain}" for "${op}" ${at}`);
    }
    if (!(GRAPH_OPS as readonly string[]).includes(op)) {
      fail(`unsupported operator "${op}" ${at} (supported: ${GRAPH_OPS.join(", ")})`);
    }
    const attrs = new Map<string, Attribute>();
    for (const a of node.attribute) {
      if (!ALLOWED_ATTRIBUTES[op as GraphOp].includes(a.name)) fail(`unsupported attribute "${a.name}" on ${where}`);
      attrs.set(a.name, a);
    }
    const ctx: NodeCtx = { where, constants, fail };
    if (final) fail(`${where} follows ${final.op} node "${final.node}"; a ${final.op} may only end the model`);
    if (pendingPad && !["Conv", "AveragePool", "MaxPool", "Constant"].includes(op))
      fail(
        `${pendingPad.where} pads by ${pendingPad.pad} before ${where}; a Pad is supported only right before ` +
          "a Conv, AveragePool or MaxPool, into which it is folded",
      );
    const foldable = [
      "Transpose",
      "Flatten",
      "Reshape",
      "Squeeze",
      "Unsqueeze",
      "Identity",
      "Dropout",
      "Gemm",
      "MatMul",
    ];
    if (transposed && ![...foldable, "Constant"].includes(op))
      fail(
        `${transposed.where} is followed by ${where}; a Transpose is supported only before a Flatten and a Gemm or ` +
          "MatMul, into whose weights it is folded (a Transpose before a Conv, e.g. an NHWC input, is not supported yet)",
      );
    const firstLayer = layers.length === 0 && !open;
    if (
      normalise &&
      firstLayer &&
      ![
        "Conv",
        "Gemm",
        "MatMul",
        "Sub",
        "Div",
        "Mul",
        "Add",
        "Constant",
        "Flatten",
        "Reshape",
        "Squeeze",
        "Unsqueeze",
        "Identity",
      ].includes(op)
    )
      fail(
        `${normalise.where} normalises the input, and ${where} follows it; it must be followed by a Conv, Gemm or MatMul to fold into`,
      );
    const int = (attr: string, fallback: number) => {
      const a = attrs.get(attr);
      return a ? int64ToNumber(a.i) : fallback;
    };
    const ints = (attr: string): number[] | undefined => attrs.get(attr)?.ints.map((v) => int64ToNumber(v));
    const float = (attr: string, fallback: number) => attrs.get(attr)?.f ?? fallback;
    /** x -> x op c for the constant c (one value, or one per channel), composed into `normalise`. */
    const addNormalisation = (kind: "Sub" | "Div" | "Mul" | "Add", constant: string | undefined) => {
      const c = constant ? constants.get(constant) : undefined;
      if (!c) fail(`${where}: ${kind} is supported only by a constant (the input normalisation)`);
      const channels = shape.length === 4 ? shape[1]! : 1;
      const count = product(c!.dims);
      const perChannel = shape.length === 4 && count === channels && c!.dims.filter((d) => d !== 1).length <= 1;
      if (count !== 1 && !perChannel)
        fail(
          `${where}: constant "${c!.name}" has shape [${c!.dims.join(", ")}]; expected one value or one per channel`,
        );
      if (c!.values.some((v) => !Number.isFinite(v) || (kind === "Div" && v === 0)))
        fail(`${where}: constant "${c!.name}" has a value that is not finite${kind === "Div" ? " or is zero" : ""}`);
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
      normalise = { scale, shift, where: normalise?.where ?? where };
    };
    /** Folds a pending Transpose into a dense layer: the weight of view element i goes to order[i]. */
    const foldTransposeIntoDense = (layer: Extract<GraphLayer, { kind: "dense" }>) => {
      if (!transposed) return;
      if (normalise && normalise.scale.length > 1)
        fail(`${transposed.where} follows a per-channel input normalisation; only a scalar one folds with it`);
      const { nIn, nOut } = layer;
      const weight = new Float64Array(layer.weight.length);
      for (let o = 0; o < nOut; o++)
        for (let i = 0; i < nIn; i++) weight[o * nIn + transposed.order[i]!] = layer.weight[o * nIn + i]!;
      layer.weight = weight;
      transposed = undefined;
    };
    /** Folds the input normalisation into the first dense layer: w' = w * a, bias' = bias + w . b. */
    const foldNormalisationIntoDense = (layer: Extract<GraphLayer, { kind: "dense" }>) => {
      foldTransposeIntoDense(layer);
      if (!normalise) return;
      const { nIn, nOut } = layer;
      const channels = Math.max(normalise.scale.length, normalise.shift.length);
      // A per-channel constant on a flattened [C, H, W] input: input i belongs to channel i / (H W).
      const perChannel = nIn / channels;
      const at = (v: Float64Array, i: number) => v[v.length === 1 ? 0 : Math.floor(i / perChannel)]!;
      for (let o = 0; o < nOut; o++)
        for (let i = 0; i < nIn; i++) {
          const j = o * nIn + i;
          layer.bias[o] = layer.bias[o]! + layer.weight[j]! * at(normalise.shift, i);
          layer.weight[j] = layer.weight[j]! * at(normalise.scale, i);
        }
      normalise = undefined;
    };

    if (op === "Constant") {
      const value = attrs.get("value");
      if (!value?.t || node.output.length !== 1) fail(`${where} must have a tensor "value" attribute and one output`);
      const t = readTensor(value!.t!, fail);
      constants.set(node.output[0]!, { ...t, name: node.output[0]! });
      return;
    }

    // Only a sequential chain has a meaning we prove: every node reads what the previous produced.
    // Add is commutative and exporters put the bias on either side; put the data first.
    const inputs = (op === "Add" || op === "Mul") && node.input[1] === tensor ? [...node.input].reverse() : node.input;
    if (inputs[0] !== tensor) {
      fail(
        `${where} reads "${inputs[0] ?? ""}" instead of "${tensor}"; only a sequential chain of layers is supported`,
      );
    }
    const out = node.output[0];
    if (!out) fail(`${where} has no output`);
    const needImage = () => {
      if (shape.length !== 4) fail(`${where} needs a [1, C, H, W] input, got [${shape.join(", ")}]`);
      return { C: shape[1]!, H: shape[2]!, W: shape[3]! };
    };
    const checkAutoPad = () => {
      const a = attrs.get("auto_pad");
      const mode = a?.s ? new TextDecoder().decode(a.s) : "NOTSET";
      if (mode !== "NOTSET" && mode !== "VALID") {
        fail(`${where} has auto_pad=${mode}; re-export with explicit pads (auto_pad NOTSET)`);
      }
      return mode;
    };
    const squareKernel = (declared: number[] | undefined, fallback?: number[]) => {
      const k = declared ?? fallback;
      if (!k || k.length !== 2 || k[0] !== k[1]) {
        fail(`${where} has kernel_shape [${(k ?? []).join(", ")}]; only square 2-D kernels are supported`);
      }
      return k![0]!;
    };
    const equalStrides = () => {
      const s = ints("strides") ?? [1, 1];
      if (s.length !== 2 || s[0] !== s[1] || s[0]! < 1) {
        fail(`${where} has strides [${s.join(", ")}]; only equal strides along both axes are supported`);
      }
      return s[0]!;
    };
    const unitDilations = () => {
      const d = ints("dilations");
      if (d && d.some((v) => v !== 1)) fail(`${where} has dilations [${d.join(", ")}]; only dilation 1 is supported`);
    };

    switch (op as Exclude<GraphOp, "Constant">) {
      case "Conv": {
        const { C, H, W } = needImage();
        checkAutoPad();
        unitDilations();
        if (int("group", 1) !== 1) fail(`${where} has group=${int("group", 1)}; only group=1 is supported`);
        const w = requireWeight(ctx, node.input[1], "weight W");
        if (w.dims.length !== 4 || w.dims[1] !== C) {
          fail(
            `${where}: weight "${w.name}" has shape [${w.dims.join(", ")}], expected [outC, ${C}, k, k] ` +
              `for an input of ${C} channels`,
          );
        }
        const k = squareKernel(ints("kernel_shape"), w.dims.slice(2));
        if (w.dims[2] !== k || w.dims[3] !== k) {
          fail(`${where}: weight "${w.name}" has shape [${w.dims.join(", ")}] but kernel_shape is [${k}, ${k}]`);
        }
        const stride = equalStrides();
        const pads = ints("pads") ?? [0, 0, 0, 0];
        if (pads.length !== 4 || pads.some((p) => p !== pads[0]) || pads[0]! < 0) {
          fail(`${where} has pads [${pads.join(", ")}]; only the same padding on every side is supported`);
        }
        const pad = pads[0]! + (pendingPad?.pad ?? 0);
        pendingPad = undefined;
        const outC = w.dims[0]!;
        const outH = outputSide(H, k, stride, pad);
        const outW = outputSide(W, k, stride, pad);
        if (outH < 1 || outW < 1) fail(`${where}: a ${k}x${k} kernel does not fit a ${H}x${W} input`);
        const bias = new Float64Array(outC);
        if (node.input[2]) {
          const b = requireWeight(ctx, node.input[2], "bias B");
          if (product(b.dims) !== outC) {
            fail(`${where}: bias "${b.name}" has shape [${b.dims.join(", ")}], expected [${outC}]`);
          }
          bias.set(b.values);
        }
        const layer: ConvLayer = {
          kind: "conv",
          node: label,
          inC: C,
          inH: H,
          inW: W,
          outC,
          k,
          stride,
          pad,
          weight: Float64Array.from(w.values),
          bias,
        };
        if (normalise) {
          // conv(x * a + b) = conv'(x) with w' = w * a[ic] and bias' = bias + sum w * b[ic], except
          // where the kernel reads padding: there the file pads the normalised input with 0.
          if (pad > 0 && normalise.shift.some((v) => v !== 0))
            fail(
              `${normalise.where} shifts the input before ${where}, which pads it: the padded border would not ` +
                "fold exactly; normalise inside the model's data instead, or use an unpadded first Conv",
            );
          const at = (v: Float64Array, ic: number) => v[v.length === 1 ? 0 : ic]!;
          if (normalise.scale.length !== 1 && normalise.scale.length !== C)
            fail(`${normalise.where}: a per-channel constant of ${normalise.scale.length} values for ${C} channels`);
          const kk = k * k;
          for (let oc = 0; oc < outC; oc++)
            for (let ic = 0; ic < C; ic++)
              for (let j = 0; j < kk; j++) {
                const i = (oc * C + ic) * kk + j;
                layer.bias[oc] = layer.bias[oc]! + layer.weight[i]! * at(normalise.shift, ic);
                layer.weight[i] = layer.weight[i]! * at(normalise.scale, ic);
              }
          normalise = undefined;
        }
        layers.push(layer);
        open = layer;
        shape = [1, outC, outH, outW];
        break;
      }
      case "Gemm": {
        const alpha = float("alpha", 1);
        const beta = float("beta", 1);
        const transA = int("transA", 0);
        const transB = int("transB", 0);
        if (!Number.isFinite(alpha) || !Number.isFinite(beta)) fail(`${where} has alpha=${alpha}, beta=${beta}`);
        if (transA !== 0) fail(`${where} has transA=${transA}; only transA=0 is supported`);
        if (transB !== 0 && transB !== 1) fail(`${where} has transB=${transB}; expected 0 or 1`);
        if (shape.length !== 2 || shape[0] !== 1) {
          fail(`${where} needs a [1, N] input, got [${shape.join(", ")}]; add a Flatten`);
        }
        const nIn = shape[1]!;
        const w = requireWeight(ctx, node.input[1], "weight B");
        const nOut = checkMatrix(ctx, w, nIn, transB === 1);
        // Y = alpha * A B + beta * C: alpha scales the weights and beta the bias, exactly.
        const weight = (transB === 1 ? Float64Array.from(w.values) : transpose(w.values, nIn, nOut)).map(
          (v) => v * alpha,
        );
        const bias = new Float64Array(nOut);
        if (node.input[2]) addBias(ctx, bias, requireWeight(ctx, node.input[2], "bias C"));
        for (let o = 0; o < nOut; o++) bias[o] = bias[o]! * beta;
        open = { kind: "dense", node: label, nIn, nOut, weight, bias };
        foldNormalisationIntoDense(open);
        layers.push(open);
        shape = [1, nOut];
        break;
      }
      case "MatMul": {
        if (shape.length > 2 || product(shape) !== shape[shape.length - 1]) {
          fail(`${where} needs a [1, N] or [N] input, got [${shape.join(", ")}]; add a Flatten`);
        }
        const nIn = shape[shape.length - 1]!;
        const w = requireWeight(ctx, node.input[1], "weight B");
        const nOut = checkMatrix(ctx, w, nIn, false);
        open = {
          kind: "dense",
          node: label,
          nIn,
          nOut,
          weight: transpose(w.values, nIn, nOut),
          bias: new Float64Array(nOut),
        };
        foldNormalisationIntoDense(open);
        layers.push(open);
        shape = [...shape.slice(0, -1), nOut];
        break;
      }
      case "Add": {
        if (!open && firstLayer) {
          addNormalisation("Add", inputs[1]);
          break;
        }
        if (!open) fail(`${where} must directly follow a Conv, MatMul or Gemm (only bias additions are supported)`);
        const b = requireWeight(ctx, inputs[1], "bias");
        if (open!.kind === "dense") {
          addBias(ctx, open!.bias, b);
        } else {
          // A per-channel bias broadcast over H and W: [C], [C, 1, 1] or [1, C, 1, 1], or a scalar.
          const count = product(b.dims);
          const perChannel = count === open!.outC && b.dims.filter((d) => d !== 1).length <= 1;
          const channelAxisOk = b.dims.length < 3 || b.dims[b.dims.length - 3] === count;
          if (!(count === 1 || (perChannel && channelAxisOk))) {
            fail(`${where}: bias "${b.name}" has shape [${b.dims.join(", ")}], expected [${open!.outC}, 1, 1]`);
          }
          for (let c = 0; c < open!.outC; c++) open!.bias[c] = open!.bias[c]! + b.values[count === 1 ? 0 : c]!;
        }
        break;
      }
      case "BatchNormalization": {
        if (!open) fail(`${where} must directly follow a Conv, MatMul or Gemm, into which it is folded`);
        if (int("training_mode", 0) !== 0) fail(`${where} has training_mode=1; export the model in eval mode`);
        if (int("spatial", 1) !== 1) fail(`${where} has spatial=0, which is not supported`);
        if (node.output.slice(1).some((o) => o)) {
          fail(`${where} has its running statistics outputs used; export the model in eval mode`);
        }
        const channels = open!.kind === "conv" ? open!.outC : open!.nOut;
        const [scale, beta, mean, variance] = ["scale", "B", "input_mean", "input_var"].map((role, j) => {
          const t = requireWeight(ctx, node.input[j + 1], role);
          if (product(t.dims) !== channels) {
            fail(`${where}: ${role} "${t.name}" has shape [${t.dims.join(", ")}], expected [${channels}]`);
          }
          return t.values;
        }) as [Float64Array, Float64Array, Float64Array, Float64Array];
        const epsilon = float("epsilon", 1e-5);
        // y = scale * (x - mean) / sqrt(var + eps) + beta, folded into the affine layer: per
        // output channel, weights times s and bias (b - mean) * s + beta, s = scale / sqrt(var + eps).
        const perChannel = open!.weight.length / channels;
        for (let c = 0; c < channels; c++) {
          if (variance[c]! + epsilon <= 0) fail(`${where}: input_var + epsilon is not positive for channel ${c}`);
          const s = scale[c]! / Math.sqrt(variance[c]! + epsilon);
          for (let i = 0; i < perChannel; i++) open!.weight[c * perChannel + i] = open!.weight[c * perChannel + i]! * s;
          open!.bias[c] = (open!.bias[c]! - mean[c]!) * s + beta[c]!;
        }
        break;
      }
      case "Relu": {
        layers.push({ kind: "relu", node: label });
        open = undefined;
        break;
      }
      case "MaxPool":
      case "AveragePool": {
        const { C, H, W } = needImage();
        checkAutoPad();
        if (op === "MaxPool") unitDilations();
        if (op === "MaxPool" && int("storage_order", 0) !== 0)
          fail(`${where} has storage_order=1, which is not supported`);
        if (node.output.length > 1 && node.output[1]) {
          fail(`${where} has its Indices output "${node.output[1]}" used; only the pooled values are supported`);
        }
        const k = squareKernel(ints("kernel_shape"));
        const stride = equalStrides();
        const pads = ints("pads") ?? [0, 0, 0, 0];
        if (pads.length !== 4 || pads.some((p) => p !== pads[0]) || pads[0]! < 0)
          fail(`${where} has pads [${pads.join(", ")}]; only the same padding on every side is supported`);
        // An AveragePool that pads must count the padding (a fixed divisor k^2): count_include_pad = 1.
        if (op === "AveragePool" && pads[0]! > 0 && int("count_include_pad", 0) !== 1)
          fail(
            `${where} pads by ${pads[0]} with count_include_pad=0, so its border windows divide by fewer than ` +
              `${k * k} values; re-export with count_include_pad=1 (PyTorch's default) or without padding`,
          );
        // A Pad node before the pool pads with zeros the pool then counts, as count_include_pad = 1 does.
        const pad = pads[0]! + (pendingPad?.pad ?? 0);
        pendingPad = undefined;
        if (pad >= k) fail(`${where} pads by ${pad}, not less than its ${k}x${k} window`);
        if (k > H + 2 * pad || k > W + 2 * pad) fail(`${where}: a ${k}x${k} window does not fit a ${H}x${W} input`);
        // ceil_mode changes the output only when the last window would run past the edge.
        if (int("ceil_mode", 0) !== 0 && ((H + 2 * pad - k) % stride !== 0 || (W + 2 * pad - k) % stride !== 0)) {
          fail(`${where} has ceil_mode=1 with partial windows; re-export with ceil_mode=0`);
        }
        layers.push({
          kind: op === "MaxPool" ? "maxpool" : "avgpool",
          node: label,
          C,
          inH: H,
          inW: W,
          k,
          stride,
          ...(pad > 0 ? { pad } : {}),
        });
        open = undefined;
        shape = [1, C, outputSide(H, k, stride, pad), outputSide(W, k, stride, pad)];
        break;
      }
      case "Flatten": {
        const rank = shape.length;
        let axis = int("axis", 1);
        if (axis < 0) axis += rank;
        if (axis < 0 || axis > rank) fail(`${where} has axis ${axis} out of range for rank ${rank}`);
        const outer = product(shape.slice(0, axis));
        if (outer !== 1) fail(`${where} would give a batch of ${outer}; only batch size 1 is supported`);
        shape = [1, product(shape.slice(axis))];
        break;
      }
      case "Reshape": {
        if (int("allowzero", 0) !== 0) fail(`${where} has allowzero=1, which is not supported`);
        const target = node.input[1] ? constants.get(node.input[1]) : undefined;
        if (!target || target.dataType !== DataType.INT64) {
          fail(`${where} needs a constant int64 shape; re-export with a fixed shape`);
        }
        const next = reshapeTarget(shape, Array.from(target!.values), where, fail);
        if (!(next.length === 1 || ((next.length === 2 || next.length === 4) && next[0] === 1))) {
          fail(`${where} reshapes to [${next.join(", ")}]; only [N], [1, N] or [1, C, H, W] are supported`);
        }
        shape = next;
        break;
      }
      case "Sub":
      case "Div":
      case "Mul": {
        if (!firstLayer)
          fail(`${where}: ${op} by a constant is supported only as the input normalisation, before the first layer`);
        addNormalisation(op as "Sub" | "Div" | "Mul", inputs[1]);
        break;
      }
      case "Pad": {
        const mode = attrs.get("mode")?.s ? new TextDecoder().decode(attrs.get("mode")!.s) : "constant";
        if (mode !== "constant") fail(`${where} has mode=${mode}; only constant (zero) padding is supported`);
        const padsTensor = node.input[1] ? constants.get(node.input[1]) : undefined;
        if (node.input[1] && (!padsTensor || padsTensor.dataType !== DataType.INT64))
          fail(`${where} needs constant int64 pads; re-export with fixed padding`);
        const pads = padsTensor ? Array.from(padsTensor.values) : (ints("pads") ?? []);
        const valueTensor = node.input[2] ? constants.get(node.input[2]) : undefined;
        if (node.input[2] && !valueTensor) fail(`${where} needs a constant padding value`);
        const value = valueTensor ? (valueTensor.values[0] ?? 0) : float("value", 0);
        if (value !== 0) fail(`${where} pads with ${value}; only zero padding is supported`);
        const rank = shape.length;
        if (pads.length !== 2 * rank) fail(`${where} has ${pads.length} pads for a rank-${rank} tensor`);
        const spatial = rank === 4 ? [pads[2], pads[3], pads[6], pads[7]] : [];
        const other = rank === 4 ? [pads[0], pads[1], pads[4], pads[5]] : pads;
        if (other.some((p) => p !== 0)) fail(`${where} pads [${pads.join(", ")}]: only the H and W axes may be padded`);
        if (spatial.some((p) => p !== spatial[0]) || (spatial[0] ?? 0) < 0)
          fail(`${where} pads [${pads.join(", ")}]; only the same padding on every side of H and W is supported`);
        // PyTorch writes a Pad before every AveragePool, padding nothing when the pool does not pad.
        if ((spatial[0] ?? 0) > 0) pendingPad = { pad: spatial[0]!, where };
        break;
      }
      case "Softmax":
      case "LogSoftmax":
      case "Sigmoid": {
        if (op !== "Sigmoid") {
          let axis = int("axis", -1);
          if (axis < 0) axis += shape.length;
          if (axis !== shape.length - 1 || product(shape) !== shape[axis])
            fail(
              `${where} has axis ${int("axis", -1)} on [${shape.join(", ")}]; only the class axis of [1, N] is supported`,
            );
        }
        final = { op: op as (typeof FINAL_ACTIVATIONS)[number], node: label };
        open = undefined;
        break;
      }
      case "Transpose": {
        const rank = shape.length;
        const perm = ints("perm") ?? Array.from({ length: rank }, (_, d) => rank - 1 - d);
        if (perm.length !== rank || [...perm].sort((a, b) => a - b).some((v, d) => v !== d))
          fail(`${where} has perm [${perm.join(", ")}] for a rank-${rank} tensor`);
        if (rank >= 2 && perm[0] !== 0) fail(`${where} moves the batch axis; only the other axes may be permuted`);
        const next = perm.map((d) => shape[d]!);
        // Strides of the input; for each element of the output (row-major), its input index.
        const stride = shape.map((_, d) => product(shape.slice(d + 1)));
        const n = product(shape);
        const order = new Int32Array(n);
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
        transposed = { order, where: transposed?.where ?? where };
        shape = next;
        break;
      }
      case "Squeeze":
      case "Unsqueeze": {
        const axesTensor = node.input[1] ? constants.get(node.input[1]) : undefined;
        if (node.input[1] && (!axesTensor || axesTensor.dataType !== DataType.INT64))
          fail(`${where} needs constant int64 axes; re-export with fixed shapes`);
        const given = axesTensor ? Array.from(axesTensor.values) : ints("axes");
        let next: number[];
        if (op === "Squeeze") {
          const axes = (given ?? shape.flatMap((d, i) => (d === 1 ? [i] : []))).map((a) =>
            a < 0 ? a + shape.length : a,
          );
          if (axes.some((a) => shape[a] !== 1))
            fail(`${where} squeezes an axis of [${shape.join(", ")}] that is not 1`);
          next = shape.filter((_, i) => !axes.includes(i));
        } else {
          if (!given) fail(`${where} needs its axes`);
          const rank = shape.length + given!.length;
          const axes = given!.map((a) => (a < 0 ? a + rank : a));
          next = [];
          for (let i = 0, j = 0; i < rank; i++) next.push(axes.includes(i) ? 1 : shape[j++]!);
        }
        // Element order never changes; the batch must stay 1 and the layers read the same shapes as Reshape's.
        if (!(next.length === 1 || ((next.length === 2 || next.length === 4) && next[0] === 1))) {
          fail(`${where} gives [${next.join(", ")}]; only [N], [1, N] or [1, C, H, W] are supported`);
        }
        shape = next;
        break;
      }
      case "Identity":
      case "Dropout": {
        if (node.output.length > 1 && node.output[1]) {
          fail(`${where} has its mask output "${node.output[1]}" used; only the data output is supported`);
        }
        break;
      }
    }
    tensor = out!;
  });

  if (!layers.some((l) => l.kind === "conv" || l.kind === "dense")) {
    fail("the graph has no Conv, Gemm or MatMul layer");
  }
  if (pendingPad)
    fail(`${pendingPad.where} pads by ${pendingPad.pad} at the end of the model; nothing follows to fold it into`);
  if (transposed) fail(`${transposed.where} has no Gemm or MatMul after it to fold into`);
  if (tensor !== output.name) {
    fail(`the graph output "${output.name}" is not the end of the layer chain ("${tensor}")`);
  }
  const outputSize = product(shape);
  if (declaredOutputShape && product(declaredOutputShape) !== outputSize) {
    fail(
      `graph output "${output.name}" is declared [${declaredOutputShape.join(", ")}] ` +
        `but the layer chain gives [${shape.join(", ")}]`,
    );
  }
  return {
    name,
    inputShape: onnxInputShape.length >= 2 ? onnxInputShape.slice(1) : onnxInputShape,
    onnxInputShape,
    layers,
    outputSize,
    ...(final ? { finalActivation: final } : {}),
  };
}

function normalizeNode(n: OnnxTypes.INodeProto): Node {
  return {
    name: n.name ?? "",
    opType: n.opType ?? "",
    domain: n.domain ?? "",
    input: n.input ?? [],
    output: n.output ?? [],
    attribute: (n.attribute ?? []).map((a) => ({
      name: a.name ?? "",
      f: a.f ?? 0,
      i: (a.i as Int64 | null | undefined) ?? 0,
      ints: (a.ints as Int64[] | null | undefined) ?? [],
      s: a.s ?? undefined,
      t: a.t,
    })),
  };
}

// ---------------------------------------------------------------------------------------------
// Export

/**
 * Serializes a FloatGraph as ONNX: input "input" [1, ...inputShape] float32, one node per layer
 * (Conv with explicit kernel_shape, strides and pads; Gemm with transB = 1; a Flatten before
 * the first Gemm that follows an image), output "logits". Weights are stored as float32.
 */
export function graphToOnnx(graph: FloatGraph, options: { docString?: string } = {}): Uint8Array {
  const nodes: OnnxTypes.NodeProto[] = [];
  const initializers: OnnxTypes.TensorProto[] = [];
  const intsAttr = (name: string, v: number[]) =>
    onnx.AttributeProto.create({ name, type: AttributeType.INTS, ints: v });
  let current = "input";
  let rank = graph.inputShape.length + 1;
  graph.layers.forEach((layer, i) => {
    const outName = i === graph.layers.length - 1 ? "logits" : `t${i}`;
    const node = (opType: string, input: string[], attribute: OnnxTypes.AttributeProto[] = []) =>
      nodes.push(onnx.NodeProto.create({ name: `${layer.node}`, opType, input, output: [outName], attribute }));
    switch (layer.kind) {
      case "conv": {
        const w = `${layer.node}.weight`;
        const b = `${layer.node}.bias`;
        initializers.push(floatTensor(w, [layer.outC, layer.inC, layer.k, layer.k], layer.weight));
        initializers.push(floatTensor(b, [layer.outC], layer.bias));
        node(
          "Conv",
          [current, w, b],
          [
            intsAttr("kernel_shape", [layer.k, layer.k]),
            intsAttr("strides", [layer.stride, layer.stride]),
            intsAttr("pads", [layer.pad, layer.pad, layer.pad, layer.pad]),
          ],
        );
        break;
      }
      case "dense": {
        if (rank !== 2) {
          nodes.push(
            onnx.NodeProto.create({
              name: `${layer.node}.flatten`,
              opType: "Flatten",
              input: [current],
              output: [`${current}.flat`],
              attribute: [onnx.AttributeProto.create({ name: "axis", type: AttributeType.INT, i: 1 })],
            }),
          );
          current = `${current}.flat`;
          rank = 2;
        }
        const w = `${layer.node}.weight`;
        const b = `${layer.node}.bias`;
        initializers.push(floatTensor(w, [layer.nOut, layer.nIn], layer.weight));
        initializers.push(floatTensor(b, [layer.nOut], layer.bias));
        node("Gemm", [current, w, b], [onnx.AttributeProto.create({ name: "transB", type: AttributeType.INT, i: 1 })]);
        break;
      }
      case "relu":
        node("Relu", [current]);
        break;
      case "maxpool":
      case "avgpool":
        node(
          layer.kind === "maxpool" ? "MaxPool" : "AveragePool",
          [current],
          [
            intsAttr("kernel_shape", [layer.k, layer.k]),
            intsAttr("strides", [layer.stride, layer.stride]),
            ...(layer.pad
              ? [
                  intsAttr("pads", [layer.pad, layer.pad, layer.pad, layer.pad]),
                  ...(layer.kind === "avgpool"
                    ? [onnx.AttributeProto.create({ name: "count_include_pad", type: AttributeType.INT, i: 1 })]
                    : []),
                ]
              : []),
          ],
        );
        break;
    }
    current = outName;
  });
  const proto = onnx.ModelProto.create({
    irVersion: ONNX_IR_VERSION,
    producerName: "poi",
    docString: options.docString ?? "",
    opsetImport: [onnx.OperatorSetIdProto.create({ domain: "", version: ONNX_OPSET })],
    graph: onnx.GraphProto.create({
      name: graph.name,
      node: nodes,
      initializer: initializers,
      input: [floatValueInfo("input", [1, ...graph.inputShape])],
      output: [floatValueInfo("logits", [1, graph.outputSize])],
    }),
  });
  return onnx.ModelProto.encode(proto).finish();
}
