/**
 * ONNX import and export for the float MLP format (float-model.ts).
 *
 * The importer is the trust boundary between a model file someone hands us and the circuit
 * generator: whatever it accepts is turned into constraints, so it accepts only graphs whose
 * meaning it fully understands (a sequential chain of dense layers with ReLU, plus reshapes
 * and no-ops at batch size 1) and rejects everything else with a message naming the node, the
 * operator and what to change, rather than guessing.
 */
import onnxProto from "onnx-proto";
import type { onnx as OnnxTypes } from "onnx-proto";
import type { DenseLayer, FloatMlp } from "./float-model.ts";

const { onnx } = onnxProto;

/** IR version and opset we write; onnxruntime and PyTorch exporters both read them. */
export const ONNX_IR_VERSION = 8;
export const ONNX_OPSET = 13;

const SUPPORTED_OPS = [
  "Gemm",
  "MatMul",
  "Add",
  "Relu",
  "Flatten",
  "Reshape",
  "Identity",
  "Dropout",
  "Constant",
] as const;
type SupportedOp = (typeof SUPPORTED_OPS)[number];

/** Attributes each operator may carry; any other attribute changes semantics we do not model. */
const ALLOWED_ATTRIBUTES: Record<SupportedOp, readonly string[]> = {
  Gemm: ["alpha", "beta", "transA", "transB"],
  MatMul: [],
  Add: [],
  Relu: [],
  Flatten: ["axis"],
  Reshape: ["allowzero"],
  Identity: [],
  // The seed only matters in training mode, which inference never uses.
  Dropout: ["seed", "ratio", "is_test"],
  Constant: ["value"],
};

const { DataType } = onnx.TensorProto;
const { AttributeType } = onnx.AttributeProto;

/** protobufjs decodes int64 fields as numbers or Long objects. */
type Int64 = number | { toNumber(): number };

export function int64ToNumber(v: Int64): number {
  const n = typeof v === "number" ? v : v.toNumber();
  if (!Number.isSafeInteger(n)) throw new Error(`integer ${String(v)} is out of range`);
  return n;
}

// ---------------------------------------------------------------------------------------------
// Export

export interface MlpToOnnxOptions {
  /** Stored as the model's doc_string, e.g. the command that generated the file. */
  docString?: string;
}

/**
 * Serializes a FloatMlp as an ONNX ModelProto: input "input" [1, inputSize] float32, one Gemm
 * (transB = 1, weight [nOut, nIn] as PyTorch exports it) per layer, a Relu after hidden layers
 * and output "logits" [1, nOut]. Weights are stored as float32, so a model whose weights are
 * not float32-representable is rounded; train-mlp.ts rounds before exporting so that the
 * in-memory model and the file agree exactly.
 */
export function mlpToOnnx(model: FloatMlp, options: MlpToOnnxOptions = {}): Uint8Array {
  if (model.layers.length === 0) throw new Error(`model "${model.name}" has no layers`);
  const nodes: OnnxTypes.NodeProto[] = [];
  const initializers: OnnxTypes.TensorProto[] = [];
  let current = "input";
  let width = model.inputSize;
  model.layers.forEach((layer, i) => {
    if (layer.nIn !== width) {
      throw new Error(`model "${model.name}": layer ${i} takes ${layer.nIn} inputs but receives ${width}`);
    }
    const isLast = i === model.layers.length - 1;
    const weightName = `layer${i}.weight`;
    const biasName = `layer${i}.bias`;
    initializers.push(floatTensor(weightName, [layer.nOut, layer.nIn], layer.weight));
    initializers.push(floatTensor(biasName, [layer.nOut], layer.bias));
    const gemmOut = isLast && !layer.relu ? "logits" : `layer${i}.gemm`;
    nodes.push(
      onnx.NodeProto.create({
        name: `gemm${i}`,
        opType: "Gemm",
        input: [current, weightName, biasName],
        output: [gemmOut],
        attribute: [onnx.AttributeProto.create({ name: "transB", type: AttributeType.INT, i: 1 })],
      }),
    );
    current = gemmOut;
    if (layer.relu) {
      const reluOut = isLast ? "logits" : `layer${i}.relu`;
      nodes.push(
        onnx.NodeProto.create({
          name: `relu${i}`,
          opType: "Relu",
          input: [current],
          output: [reluOut],
        }),
      );
      current = reluOut;
    }
    width = layer.nOut;
  });

  const graph = onnx.GraphProto.create({
    name: model.name,
    node: nodes,
    initializer: initializers,
    input: [floatValueInfo("input", [1, model.inputSize])],
    output: [floatValueInfo("logits", [1, width])],
  });
  const proto = onnx.ModelProto.create({
    irVersion: ONNX_IR_VERSION,
    producerName: "poi",
    docString: options.docString ?? "",
    opsetImport: [onnx.OperatorSetIdProto.create({ domain: "", version: ONNX_OPSET })],
    graph,
  });
  return onnx.ModelProto.encode(proto).finish();
}

