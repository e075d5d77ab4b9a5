import { expect } from "chai";
import { onnxLogits } from "../../scripts/compiler/float-reference.ts";
import { applyFinalActivation, graphForward, type FloatGraph } from "../../scripts/model/graph.ts";
import { toFloatInput, type Digit } from "../../scripts/model/mnist.ts";

/**
 * Expects the imported float graph to compute what onnxruntime computes on the file, within
 * 1e-4 on every output (after the model's final activation, if it has one).
 */
export async function expectGraphMatchesOnnxruntime(graph: FloatGraph, onnxFile: string | Uint8Array, digits: Digit[]) {
  const ort = await onnxLogits(
    onnxFile,
    graph.onnxInputShape,
    digits.map((d) => d.pixels),
  );
  digits.forEach((d, i) => {
    const logits = graphForward(graph, toFloatInput(d.pixels));
    const ours = graph.finalActivation ? applyFinalActivation(graph.finalActivation.op, logits) : logits;
    ours.forEach((v, c) => expect(Math.abs(v - ort[i]![c]!), `digit ${i}, output ${c}`).to.be.below(1e-4));
  });
}
