import { describe, expect, it } from "vitest";
import { fmtCost, fmtCount, fmtLeft, fmtMs, fmtPct, fmtRelative, fmtTps } from "../src/format.js";

describe("format", () => {
  it("milliseconds by size", () => {
    expect(fmtMs(null)).toBe("—");
    expect(fmtMs(839.6)).toBe("840 ms");
    expect(fmtMs(1240)).toBe("1.24 s");
    expect(fmtMs(125_000)).toBe("2m 05s");
  });
  it("tokens per second and percentages", () => {
    expect(fmtTps(35.71)).toBe("35.7 tok/s");
    expect(fmtTps(undefined)).toBe("—");
    expect(fmtPct(0.034)).toBe("3.4 %");
    expect(fmtPct(0.5)).toBe("50 %");
    expect(fmtPct(0)).toBe("0 %");
  });
  it("cost: unknown is never zero", () => {
    expect(fmtCost(null)).toBe("unknown");
    expect(fmtCost(0)).toBe("0.00");
    expect(fmtCost(0.00123)).toBe("0.0012");
    expect(fmtCost(12.345)).toBe("12.35");
  });
  it("counts", () => {
    expect(fmtCount(1234)).toBe("1,234");
    expect(fmtCount(250_000)).toBe("250k");
    expect(fmtCount(3_400_000)).toBe("3.4M");
  });
  it("relative time and time left", () => {
    const now = 1_000_000_000;
    expect(fmtRelative(now - 2000, now)).toBe("now");
    expect(fmtRelative(now - 42_000, now)).toBe("42 s ago");
    expect(fmtRelative(now - 3 * 60_000, now)).toBe("3 min ago");
    expect(fmtRelative(now + 2 * 3600_000, now)).toBe("in 2 h");
    expect(fmtLeft(now + 80_500, now)).toBe("1m 21s");
    expect(fmtLeft(now - 5, now)).toBe("0s");
  });
});