export function floatTensor(name: string, dims: number[], values: ArrayLike<number>) {
  // raw_data is little-endian by the ONNX spec; DataView makes that explicit on any host.
  const raw = new Uint8Array(values.length * 4);
  const view = new DataView(raw.buffer);
  for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i]!, true);
  return onnx.TensorProto.create({ name, dims, dataType: DataType.FLOAT, rawData: raw });
}

export function floatValueInfo(name: string, dims: number[]) {
  return onnx.ValueInfoProto.create({
    name,
    type: onnx.TypeProto.create({
      tensorType: onnx.TypeProto.Tensor.create({
        elemType: DataType.FLOAT,
        shape: onnx.TensorShapeProto.create({
          dim: dims.map((d) => onnx.TensorShapeProto.Dimension.create({ dimValue: d })),
        }),
      }),
    }),
  });
}

// ---------------------------------------------------------------------------------------------
// Import

export interface Tensor {
  name: string;
  dims: number[];
  dataType: number;
  values: Float64Array;
}

/** What flows along the chain: the tensor's name and static shape, and the open dense layer. */
interface ChainState {
  tensor: string;
  shape: number[];
  /** The layer whose affine output is `tensor`, if a bias Add or a Relu may still attach to it. */
  openLayer: DenseLayer | undefined;
}

/**
 * Parses an ONNX model into a FloatMlp. `name` names the model in error messages (use the file
 * name) and becomes the model's name. Throws `"<name>" is not a valid ONNX model: ...` for bytes
 * that are not a ModelProto, and a message naming the node and operator for anything outside
 * the supported subset.
 */
