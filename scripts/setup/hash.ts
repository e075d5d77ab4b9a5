import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";

/** Streams a file through a hash (files here reach hundreds of MB). */
export function hashFile(path: string, algorithm: "sha256" | "blake2b512"): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash(algorithm);
    createReadStream(path)
      .on("error", reject)
      .on("data", (chunk) => h.update(chunk))
      .on("end", () => resolve(h.digest("hex")));
  });
}

export const sha256File = (path: string): Promise<string> => hashFile(path, "sha256");
