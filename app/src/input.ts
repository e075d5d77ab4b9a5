/**
 * The request's input: a digit drawn on a canvas, brought to MNIST's form (its ink fitted into
 * 20x20 and centred by its centre of mass in 28x28, as the MNIST digits were made) and then
 * downsampled to the 14x14 bytes the model reads by the toolkit's own `downsample14`; or a
 * held-out digit, already in that form. Either way the page shows the bytes as they will be
 * committed.
 */
import { downsample14, IMAGE_SIDE } from "../../scripts/model/digit-image.ts";

const RAW = 28;
const BOX = 20;
/** Intensity below which a drawn pixel is background when finding the ink's bounding box. */
const INK = 0.05;

/** A canvas that takes strokes from a mouse, a pen or a finger. */
export class DrawPad {
  private readonly ctx: CanvasRenderingContext2D;
  private last: { x: number; y: number } | undefined;

  constructor(
    readonly canvas: HTMLCanvasElement,
    private readonly onStroke: () => void,
  ) {
    this.ctx = canvas.getContext("2d", { willReadFrequently: true })!;
    this.clear();
    canvas.addEventListener("pointerdown", (e) => {
      canvas.setPointerCapture(e.pointerId);
      this.last = this.at(e);
      this.line(this.last, this.last);
    });
    canvas.addEventListener("pointermove", (e) => {
      if (!this.last) return;
      const p = this.at(e);
      this.line(this.last, p);
      this.last = p;
    });
    const end = () => {
      if (!this.last) return;
      this.last = undefined;
      this.onStroke();
    };
    canvas.addEventListener("pointerup", end);
    canvas.addEventListener("pointercancel", end);
  }

  clear(): void {
    this.ctx.fillStyle = "#000";
    this.ctx.fillRect(0, 0, this.canvas.width, this.canvas.height);
  }

  private at(e: PointerEvent) {
    const r = this.canvas.getBoundingClientRect();
    return {
      x: ((e.clientX - r.left) * this.canvas.width) / r.width,
      y: ((e.clientY - r.top) * this.canvas.height) / r.height,
    };
  }

  private line(a: { x: number; y: number }, b: { x: number; y: number }) {
    const c = this.ctx;
    c.strokeStyle = "#fff";
    c.lineWidth = this.canvas.width / 12;
    c.lineCap = "round";
    c.lineJoin = "round";
    c.beginPath();
    c.moveTo(a.x, a.y);
    c.lineTo(b.x, b.y);
    c.stroke();
  }

  /** The drawing as 14x14 bytes, or undefined if nothing is drawn. */
  pixels(): Uint8Array | undefined {
    const { width, height } = this.canvas;
    const rgba = this.ctx.getImageData(0, 0, width, height).data;
    const ink = new Float64Array(width * height);
    for (let i = 0; i < ink.length; i++) ink[i] = rgba[4 * i] / 255;
    const raw = toMnist28(ink, width, height);
    return raw && downsample14(raw);
  }
}

/**
 * A drawing (intensities 0..1, row-major) in MNIST's 28x28 form: the ink's bounding box scaled
 * to fit 20x20 (aspect kept, each pixel the mean of the area it covers), placed so that its
 * centre of mass is at the centre. Undefined if there is no ink.
 */
export function toMnist28(ink: Float64Array, width: number, height: number): Float64Array | undefined {
  let top = height;
  let left = width;
  let bottom = -1;
  let right = -1;
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++)
      if (ink[y * width + x] > INK) {
        top = Math.min(top, y);
        bottom = Math.max(bottom, y);
        left = Math.min(left, x);
        right = Math.max(right, x);
      }
  if (bottom < 0) return undefined;
  const w = right - left + 1;
  const h = bottom - top + 1;
  const scale = BOX / Math.max(w, h);
  const tw = Math.max(1, Math.round(w * scale));
  const th = Math.max(1, Math.round(h * scale));
  const box = new Float64Array(tw * th);
  for (let ty = 0; ty < th; ty++)
    for (let tx = 0; tx < tw; tx++) {
      const y0 = top + Math.floor((ty * h) / th);
      const y1 = top + Math.max(Math.floor(((ty + 1) * h) / th), Math.floor((ty * h) / th) + 1);
      const x0 = left + Math.floor((tx * w) / tw);
      const x1 = left + Math.max(Math.floor(((tx + 1) * w) / tw), Math.floor((tx * w) / tw) + 1);
      let sum = 0;
      for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) sum += ink[y * width + x];
      box[ty * tw + tx] = sum / ((y1 - y0) * (x1 - x0));
    }
  let mass = 0;
  let cx = 0;
  let cy = 0;
  for (let y = 0; y < th; y++)
    for (let x = 0; x < tw; x++) {
      const v = box[y * tw + x];
      mass += v;
      cx += v * x;
      cy += v * y;
    }
  const dx = Math.min(RAW - tw, Math.max(0, Math.round(RAW / 2 - 0.5 - cx / mass)));
  const dy = Math.min(RAW - th, Math.max(0, Math.round(RAW / 2 - 0.5 - cy / mass)));
  const out = new Float64Array(RAW * RAW);
  for (let y = 0; y < th; y++) for (let x = 0; x < tw; x++) out[(y + dy) * RAW + x + dx] = box[y * tw + x];
  return out;
}

/** Paints 14x14 bytes on `canvas`, one square per pixel, and lists them in `table`. */
export function showPixels(canvas: HTMLCanvasElement, table: HTMLElement, pixels: Uint8Array): void {
  const ctx = canvas.getContext("2d")!;
  const cell = canvas.width / IMAGE_SIDE;
  for (let i = 0; i < pixels.length; i++) {
    const v = pixels[i];
    ctx.fillStyle = `rgb(${v},${v},${v})`;
    ctx.fillRect((i % IMAGE_SIDE) * cell, Math.floor(i / IMAGE_SIDE) * cell, cell, cell);
  }
  const rows: string[] = [];
  for (let r = 0; r < IMAGE_SIDE; r++)
    rows.push(
      Array.from(pixels.subarray(r * IMAGE_SIDE, (r + 1) * IMAGE_SIDE), (v) => String(v).padStart(3, " ")).join(" "),
    );
  table.textContent = rows.join("\n");
  table.dataset.bytes = Array.from(pixels).join(",");
}

export function decodeBase64(b64: string): Uint8Array {
  return Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
}
