// Copies the static files next to tsc's output, so ui/dist is the whole panel.
import { copyFileSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
mkdirSync(join(here, "dist"), { recursive: true });
for (const file of ["index.html", "style.css"]) {
  copyFileSync(join(here, file), join(here, "dist", file));
}