export function onnxToMlp(bytes: Uint8Array, name: string): FloatMlp {
  const model = decodeModel(bytes, name);
  const graph = normalizeGraph(model.graph!);
  const fail = (message: string): never => {
    throw new Error(`"${name}": ${message}`);
  };

  const constants = new Map<string, Tensor>();
  for (const t of graph.initializer) {
    const tensor = readTensor(t, fail);
    constants.set(tensor.name, tensor);
  }

  // Older PyTorch exports also list every initializer as a graph input; those are weights.
  const dataInputs = graph.input.filter((v) => !constants.has(v.name));
  if (dataInputs.length !== 1) {
    fail(
      `expected exactly one graph input besides the initializers, found ${dataInputs.length}` +
        (dataInputs.length ? ` (${dataInputs.map((v) => `"${v.name}"`).join(", ")})` : ""),
    );
  }
  const input = dataInputs[0]!;
  const inputShape = staticShape(input, "graph input", fail);
  if (inputShape.length >= 2 && inputShape[0] !== 1) {
    fail(
      `graph input "${input.name}" has batch size ${inputShape[0]}; ` +
        "re-export with batch size 1 (one digit per proof)",
    );
  }
  if (graph.output.length !== 1) {
    fail(`expected exactly one graph output, found ${graph.output.length}`);
  }
  const output = graph.output[0]!;
  const declaredOutputShape = output.type?.tensorType?.shape ? staticShape(output, "graph output", fail) : undefined;

  const inputSize = product(inputShape.length >= 2 ? inputShape.slice(1) : inputShape);
  const layers: DenseLayer[] = [];
  let state: ChainState = { tensor: input.name, shape: inputShape, openLayer: undefined };

  graph.node.forEach((node, index) => {
    const op = node.opType;
    const at = `at node "${node.name || `#${index}`}"`;
    const where = `${op} node "${node.name || `#${index}`}"`;
    if (node.domain && node.domain !== "ai.onnx") {
      fail(`unsupported operator domain "${node.domain}" for "${op}" ${at}`);
    }
    if (!(SUPPORTED_OPS as readonly string[]).includes(op)) {
      fail(`unsupported operator "${op}" ${at} (supported: ${SUPPORTED_OPS.join(", ")})`);
    }
    const attrs = readAttributes(node, op as SupportedOp, where, fail);
    const nodeCtx: NodeCtx = { where, constants, fail };

    if (op === "Constant") {
      const value = attrs.get("value");
      if (!value?.t || node.output.length !== 1) {
        fail(`${where} must have a tensor "value" attribute and one output`);
      }
      const tensor = readTensor(value!.t!, fail);
      constants.set(node.output[0]!, { ...tensor, name: node.output[0]! });
      return;
    }

    // Every other node must consume the tensor the previous node produced: only sequential
    // chains have a meaning we can prove, so a branch or a skip connection is refused.
    // Add is commutative and exporters write the bias on either side; put the data first.
    const inputs = op === "Add" && node.input[1] === state.tensor ? [...node.input].reverse() : node.input;
    const dataInput = inputs[0];
    if (dataInput !== state.tensor) {
      fail(
        `${where} reads "${dataInput ?? ""}" instead of "${state.tensor}"; ` +
          "only a sequential chain of layers is supported",
      );
    }
    const out = node.output[0];
    if (!out) fail(`${where} has no output`);

    switch (op as Exclude<SupportedOp, "Constant">) {
      case "Gemm": {
        const alpha = floatAttr(attrs, "alpha", 1);
        const beta = floatAttr(attrs, "beta", 1);
        const transA = intAttr(attrs, "transA", 0);
        const transB = intAttr(attrs, "transB", 0);
        if (alpha !== 1) fail(`${where} has alpha=${alpha}; only alpha=1 is supported`);
        if (beta !== 1) fail(`${where} has beta=${beta}; only beta=1 is supported`);
        if (transA !== 0) fail(`${where} has transA=${transA}; only transA=0 is supported`);
        if (transB !== 0 && transB !== 1) fail(`${where} has transB=${transB}; expected 0 or 1`);
        if (state.shape.length !== 2 || state.shape[0] !== 1) {
          fail(`${where} needs a [1, N] input, got [${state.shape.join(", ")}]; add a Flatten`);
        }
        const nIn = state.shape[1]!;
        const w = requireWeight(nodeCtx, node.input[1], "weight B");
        const nOut = checkMatrix(nodeCtx, w, nIn, transB === 1);
        const weight = transB === 1 ? w.values : transpose(w.values, nIn, nOut);
        const bias = new Float64Array(nOut);
        if (node.input[2]) addBias(nodeCtx, bias, requireWeight(nodeCtx, node.input[2], "bias C"));
        const layer: DenseLayer = { kind: "dense", nIn, nOut, weight, bias, relu: false };
        layers.push(layer);
        state = { tensor: out!, shape: [1, nOut], openLayer: layer };
        break;
      }
      case "MatMul": {
        if (state.shape.length < 1 || state.shape.length > 2 || product(state.shape) !== last(state.shape)) {
          fail(`${where} needs a [1, N] or [N] input, got [${state.shape.join(", ")}]; add a Flatten`);
        }
        const nIn = last(state.shape);
        // MatMul computes x W with W stored [nIn, nOut], the transpose of our row layout.
        const w = requireWeight(nodeCtx, node.input[1], "weight B");
        const nOut = checkMatrix(nodeCtx, w, nIn, false);
        const layer: DenseLayer = {
          kind: "dense",
          nIn,
          nOut,
          weight: transpose(w.values, nIn, nOut),
          bias: new Float64Array(nOut),
          relu: false,
        };
        layers.push(layer);
        state = { tensor: out!, shape: [...state.shape.slice(0, -1), nOut], openLayer: layer };
        break;
      }
      case "Add": {
        // Only a bias add is meaningful here: x + b right after a MatMul or Gemm.
        if (!state.openLayer || state.openLayer.relu) {
          fail(`${where} must directly follow a MatMul or Gemm (only bias additions are supported)`);
        }
        addBias(nodeCtx, state.openLayer!.bias, requireWeight(nodeCtx, inputs[1], "bias"));
        state = { ...state, tensor: out! };
        break;
      }
      case "Relu": {
        // A Relu on the raw input would need its own layer kind; pixels are non-negative anyway.
        if (!state.openLayer) fail(`${where} must follow a MatMul or Gemm`);
        state.openLayer!.relu = true;
        state = { ...state, tensor: out! };
        break;
      }
      case "Flatten": {
        const rank = state.shape.length;
        let axis = intAttr(attrs, "axis", 1);
        if (axis < 0) axis += rank;
        if (axis < 0 || axis > rank) fail(`${where} has axis ${axis} out of range for rank ${rank}`);
        const outer = product(state.shape.slice(0, axis));
        if (outer !== 1) fail(`${where} would give a batch of ${outer}; only batch size 1 is supported`);
        // Reshaping keeps element order, so a pending bias or Relu may still follow.
        const flat = [1, product(state.shape.slice(axis))];
        state = { tensor: out!, shape: flat, openLayer: state.openLayer };
        break;
      }
      case "Reshape": {
        if (intAttr(attrs, "allowzero", 0) !== 0) fail(`${where} has allowzero=1, which is not supported`);
        const target = node.input[1] ? constants.get(node.input[1]) : undefined;
        if (!target || target.dataType !== DataType.INT64) {
          fail(`${where} needs a constant int64 shape; re-export with a fixed shape`);
        }
        const shape = reshapeTarget(state.shape, Array.from(target!.values), where, fail);
        if (shape.length > 2 || (shape.length === 2 && shape[0] !== 1)) {
          fail(`${where} reshapes to [${shape.join(", ")}]; only [1, N] or [N] is supported`);
        }
        state = { tensor: out!, shape, openLayer: state.openLayer };
        break;
      }
      case "Identity":
      case "Dropout": {
        // Inference-mode no-ops; Dropout's optional mask output must not be consumed.
        if (node.output.length > 1 && node.output[1]) {
          fail(`${where} has its mask output "${node.output[1]}" used; only the data output is supported`);
        }
        state = { ...state, tensor: out! };
        break;
      }
    }
  });

  if (layers.length === 0) fail("the graph has no Gemm or MatMul layer");
  if (state.tensor !== output.name) {
    fail(`the graph output "${output.name}" is not the end of the layer chain ("${state.tensor}")`);
  }
  const nOut = layers[layers.length - 1]!.nOut;
  if (declaredOutputShape && product(declaredOutputShape) !== nOut) {
    fail(
      `graph output "${output.name}" is declared [${declaredOutputShape.join(", ")}] ` +
        `but the last layer has ${nOut} outputs`,
    );
  }
  if (layers[0]!.nIn !== inputSize) {
    fail(`the first layer takes ${layers[0]!.nIn} inputs but the graph input has ${inputSize}`);
  }
  return { name, inputSize, layers };
}

