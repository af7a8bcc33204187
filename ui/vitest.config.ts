// Vitest runs the panel's pure logic (formatting, reducers, chart windows) in Node.
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: { include: ["ui/test/**/*.test.ts"], environment: "node" },
});
