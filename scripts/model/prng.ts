/**
 * A small seeded PRNG (mulberry32) used wherever training or tests need randomness.
 *
 * Math.random cannot be seeded, so anything built on it would give different weights on every
 * run. mulberry32 uses only 32-bit integer operations (Math.imul, shifts), which JavaScript
 * defines exactly, so a given seed yields the same stream on every machine and Node version.
 */
export class Prng {
  private _state: number;
  /** Second Box-Muller variate, kept so that normal() uses both outputs of each draw. */
  private _spareNormal: number | undefined;

  constructor(seed: number) {
    if (!Number.isInteger(seed)) {
      throw new Error(`PRNG seed must be an integer, got ${seed}`);
    }
    this._state = seed >>> 0;
  }

  /** Uniform float in [0, 1) with 32 bits of randomness. */
  next(): number {
    this._state = (this._state + 0x6d2b79f5) >>> 0;
    let t = this._state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Uniform integer in [0, n). */
  nextInt(n: number): number {
    return Math.floor(this.next() * n);
  }

  /**
   * Standard normal variate (Box-Muller). Math.log/sqrt/cos/sin are not bit-exact across JS
   * engines in theory, but V8 uses the same fdlibm port everywhere, so in practice Node on any
   * platform reproduces the same values.
   */
  normal(): number {
    if (this._spareNormal !== undefined) {
      const z = this._spareNormal;
      this._spareNormal = undefined;
      return z;
    }
    // 1 - next() lies in (0, 1], so the logarithm is finite.
    const u1 = 1 - this.next();
    const u2 = this.next();
    const r = Math.sqrt(-2 * Math.log(u1));
    this._spareNormal = r * Math.sin(2 * Math.PI * u2);
    return r * Math.cos(2 * Math.PI * u2);
  }

  /** Fisher-Yates shuffle in place; returns the same array for chaining. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.nextInt(i + 1);
      const tmp = items[i]!;
      items[i] = items[j]!;
      items[j] = tmp;
    }
    return items;
  }
}