/** The parts of a graph the importer reads, with protobuf's optional fields made definite. */
interface Graph {
  node: Node[];
  initializer: OnnxTypes.ITensorProto[];
  input: ValueInfo[];
  output: ValueInfo[];
}

interface Node {
  name: string;
  opType: string;
  domain: string;
  input: string[];
  output: string[];
  attribute: Attribute[];
}

export interface ValueInfo {
  name: string;
  type: OnnxTypes.ITypeProto | null | undefined;
}

interface Attribute {
  name: string;
  f: number;
  i: Int64;
  t: OnnxTypes.ITensorProto | null | undefined;
}

function normalizeGraph(g: OnnxTypes.IGraphProto): Graph {
  const valueInfo = (v: OnnxTypes.IValueInfoProto): ValueInfo => ({
    name: v.name ?? "",
    type: v.type,
  });
  return {
    node: (g.node ?? []).map((n) => ({
      name: n.name ?? "",
      opType: n.opType ?? "",
      domain: n.domain ?? "",
      input: n.input ?? [],
      output: n.output ?? [],
      attribute: (n.attribute ?? []).map((a) => ({
        name: a.name ?? "",
        f: a.f ?? 0,
        i: a.i ?? 0,
        t: a.t,
      })),
    })),
    initializer: g.initializer ?? [],
    input: (g.input ?? []).map(valueInfo),
    output: (g.output ?? []).map(valueInfo),
  };
}

