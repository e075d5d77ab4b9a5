/**
 * ONNX import and export for sequential graphs (graph.ts). Each supported operator is a module
 * of ops/ (ops/registry.ts lists them) that checks its attributes and adds to or folds into the
 * layer chain; this file walks the nodes, checks what every node shares (domain, attributes,
 * a sequential chain, what may follow a pending Pad, Transpose or normalisation) and hands
 * each node to its module. Supported: Conv (with BatchNormalization
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
import { product, type FloatGraph } from "./graph.ts";
import {
  ONNX_IR_VERSION,
  ONNX_OPSET,
  decodeModel,
  floatTensor,
  floatValueInfo,
  int64ToNumber,
  readTensor,
  staticShape,
  type Tensor,
} from "./onnx-io.ts";
import type { Attribute, ImportContext, ImportState, Int64, OnnxNode, OnnxWriter } from "./ops/operator.ts";
import { GRAPH_OPS, layerOperator, ONNX_OPERATORS } from "./ops/registry.ts";

const { onnx } = onnxProto;
const { AttributeType } = onnx.AttributeProto;

export { GRAPH_OPS };

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

  // Shapes include the batch dimension (1) when the tensor has rank >= 2.
  let tensor = input.name;
  const state: ImportState = {
    layers: [],
    shape: onnxInputShape,
    tensors: new Map([[input.name, { layer: -1, shape: onnxInputShape }]]),
  };
  /** Outputs no later node changes (a folded BatchNormalization or bias would change a Conv's). */
  const FINAL_OUTPUTS: readonly string[] = ["relu", "clip", "maxpool", "avgpool", "transpose"];

  // Every unsupported node at once, so that one export round fixes them all.
  const unsupported = (g.node ?? []).flatMap((raw, index) => {
    const op = raw.opType ?? "";
    const inDomain = !raw.domain || raw.domain === "ai.onnx";
    if (inDomain && ONNX_OPERATORS.has(op)) return [];
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
    const operator = ONNX_OPERATORS.get(op);
    if (!operator) fail(`unsupported operator "${op}" ${at} (supported: ${GRAPH_OPS.join(", ")})`);
    const attrs = new Map<string, Attribute>();
    for (const a of node.attribute) {
      if (!operator!.attributes.includes(a.name)) fail(`unsupported attribute "${a.name}" on ${where}`);
      attrs.set(a.name, a);
    }
    const { final, pendingPad, transposed, normalise } = state;
    if (final) fail(`${where} follows ${final.op} node "${final.node}"; a ${final.op} may only end the model`);
    if (pendingPad && !operator!.takesPad)
      fail(
        `${pendingPad.where} pads by ${pendingPad.pad} before ${where}; a Pad is supported only right before ` +
          "a Conv, AveragePool or MaxPool, into which it is folded",
      );
    if (transposed && !operator!.keepsTranspose)
      fail(
        `${transposed.where} is followed by ${where}; a Transpose is supported only before a Conv or before a ` +
          "Flatten and a Gemm or MatMul, into whose weights it is folded",
      );
    const firstLayer = state.layers.length === 0 && !state.open;
    if (normalise && firstLayer && !operator!.keepsNormalisation)
      fail(
        `${normalise.where} normalises the input, and ${where} follows it; it must be followed by a Conv, Gemm or MatMul to fold into`,
      );
    const int = (attr: string, fallback: number) => {
      const a = attrs.get(attr);
      return a ? int64ToNumber(a.i) : fallback;
    };
    const ints = (attr: string): number[] | undefined => attrs.get(attr)?.ints.map((v) => int64ToNumber(v));
    const text = (attr: string, fallback: string) => {
      const s = attrs.get(attr)?.s;
      return s ? new TextDecoder().decode(s) : fallback;
    };
    // Only a sequential chain has a meaning we prove: every node reads what the previous produced.
    // Add and Mul are commutative and exporters put the constant on either side; put the data first.
    const inputs = operator!.commutative && node.input[1] === tensor ? [...node.input].reverse() : node.input;
    const ctx: ImportContext = {
      node,
      op,
      label,
      where,
      constants,
      fail,
      inputs,
      state,
      firstLayer,
      attribute: (attr) => attrs.get(attr),
      int,
      ints,
      float: (attr, fallback) => attrs.get(attr)?.f ?? fallback,
      text,
      needImage: () => {
        const shape = state.shape;
        if (shape.length !== 4) fail(`${where} needs a [1, C, H, W] input, got [${shape.join(", ")}]`);
        return { C: shape[1]!, H: shape[2]!, W: shape[3]! };
      },
      checkAutoPad: () => {
        const mode = text("auto_pad", "NOTSET");
        if (mode !== "NOTSET" && mode !== "VALID") {
          fail(`${where} has auto_pad=${mode}; re-export with explicit pads (auto_pad NOTSET)`);
        }
      },
      squareKernel: (declared, fallback) => {
        const k = declared ?? fallback;
        if (!k || k.length !== 2 || k[0] !== k[1]) {
          fail(`${where} has kernel_shape [${(k ?? []).join(", ")}]; only square 2-D kernels are supported`);
        }
        return k![0]!;
      },
      equalStrides: () => {
        const s = ints("strides") ?? [1, 1];
        if (s.length !== 2 || s[0] !== s[1] || s[0]! < 1) {
          fail(`${where} has strides [${s.join(", ")}]; only equal strides along both axes are supported`);
        }
        return s[0]!;
      },
    };
    if (operator!.offChain) {
      operator!.import(ctx);
      return;
    }
    if (inputs[0] !== tensor) {
      fail(
        `${where} reads "${inputs[0] ?? ""}" instead of "${tensor}"; only a sequential chain of layers is supported`,
      );
    }
    const out = node.output[0];
    if (!out) fail(`${where} has no output`);
    operator!.import(ctx);
    tensor = out!;
    const last = state.layers.length - 1;
    const settled = !state.open && !state.pendingPad && !state.normalise && !state.transposed && !state.final;
    if (settled && (last < 0 || FINAL_OUTPUTS.includes(state.layers[last]!.kind)))
      state.tensors.set(tensor, { layer: last, shape: state.shape });
  });

  const { layers, shape, pendingPad, transposed, final } = state;
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

