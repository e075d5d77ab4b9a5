/**
 * The page's stand-in for `node:module` (see vite.config.ts): scripts/model/mnist.ts creates a
 * `require` when it loads, and calls it only to read the `mnist` package, which the page never
 * does (the app server sends the held-out digits).
 */
export function createRequire(_url: string): (id: string) => never {
  return (id) => {
    throw new Error(`${id} is read by the app server, not in the page (GET /digits.json)`);
  };
}