export function decodeModel(bytes: Uint8Array, name: string) {
  const invalid = (reason: string): never => {
    throw new Error(`"${name}" is not a valid ONNX model: ${reason}`);
  };
  if (bytes.length === 0) invalid("the file is empty");
  let model: OnnxTypes.ModelProto | undefined;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (err) {
    // protobufjs reports truncation as "index out of range"; say what it means for a file.
    const detail = err instanceof Error ? err.message : String(err);
    invalid(
      detail.startsWith("index out of range")
        ? `the file is truncated (protobuf: ${detail}); copy or download it again`
        : `the bytes are not an ONNX protobuf (${detail})`,
    );
  }
  // Protobuf is permissive: random bytes can decode into a message with stray fields, so
  // require the fields every real ONNX file has.
  if (!model!.irVersion || int64ToNumber(model!.irVersion) <= 0) invalid("missing ir_version");
  if (!model!.graph) invalid("missing graph");
  if (!model!.graph!.node?.length) invalid("the graph has no nodes");
  return model!;
}

export function readTensor(t: OnnxTypes.ITensorProto, fail: (m: string) => never): Tensor {
  const name = t.name ?? "";
  const dims = (t.dims ?? []).map((d) => int64ToNumber(d));
  if (dims.some((d) => d < 0)) fail(`tensor "${name}" has a negative dimension`);
  const count = product(dims);
  if (t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL) {
    fail(`tensor "${name}" is stored in an external file; re-export with the weights embedded`);
  }
  const dataType = t.dataType ?? 0;
  const raw = t.rawData && t.rawData.length > 0 ? t.rawData : undefined;
  const values = new Float64Array(count);
  const readRaw = (bytesPer: number, get: (view: DataView, offset: number) => number) => {
    if (raw!.length !== count * bytesPer) {
      fail(`tensor "${name}" has ${raw!.length} bytes of raw_data, expected ${count * bytesPer}`);
    }
    const view = new DataView(raw!.buffer, raw!.byteOffset, raw!.byteLength);
    for (let i = 0; i < count; i++) values[i] = get(view, i * bytesPer);
  };
  const readList = (list: ArrayLike<number | Int64> | null | undefined, field: string) => {
    const n = list?.length ?? 0;
    if (n !== count) fail(`tensor "${name}" has ${n} values in ${field}, expected ${count}`);
    for (let i = 0; i < count; i++) {
      const v = list![i]!;
      values[i] = typeof v === "number" ? v : int64ToNumber(v);
    }
  };
  switch (dataType) {
    case DataType.FLOAT:
      if (raw) readRaw(4, (v, o) => v.getFloat32(o, true));
      else readList(t.floatData, "float_data");
      break;
    case DataType.DOUBLE:
      if (raw) readRaw(8, (v, o) => v.getFloat64(o, true));
      else readList(t.doubleData, "double_data");
      break;
    case DataType.INT64:
      if (raw) readRaw(8, (v, o) => int64ToNumber(Number(v.getBigInt64(o, true))));
      else readList(t.int64Data, "int64_data");
      break;
    default:
      fail(
        `tensor "${name}" has data type ${DataType[dataType] ?? dataType}; ` +
          "only FLOAT and DOUBLE weights (and INT64 shapes) are supported",
      );
  }
  return { name, dims, dataType, values };
}

/** The static shape of a graph input or output; any symbolic or unknown dimension is refused. */
export function staticShape(v: ValueInfo, what: string, fail: (m: string) => never): number[] {
  const tensorType = v.type?.tensorType;
  if (!tensorType) fail(`${what} "${v.name}" is not a tensor`);
  if (tensorType!.elemType !== DataType.FLOAT) {
    fail(`${what} "${v.name}" has element type ${DataType[tensorType!.elemType ?? 0]}; expected FLOAT`);
  }
  const dims = tensorType!.shape?.dim;
  if (!dims || dims.length === 0) {
    fail(`${what} "${v.name}" has no static shape; re-export with a fixed shape such as [1, 196]`);
  }
  return dims!.map((d, axis) => {
    if (d.dimParam) {
      fail(
        `${what} "${v.name}" has dynamic dimension "${d.dimParam}" at axis ${axis}; ` +
          "re-export with a fixed shape (batch size 1, no dynamic_axes)",
      );
    }
    const n = d.dimValue == null ? 0 : int64ToNumber(d.dimValue);
    if (n <= 0) fail(`${what} "${v.name}" has unknown dimension at axis ${axis}; re-export with a fixed shape`);
    return n;
  });
}

