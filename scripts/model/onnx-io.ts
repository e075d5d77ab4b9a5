/**
 * Reading ONNX files, shared by the importer (onnx-import.ts): decoding a ModelProto with a
 * message a user can act on, float tensors and static shapes, and the checks every weight
 * passes (finite, the expected shape); and the float tensor and value-info builders the
 * exporter writes with.
 */
import onnxProto from "onnx-proto";
import type { onnx as OnnxTypes } from "onnx-proto";

const { onnx } = onnxProto;

/** IR version and opset we write; onnxruntime and PyTorch exporters both read them. */
export const ONNX_IR_VERSION = 8;
export const ONNX_OPSET = 13;

const { DataType } = onnx.TensorProto;

/** protobufjs decodes int64 fields as numbers or Long objects. */
type Int64 = number | { toNumber(): number };

export function int64ToNumber(v: Int64): number {
  const n = typeof v === "number" ? v : v.toNumber();
  if (!Number.isSafeInteger(n)) throw new Error(`integer ${String(v)} is out of range`);
  return n;
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
export interface ValueInfo {
  name: string;
  type: OnnxTypes.ITypeProto | null | undefined;
}

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
