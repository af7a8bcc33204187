// Bundles the panel with esbuild into ui/dist: index.html plus content-hashed
// JS and CSS under assets/ (so the server can cache them for ever and
// index.html never). `node ui/build.mjs`; type checking is `tsc -p ui`.
import { build } from "esbuild";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const dist = join(here, "dist");
rmSync(dist, { recursive: true, force: true });
mkdirSync(dist, { recursive: true });

const result = await build({
  entryPoints: [join(here, "src", "main.tsx")],
  bundle: true,
  minify: true,
  format: "esm",
  target: "es2022",
  jsx: "automatic",
  jsxImportSource: "preact",
  outdir: join(dist, "assets"),
  entryNames: "[name]-[hash]",
  metafile: true,
  logLevel: "warning",
});

const outputs = Object.keys(result.metafile.outputs).map((p) => basename(p));
const js = outputs.find((f) => f.endsWith(".js"));
const css = outputs.find((f) => f.endsWith(".css"));
if (!js || !css) throw new Error(`esbuild produced ${outputs.join(", ")}: expected one .js and one .css`);

writeFileSync(join(dist, "index.html"), `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <meta name="color-scheme" content="light dark">
  <title>TokenBuddy</title>
  <link rel="stylesheet" href="assets/${css}">
  <script type="module" src="assets/${js}"></script>
</head>
<body><div id="app"></div></body>
</html>
`);
console.log(`ui/dist: index.html, assets/${js}, assets/${css}`);