function readAttributes(
  node: Node,
  op: SupportedOp,
  where: string,
  fail: (m: string) => never,
): Map<string, Attribute> {
  const attrs = new Map<string, Attribute>();
  for (const a of node.attribute) {
    if (!ALLOWED_ATTRIBUTES[op].includes(a.name)) {
      fail(`unsupported attribute "${a.name}" on ${where}`);
    }
    attrs.set(a.name, a);
  }
  return attrs;
}

function floatAttr(attrs: Map<string, Attribute>, name: string, fallback: number): number {
  const a = attrs.get(name);
  return a ? a.f : fallback;
}

function intAttr(attrs: Map<string, Attribute>, name: string, fallback: number): number {
  const a = attrs.get(name);
  return a ? int64ToNumber(a.i) : fallback;
}

export interface NodeCtx {
  where: string;
  constants: Map<string, Tensor>;
  fail: (m: string) => never;
}

/** A float initializer that a layer uses as weight or bias, checked to be finite. */
export function requireWeight(ctx: NodeCtx, tensorName: string | undefined, role: string): Tensor {
  const t = tensorName ? ctx.constants.get(tensorName) : undefined;
  if (!t) {
    ctx.fail(
      `${ctx.where}: ${role} "${tensorName ?? ""}" is not an initializer; ` + "only constant weights are supported",
    );
  }
  if (t!.dataType !== DataType.FLOAT && t!.dataType !== DataType.DOUBLE) {
    ctx.fail(`${ctx.where}: ${role} "${t!.name}" is not a float tensor`);
  }
  const bad = t!.values.findIndex((v) => !Number.isFinite(v));
  if (bad >= 0) {
    ctx.fail(`${ctx.where}: ${role} "${t!.name}" has ${t!.values[bad]} at index ${bad}; weights must be finite`);
  }
  return t!;
}

/** Checks a 2-D weight against the layer's input width and returns its output width. */
export function checkMatrix(ctx: NodeCtx, w: Tensor, nIn: number, transposed: boolean): number {
  const expected = transposed ? `[nOut, ${nIn}]` : `[${nIn}, nOut]`;
  const inAxis = transposed ? 1 : 0;
  if (w.dims.length !== 2 || w.dims[inAxis] !== nIn || w.dims[1 - inAxis]! <= 0) {
    ctx.fail(
      `${ctx.where}: weight "${w.name}" has shape [${w.dims.join(", ")}], expected ${expected} ` +
        `for an input of ${nIn} values`,
    );
  }
  return w.dims[1 - inAxis]!;
}

/** Adds a bias of shape [nOut], [1, nOut] or a broadcast scalar into `bias`. */
export function addBias(ctx: NodeCtx, bias: Float64Array, b: Tensor): void {
  const nOut = bias.length;
  const count = product(b.dims);
  const shapeOk =
    (count === nOut && b.dims.length <= 2 && (b.dims.length < 2 || b.dims[0] === 1)) ||
    (count === 1 && b.dims.length <= 2);
  if (!shapeOk) {
    ctx.fail(`${ctx.where}: bias "${b.name}" has shape [${b.dims.join(", ")}], expected [${nOut}]`);
  }
  for (let o = 0; o < nOut; o++) bias[o] = bias[o]! + b.values[count === 1 ? 0 : o]!;
}

export function reshapeTarget(from: number[], target: number[], where: string, fail: (m: string) => never): number[] {
  const shape = target.map((d, i) => (d === 0 ? (from[i] ?? fail(`${where}: 0 at axis ${i} has no source dim`)) : d));
  const inferred = shape.filter((d) => d === -1).length;
  if (inferred > 1 || shape.some((d) => d < -1)) fail(`${where} has an invalid target shape [${target.join(", ")}]`);
  const total = product(from);
  if (inferred === 1) {
    const known = product(shape.filter((d) => d !== -1));
    if (known === 0 || total % known !== 0) fail(`${where} cannot reshape ${total} values to [${target.join(", ")}]`);
    return shape.map((d) => (d === -1 ? total / known : d));
  }
  if (product(shape) !== total) fail(`${where} cannot reshape ${total} values to [${target.join(", ")}]`);
  return shape;
}

export function transpose(values: Float64Array, rows: number, cols: number): Float64Array {
  const out = new Float64Array(values.length);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) out[c * rows + r] = values[r * cols + c]!;
  }
  return out;
}

function product(dims: readonly number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}

function last(dims: readonly number[]): number {
  return dims[dims.length - 1]!;
}
