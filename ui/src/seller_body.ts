// The body of POST/PUT /api/sellers from the seller form's text fields: blanks
// are left out (the core's defaults apply; a blank key keeps the stored one).

import type { SellerBody } from "./types.js";

/** The body of POST/PUT /api/sellers, from the form's text fields (pure, for tests). */
export function sellerBody(f: Record<string, string>, protocols: string[], isNew: boolean): SellerBody {
  const num = (k: string): number | undefined => (f[k]?.trim() ? Number(f[k]) : undefined);
  const body: SellerBody = {
    id: f.id?.trim(), name: f.name?.trim() || undefined, baseUrl: f.baseUrl?.trim() ?? "", protocols,
    models: (f.models ?? "").split(",").map((m) => m.trim()).filter(Boolean),
    discountRatio: num("discountRatio"), serviceFeeRatio: num("serviceFeeRatio"), priority: num("priority"),
    maxConcurrency: num("maxConcurrency"), credits: num("credits"),
  };
  if (f.apiKey?.trim()) body.apiKey = f.apiKey.trim();
  else if (f.apiKeyEnv?.trim()) body.apiKeyEnv = f.apiKeyEnv.trim();
  return Object.fromEntries(Object.entries(body).filter(([, v]) => v !== undefined)) as SellerBody;
}