function normalizeNode(n: OnnxTypes.INodeProto): OnnxNode {
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
 * Serializes a FloatGraph as ONNX: input "input" [1, ...inputShape] float32, the nodes each
 * layer's module writes (Conv with explicit kernel_shape, strides and pads; Gemm with
 * transB = 1 and a Flatten before the first Gemm that follows an image; ...), output "logits".
 * Weights are stored as float32.
 */
export function graphToOnnx(graph: FloatGraph, options: { docString?: string } = {}): Uint8Array {
  const nodes: OnnxTypes.NodeProto[] = [];
  const initializers: OnnxTypes.TensorProto[] = [];
  let current = "input";
  let rank = graph.inputShape.length + 1;
  graph.layers.forEach((layer, i) => {
    const outName = i === graph.layers.length - 1 ? "logits" : `t${i}`;
    const toOnnx = layerOperator(layer.kind).toOnnx;
    if (!toOnnx) throw new Error(`layer "${layer.node}" (${layer.kind}) has no ONNX export`);
    const writer: OnnxWriter = {
      current,
      rank,
      output: outName,
      node: (opType, input, attribute = [], name = layer.node, output = outName) =>
        nodes.push(onnx.NodeProto.create({ name, opType, input, output: [output], attribute })),
      floatInitializer: (name, dims, values) => initializers.push(floatTensor(name, dims, values)),
      ints: (name, v) => onnx.AttributeProto.create({ name, type: AttributeType.INTS, ints: v }),
      int: (name, v) => onnx.AttributeProto.create({ name, type: AttributeType.INT, i: v }),
      float: (name, v) => onnx.AttributeProto.create({ name, type: AttributeType.FLOAT, f: v }),
    };
    toOnnx(layer, writer);
    rank = writer.rank;
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
