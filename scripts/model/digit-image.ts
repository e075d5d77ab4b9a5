/**
 * A digit image as the models read it, with no Node dependency (the web app bundles it): the
 * 14x14 size, the 28x28-to-14x14 downsampling and the float input of each pixel byte.
 * scripts/model/mnist.ts, which reads the `mnist` package, re-exports them.
 */

/** Side length of the downsampled image. */
export const IMAGE_SIDE = 14;
/** Number of pixels the model reads. */
export const IMAGE_SIZE = IMAGE_SIDE * IMAGE_SIDE;

const RAW_SIDE = 28;

/**
 * 28x28 floats in [0,1] to 14x14 bytes: each output pixel is the mean of a 2x2 block,
 * p = round(255 * (a + b + c + d) / 4), clamped to 0..255.
 */
export function downsample14(raw28: ArrayLike<number>): Uint8Array {
  if (raw28.length !== RAW_SIDE * RAW_SIDE) {
    throw new Error(`expected a 28x28 image (784 values), got ${raw28.length} values`);
  }
  const out = new Uint8Array(IMAGE_SIZE);
  for (let r = 0; r < IMAGE_SIDE; r++) {
    for (let c = 0; c < IMAGE_SIDE; c++) {
      const top = 2 * r * RAW_SIDE + 2 * c;
      const sum = raw28[top]! + raw28[top + 1]! + raw28[top + RAW_SIDE]! + raw28[top + RAW_SIDE + 1]!;
      const p = Math.round((255 * sum) / 4);
      out[r * IMAGE_SIDE + c] = Math.min(255, Math.max(0, p));
    }
  }
  return out;
}

/**
 * The float model's input for each pixel byte p: p / inputDivisor. The reference models use
 * 256 (the default here): dividing by a power of two makes the value exactly representable in
 * float32, and a fixed-point circuit that takes the raw byte p with 8 fractional bits sees the
 * very same number. Other divisors (poi compile declares 255 by default) are folded into the
 * first layer's weights by the quantizer.
 */
export function toFloatInput(pixels: ArrayLike<number>, inputDivisor = 256): Float32Array {
  const x = new Float32Array(pixels.length);
  for (let i = 0; i < pixels.length; i++) x[i] = pixels[i]! / inputDivisor;
  return x;
}
